//! The `dlncheck` command line: thin layer over the library.

use clap::{Parser, Subcommand};
use dlncheck::error::Error;
use dlncheck::instance::Instance;
use dlncheck::spectrum::{Method, SpectrumOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// Executable, falsifiable checks of the theory of deep linear networks.
///
/// Exit codes: 0 success; 1 a check failed; 2 invalid input (instance file, property spec,
/// arguments); 3 numerical failure (e.g. Lanczos did not converge); 4 an output could not be
/// written.
#[derive(Parser, Debug)]
#[command(name = "dlncheck", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Audit one network on one dataset: risk, gradient, exact sharpness (largest Hessian
    /// eigenvalue), the smallest eigenvalue, and Marion & Chizat's bounds, as YAML.
    ///
    /// The instance file holds `architecture` (mlp | residual), `x` (n rows of d numbers),
    /// `y` (n numbers), `weights` (L matrices, W_1 first, each a list of rows; MLP: d×d except
    /// W_L 1×d; residual: all d×d) and, for residual networks, `projection` (p, d numbers).
    /// See examples/paper_mlp.yaml.
    Sharpness {
        /// Instance file (YAML).
        instance: PathBuf,
        /// Eigenvalue method: exact (dense Hessian), lanczos (Hessian-vector products), or
        /// auto (exact up to --exact-max-params parameters).
        #[arg(long, default_value = "auto", value_parser = ["auto", "exact", "lanczos"])]
        method: String,
        /// Largest parameter count for which `auto` uses the exact dense Hessian.
        #[arg(long, default_value_t = 4000)]
        exact_max_params: usize,
        /// Relative residual tolerance of Lanczos.
        #[arg(long, default_value_t = 1e-10)]
        tol: f64,
        /// Seed of the Lanczos and power-iteration start vectors.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Measure the engine's speed (GD step, gradient, HVP, exact and Lanczos sharpness) and
    /// compare with the project's goals.
    Bench {
        /// Short timing batches; skips the P ≈ 10⁶ Lanczos case.
        #[arg(long)]
        quick: bool,
    },
}

fn main() -> ExitCode {
    dlncheck::init_determinism();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Sharpness {
            instance,
            method,
            exact_max_params,
            tol,
            seed,
        } => {
            let inst = Instance::load(&instance)?;
            let problem = inst.problem()?;
            let method = match method.as_str() {
                "exact" => Some(Method::Exact),
                "lanczos" => Some(Method::Lanczos),
                _ => None,
            };
            let opts = SpectrumOptions {
                method,
                exact_max_params,
                tol,
                seed,
                ..SpectrumOptions::default()
            };
            let audit = dlncheck::audit::audit(&problem, &inst.theta, &opts)
                .map_err(|e| Error::Numerical(e.to_string()))?;
            print!("{}", dlncheck::yaml::to_string(&audit));
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { quick } => {
            let results = dlncheck::bench::run(quick, |what| eprintln!("bench: {what}"));
            print!("{}", dlncheck::yaml::to_string(&results));
            Ok(ExitCode::SUCCESS)
        }
    }
}
