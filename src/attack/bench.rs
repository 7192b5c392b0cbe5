//! The attack's speed, for `dlncheck bench`: a fixed attack on one property run in a local
//! rayon pool of 1 and of 2 threads, its evaluations per second at each (evaluations as the
//! attack's own report counts them: the claim's and every control's evaluated points, rejected
//! proposals excluded), the speed-up, and whether the two results are the same bytes (they
//! must be: restarts are collected in index order, see [`super::search`]). Measured, never
//! asserted against a goal.

use super::Space;
use super::report::{self, PropertyAttack};
use super::search::Options;
use crate::framework::spec::{Mode, Spec};
use crate::io::error::Error;
use serde::Serialize;
use std::time::Instant;

/// (claim budget, restarts, control budget) of `bench --quick`'s attack per property (the full
/// bench uses the size of `check --quick`'s bounded attack).
pub const QUICK: (usize, usize, usize) = (1_000, 4, 250);

/// The attack's seed in the bench (fixed: the same work at every run).
pub const SEED: u64 = 0;

/// The thread counts compared.
pub const THREADS: [usize; 2] = [1, 2];

/// The attack bench of one property.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttackBench {
    pub id: String,
    pub budget: usize,
    pub restarts: usize,
    pub control_budget: usize,
    /// Timed runs at each thread count (the median is reported).
    pub repeats: usize,
    /// Evaluations of the attack (claim and controls) at 1 and at 2 threads.
    pub evaluations_1_thread: usize,
    pub evaluations_2_threads: usize,
    /// Median wall-clock seconds of the whole attack.
    pub seconds_1_thread: f64,
    pub seconds_2_threads: f64,
    pub evaluations_per_second_1_thread: f64,
    pub evaluations_per_second_2_threads: f64,
    /// Evaluations per second at 2 threads ÷ at 1 thread.
    pub speedup: f64,
    /// The attack's YAML is byte-identical at 1 and 2 threads (and over the repeats).
    pub identical: bool,
}

/// Options of the bench's attack: `(budget, restarts, control_budget)` on the spec's quick grid,
/// seeded with [`SEED`].
pub fn options(size: (usize, usize, usize)) -> (Options, usize) {
    let (budget, restarts, control_budget) = size;
    (Options { budget, restarts, seed: SEED, mode: Mode::Quick }, control_budget)
}

/// Evaluations the attack's report counts: the claim's and every control's.
pub fn evaluations(a: &PropertyAttack) -> usize {
    a.claim.evaluations + a.controls.iter().map(|c| c.attack.evaluations).sum::<usize>()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Times the attack of `space` on `spec` (`repeats` ≥ 1 runs at each thread count, interleaved
/// 1, 2, 1, 2, … so that a change in the machine's load hits both alike).
pub fn measure(
    space: &dyn Space,
    spec: &Spec,
    opts: &Options,
    control_budget: usize,
    repeats: usize,
) -> Result<AttackBench, Error> {
    let repeats = repeats.max(1);
    let pools = THREADS
        .iter()
        .map(|&n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| Error::Numerical(format!("cannot start a pool of {n} threads: {e}")))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let mut seconds = vec![Vec::new(); THREADS.len()];
    let mut evals = vec![0; THREADS.len()];
    let mut first_yaml: Option<String> = None;
    let mut identical = true;
    for _ in 0..repeats {
        for (k, pool) in pools.iter().enumerate() {
            let t = Instant::now();
            let a = pool.install(|| report::attack_property(space, spec, opts, control_budget, &|| {}));
            seconds[k].push(t.elapsed().as_secs_f64().max(1e-9));
            evals[k] = evaluations(&a);
            let yaml = crate::io::yaml::to_string(&a);
            match &first_yaml {
                None => first_yaml = Some(yaml),
                Some(y) => identical &= *y == yaml,
            }
        }
    }
    if evals.contains(&0) {
        return Err(Error::Numerical(format!("the attack on {} evaluated no point", space.id())));
    }
    let secs: Vec<f64> = seconds.into_iter().map(median).collect();
    let rate = |k: usize| evals[k] as f64 / secs[k];
    Ok(AttackBench {
        id: space.id().to_string(),
        budget: opts.budget,
        restarts: opts.restarts,
        control_budget,
        repeats,
        evaluations_1_thread: evals[0],
        evaluations_2_threads: evals[1],
        seconds_1_thread: secs[0],
        seconds_2_threads: secs[1],
        evaluations_per_second_1_thread: rate(0),
        evaluations_per_second_2_threads: rate(1),
        speedup: rate(1) / rate(0),
        identical: identical && evals[0] == evals[1],
    })
}
