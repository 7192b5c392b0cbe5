//! The authors' own datasets: the exact float32 arrays that Marion & Chizat's generator draws
//! with `PRNGKey(0)`, shipped in `data/authors-data.npz` and compiled into the binary.
//!
//! Provenance: repository PierreMarion23/implicit-reg-sharpness at commit
//! 5188f6a2630477b87b5a852b396a7eb529058252, function `utils.generate_data(n, d,
//! noise_variance, key)` with the subkeys of `run_experiment.py`'s key chain from
//! `random.PRNGKey(0)` (split 1 for n = 50, d = 5 and the noise-free n = 50, d = 5 data of the
//! paper's Figure 7; split 21 for n = 15, d = 20), under JAX's non-partitionable threefry (the
//! default of the authors' jax 0.4.27). `scripts/authors-data.py` regenerates the file from the
//! authors' code; it is not run in CI.
//!
//! The generator: X, X_test ~ N(0, 1)^{n×d}, w_true ~ N(0, I_d), y = X·w_true + σ·ε, then
//! w* = (XᵀX)⁺Xᵀy and y, y_test, w* divided by ‖w*‖ (float32 throughout). The arrays are
//! used as they are, widened exactly to f64: their ‖w*‖ recomputed in f64 is 1 to about 1e-7.
//! For n = 50, d = 5: a = w*ᵀΣw* = 0.9328053 and Λ = λ_max(Σ) = 1.5941827 (Σ = XᵀX/n), against
//! a = 0.892, Λ = 1.464 for our seed-0 data.

use crate::engine::data::{Dataset, PaperData};
use crate::io::error::Error;
use faer::Mat;

/// The archive, as shipped.
pub const FILE: &[u8] = include_bytes!("../../data/authors-data.npz");
/// Its name in errors.
pub const NAME: &str = "data/authors-data.npz";

/// The archive's prefix of the setting with `n` training samples in dimension `d` and label
/// noise (the noise-free n = 50, d = 5 data is `n50_d5_noise0`); `None` if not shipped.
pub fn setting(n: usize, d: usize) -> Option<&'static str> {
    match (n, d) {
        (50, 5) => Some("n50_d5"),
        (15, 20) => Some("n15_d20"),
        _ => None,
    }
}

/// The authors' training and test sets for (n, d) (`w_true` holds their normalised w*, the
/// generator's w_true is not kept).
pub fn load(n: usize, d: usize) -> Result<PaperData, Error> {
    let prefix = setting(n, d).ok_or_else(|| Error::Input {
        file: NAME.into(),
        field: "setting".into(),
        message: format!("no authors' dataset for n = {n}, d = {d} (shipped: n = 50, d = 5; n = 15, d = 20)"),
    })?;
    load_setting(prefix, n, d)
}

/// The arrays `<prefix>_train_x` … of the archive, checked against the shapes (n, d).
pub fn load_setting(prefix: &str, n: usize, d: usize) -> Result<PaperData, Error> {
    let get = |array: &str, shape: &[u64]| -> Result<Vec<f64>, Error> {
        let field = format!("{prefix}_{array}");
        let bad = |message: String| Error::Input { file: NAME.into(), field: field.clone(), message };
        let (s, v) =
            crate::io::npz::read_named(FILE, &field, NAME)?.ok_or_else(|| bad("missing array".into()))?;
        if s != shape {
            return Err(bad(format!("has shape {s:?}, expected {shape:?}")));
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(bad("holds a non-finite number".into()));
        }
        Ok(v)
    };
    let (nu, du) = (n as u64, d as u64);
    let matrix = |v: Vec<f64>| Mat::from_fn(n, d, |i, j| v[i * d + j]);
    let train = Dataset { x: matrix(get("train_x", &[nu, du])?), y: get("train_y", &[nu])? };
    let test = Dataset { x: matrix(get("test_x", &[nu, du])?), y: get("test_y", &[nu])? };
    Ok(PaperData { train, test, w_true: get("w_star", &[du])? })
}
