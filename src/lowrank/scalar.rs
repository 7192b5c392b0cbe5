//! The per-mode scalar problem g(s) = ½(s − σ)² + (λL/2)s^{2/L} of a balanced network and its
//! thresholds on σ (closed form and an independent numerical search).

/// The per-mode scalar problem g(s) = ½(s − σ)² + (λL/2)s^{2/L}, s ≥ 0: the loss of one singular
/// mode of a balanced network (W_ℓ restricted to the mode = s^{1/L}) on ½‖A − Y‖² + (λ/2)‖θ‖²,
/// σ the target's singular value. g′(s) = s − σ + λs^{2/L−1} = h(s) − σ with h(s) = s + λs^{2/L−1};
/// for L ≥ 3, h is minimal at s* = (λ(L−2)/L)^{L/(2L−2)}, so g has two positive critical points
/// s₋ < s* < s₊ (a local maximum and a local minimum) iff σ > h(s*). Cost O(1) per evaluation,
/// ~200 bisection steps per critical point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalarProblem {
    pub sigma: f64,
    pub l2: f64,
    pub depth: usize,
}

/// The positive critical points of g (s₋ a local maximum, s₊ a local minimum).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalarCritical {
    /// The smaller root of g′ (L ≥ 3 only; g″(s₋) < 0).
    pub minus: Option<f64>,
    /// The positive local minimiser.
    pub plus: Option<f64>,
}

impl ScalarProblem {
    pub fn new(sigma: f64, l2: f64, depth: usize) -> Self {
        assert!(depth >= 2, "the scalar problem needs L ≥ 2");
        ScalarProblem { sigma, l2, depth }
    }
    fn exponent(&self) -> f64 {
        2.0 / self.depth as f64
    }
    /// g(s).
    pub fn value(&self, s: f64) -> f64 {
        let l = self.depth as f64;
        0.5 * (s - self.sigma).powi(2) + 0.5 * self.l2 * l * s.max(0.0).powf(self.exponent())
    }
    /// g′(s) for s > 0.
    pub fn derivative(&self, s: f64) -> f64 {
        s - self.sigma + self.l2 * s.powf(self.exponent() - 1.0)
    }
    /// g″(s) for s > 0.
    pub fn second_derivative(&self, s: f64) -> f64 {
        let e = self.exponent();
        1.0 + self.l2 * (e - 1.0) * s.powf(e - 2.0)
    }
    /// The positive critical points, by bisection on g′ to full precision.
    pub fn critical_points(&self) -> ScalarCritical {
        let (l, lam, sigma) = (self.depth as f64, self.l2, self.sigma);
        if self.depth == 2 {
            // g′(s) = s − σ + λ.
            let s = sigma - lam;
            return ScalarCritical { minus: None, plus: (s > 0.0).then_some(s) };
        }
        if lam == 0.0 {
            return ScalarCritical { minus: None, plus: (sigma > 0.0).then_some(sigma) };
        }
        let s_star = (lam * (l - 2.0) / l).powf(l / (2.0 * l - 2.0));
        if self.derivative(s_star) >= 0.0 {
            return ScalarCritical { minus: None, plus: None };
        }
        // g′ < 0 at s*, g′(σ) = λσ^{2/L−1} > 0, and g′(s) ≥ λs^{2/L−1} − σ > 0 below
        // s_lo = (λ/σ)^{L/(L−2)}/2.
        let plus = bisect(|s| self.derivative(s), s_star, sigma);
        let lo = 0.5 * (lam / sigma).powf(l / (l - 2.0));
        let minus = bisect(|s| self.derivative(s), lo, s_star);
        ScalarCritical { minus: Some(minus), plus: Some(plus) }
    }
    /// The global minimiser over s ≥ 0 (0 or s₊; 0 on ties).
    pub fn global_minimizer(&self) -> f64 {
        match self.critical_points().plus {
            Some(s) if self.value(s) < self.value(0.0) => s,
            _ => 0.0,
        }
    }
}

/// A root of f in [lo, hi] where f changes sign, by bisection until the bracket stops shrinking.
fn bisect(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
    let f_lo = f(lo);
    for _ in 0..400 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        let fm = f(mid);
        if fm == 0.0 {
            return mid;
        }
        if (fm > 0.0) == (f_lo > 0.0) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The two thresholds on σ of the scalar problem (docs/notation.md), for L ≥ 3:
/// a positive local minimum exists iff σ > `exists` = ((2L−2)/(L−2))(λ(L−2)/L)^{L/(2L−2)}
/// (= h(s*)), and it beats s = 0 iff σ > `beats_zero` = ((L−1)/(L−2))(λ(L−2))^{L/(2L−2)}
/// (where g(s₊) = g(0), solved jointly with g′(s₊) = 0). For L = 2 both equal λ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    pub exists: f64,
    pub beats_zero: f64,
}

pub fn thresholds(depth: usize, l2: f64) -> Thresholds {
    assert!(depth >= 2);
    if depth == 2 {
        return Thresholds { exists: l2, beats_zero: l2 };
    }
    let l = depth as f64;
    let p = l / (2.0 * l - 2.0);
    Thresholds {
        exists: (2.0 * l - 2.0) / (l - 2.0) * (l2 * (l - 2.0) / l).powf(p),
        beats_zero: (l - 1.0) / (l - 2.0) * (l2 * (l - 2.0)).powf(p),
    }
}

/// The same thresholds found numerically from g alone (no closed form): `exists` = min_{s>0} h(s)
/// by golden section on log s, and `beats_zero` = the σ at which min_{s>0} g(s) − g(0) changes
/// sign (bisection on σ; the inner minimum by a log-grid scan whose local minima are refined by
/// golden section).
/// An independent check of [`thresholds`]; cost ~10⁵ evaluations of g.
pub fn thresholds_numerical(depth: usize, l2: f64) -> Thresholds {
    let h = |s: f64| ScalarProblem::new(0.0, l2, depth).derivative(s);
    let scale = l2.max(1e-300);
    let (_, exists) = crate::engine::bounds::golden_section(
        |u| h(u.exp()),
        (1e-6 * scale).ln() - 20.0,
        (1e3 * scale).ln() + 20.0,
    );
    let gap = |sigma: f64| {
        let g = ScalarProblem::new(sigma, l2, depth);
        let g0 = g.value(0.0);
        let n = 2000;
        let (lo, hi) = ((1e-12 * sigma).ln(), (2.0 * sigma).ln());
        let step = (hi - lo) / n as f64;
        let vals: Vec<f64> = (0..=n).map(|i| g.value((lo + step * i as f64).exp())).collect();
        // Refine every local minimum of the grid (near the threshold the two candidates, s → 0
        // and s₊, have nearly equal values), keep the smallest.
        let mut v = vals[0];
        for i in 1..n {
            if vals[i] <= vals[i - 1] && vals[i] <= vals[i + 1] {
                let u = lo + step * i as f64;
                let (_, m) = crate::engine::bounds::golden_section(|x| g.value(x.exp()), u - step, u + step);
                v = v.min(m);
            }
        }
        v - g0
    };
    // gap > 0 for σ slightly above `exists`... and < 0 for large σ.
    let mut lo = exists;
    let mut hi = 2.0 * exists + 1.0;
    while gap(hi) >= 0.0 {
        hi *= 2.0;
    }
    if gap(lo) < 0.0 {
        lo = 0.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if gap(mid) >= 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Thresholds { exists, beats_zero: 0.5 * (lo + hi) }
}
