//! Loss plateaus along a flow and the saddle levels ½Σ_{i>k}σ_i².

/// band of its level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plateau {
    pub start: f64,
    pub end: f64,
    /// The geometric mean of the extreme losses on the stretch.
    pub level: f64,
}

/// Plateaus of a sampled loss curve: maximal runs of consecutive samples whose max/min loss ratio
/// is at most 1 + `rel_band`, lasting at least `min_duration` and with end ≥ `min_ratio`·start
/// (long in both linear and log time, so that the start of any smooth curve does not count),
/// scanned greedily from the left. Samples with loss ≤ `floor` are never part of a plateau (the
/// converged tail). Cost O(n) per plateau found.
pub fn detect_plateaus(
    times: &[f64],
    losses: &[f64],
    rel_band: f64,
    min_duration: f64,
    min_ratio: f64,
    floor: f64,
) -> Vec<Plateau> {
    let n = times.len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        if losses[i] <= floor {
            i += 1;
            continue;
        }
        let (mut lo, mut hi) = (losses[i], losses[i]);
        let mut j = i;
        while j + 1 < n {
            let v = losses[j + 1];
            let (nlo, nhi) = (lo.min(v), hi.max(v));
            if v <= floor || nhi > (1.0 + rel_band) * nlo {
                break;
            }
            lo = nlo;
            hi = nhi;
            j += 1;
        }
        let long = j > i && times[j] - times[i] >= min_duration && times[j] >= min_ratio * times[i];
        if long {
            out.push(Plateau { start: times[i], end: times[j], level: (lo * hi).sqrt() });
            i = j + 1;
        } else {
            i += 1;
        }
    }
    out
}

/// The plateau levels of noiseless denoising from small initialisation when the modes are
/// learned largest first: ½Σ_{i>k}σ_i², k = 0..r (σ descending).
pub fn plateau_levels(sigma: &[f64]) -> Vec<f64> {
    (0..=sigma.len()).map(|k| 0.5 * sigma[k..].iter().map(|s| s * s).sum::<f64>()).collect()
}
