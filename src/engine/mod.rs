//! The numerical engine: deep linear networks, their objectives, exact derivatives and spectra,
//! the closed-form bounds, seeded data and initialisations, and training. No I/O, and no
//! knowledge of properties, specs or reports: everything above imports this, never the reverse.

pub mod activated;
pub mod activated_audit;
pub mod activated_lanes;
pub mod activation;
pub mod audit;
pub mod bounds;
pub mod data;
pub mod fit;
pub mod hessian;
pub mod init;
pub mod instance;
pub mod krylov;
pub mod lane;
pub mod linalg;
pub mod model;
pub mod objective;
pub mod problem;
pub mod rng;
pub mod spectrum;
pub mod train;
