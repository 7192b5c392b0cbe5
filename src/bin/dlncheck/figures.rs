//! `dlncheck figures`: runs each experiment the chosen figures need
//! ([`dlncheck::experiments::run`], with a progress bar on standard error when it is a
//! terminal), draws and writes its figures ([`dlncheck::figures`]), and reports.

use dlncheck::experiments::{self, Experiment, Figure};
use dlncheck::figures::{self, Options};
use dlncheck::io::error::Error;
use serde::Serialize;

/// Per-experiment report line of `dlncheck figures` (printed as YAML on standard output).
#[derive(Clone, Debug, Serialize)]
pub struct ExperimentReport {
    pub experiment: Experiment,
    pub figures: Vec<Figure>,
    /// Runs (gradient-descent runs, or gradient flows for figures 7 and 8).
    pub runs: usize,
    /// Gradient-descent steps (0 for the gradient flows).
    pub gd_steps: u64,
    /// Wall-clock seconds, and CPU seconds summed over threads split into gradient-descent
    /// steps (the whole flows for figures 7 and 8) and spectral work (exact eigenvalues, the
    /// authors' estimator, certificates).
    pub wall_seconds: f64,
    pub gd_cpu_seconds: f64,
    pub spectra_cpu_seconds: f64,
    pub checks_hold: bool,
    pub failed_checks: Vec<String>,
    pub files: Vec<String>,
}

/// Runs the experiments for `opts` one after the other, writes their figures, and reports.
pub fn run(opts: &Options) -> Result<Vec<ExperimentReport>, Error> {
    use indicatif::{ProgressBar, ProgressStyle};
    let style = ProgressStyle::with_template(
        "{prefix:>16} [{bar:40}] {pos}/{len} runs, {elapsed_precise} (eta {eta})",
    )
    .expect("valid template")
    .progress_chars("=> ");
    let wanted = opts.figures();
    let mut reports = Vec::new();
    for e in opts.experiments() {
        let settings = opts.settings(e);
        let bar = ProgressBar::new(settings.num_runs() as u64).with_style(style.clone()).with_prefix(e.tag());
        let results = experiments::run(&settings, &|n| bar.inc(n))?;
        bar.finish_and_clear();
        eprintln!("figures: {} done", e.tag());
        let mut files = Vec::new();
        let mut failed = Vec::new();
        let mut shown = Vec::new();
        for out in figures::build(&results, &wanted, opts.quick)? {
            if failed.is_empty() {
                failed = out.failed_checks();
            }
            files.extend(out.write(&opts.out)?.into_iter().map(|p| p.display().to_string()));
            shown.push(out.figure());
        }
        let timing = results.timing();
        reports.push(ExperimentReport {
            experiment: e,
            figures: shown,
            runs: results.num_runs(),
            gd_steps: results.gd_steps(),
            wall_seconds: timing.wall,
            gd_cpu_seconds: timing.gd,
            spectra_cpu_seconds: timing.spectra,
            checks_hold: failed.is_empty(),
            failed_checks: failed,
            files,
        });
    }
    Ok(reports)
}
