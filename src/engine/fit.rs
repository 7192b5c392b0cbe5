//! Least-squares lines fitted to measurements: one line with its t-test and confidence band
//! (as scipy's `linregress`), or a common slope with one intercept per group. Cost O(n).
//! Used by the escape-time fits of Jacot et al.'s saddle-to-saddle claim and by the figures'
//! sharpness-against-scale fit (Marion & Chizat's Figure 6).

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Ordinary least squares y = intercept + slope·x with the t-test of slope = 0.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LinearFit {
    pub n: usize,
    pub slope: f64,
    pub intercept: f64,
    pub r_squared: f64,
    /// Standard error of the slope.
    pub slope_stderr: f64,
    pub intercept_stderr: f64,
    /// Two-sided p-value of H0: slope = 0 (t with n − 2 degrees of freedom).
    pub p_value: f64,
    /// One-sided p-value against H1: slope > 0.
    pub p_value_greater: f64,
    /// One-sided p-value against H1: slope < 0 (scipy's `alternative="less"`, which the
    /// authors' script prints).
    pub p_value_less: f64,
    /// Residual standard deviation and the x statistics (for the band of the fitted line).
    pub residual_std: f64,
    pub x_mean: f64,
    pub x_sxx: f64,
}

impl LinearFit {
    /// The least-squares fit of the finite pairs; `None` with fewer than 3 pairs or constant x.
    pub fn fit(points: &[(f64, f64)]) -> Option<LinearFit> {
        let p: Vec<(f64, f64)> =
            points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
        let n = p.len();
        if n < 3 {
            return None;
        }
        let nf = n as f64;
        let xm = p.iter().map(|q| q.0).sum::<f64>() / nf;
        let ym = p.iter().map(|q| q.1).sum::<f64>() / nf;
        let sxx: f64 = p.iter().map(|q| (q.0 - xm).powi(2)).sum();
        let syy: f64 = p.iter().map(|q| (q.1 - ym).powi(2)).sum();
        let sxy: f64 = p.iter().map(|q| (q.0 - xm) * (q.1 - ym)).sum();
        if sxx == 0.0 {
            return None;
        }
        let slope = sxy / sxx;
        let intercept = ym - slope * xm;
        // SSE from the residuals themselves (not Syy − slope·Sxy, which cancels when the line
        // is nearly exact), and R² = 1 − SSE/Syy.
        let sse: f64 = p.iter().map(|&(x, y)| (y - intercept - slope * x).powi(2)).sum();
        let r_squared = if syy > 0.0 { 1.0 - sse / syy } else { 1.0 };
        let df = nf - 2.0;
        let residual_std = (sse / df).sqrt();
        let slope_stderr = residual_std / sxx.sqrt();
        let intercept_stderr = residual_std * (1.0 / nf + xm * xm / sxx).sqrt();
        let t_dist = StudentsT::new(0.0, 1.0, df).expect("df ≥ 1");
        let (p_value, p_greater, p_less) = if slope_stderr > 0.0 {
            let t = slope / slope_stderr;
            (2.0 * t_dist.cdf(-t.abs()), 1.0 - t_dist.cdf(t), t_dist.cdf(t))
        } else {
            let p = if slope == 0.0 { 1.0 } else { 0.0 };
            (p, if slope > 0.0 { 0.0 } else { 1.0 }, if slope < 0.0 { 0.0 } else { 1.0 })
        };
        Some(LinearFit {
            n,
            slope,
            intercept,
            r_squared,
            slope_stderr,
            intercept_stderr,
            p_value,
            p_value_greater: p_greater,
            p_value_less: p_less,
            residual_std,
            x_mean: xm,
            x_sxx: sxx,
        })
    }

    /// The two-sided `confidence` (e.g. 0.95) interval of the slope:
    /// slope ± t_{(1+c)/2, n−2}·√(SSE/(n−2)/Sxx).
    pub fn slope_interval(&self, confidence: f64) -> (f64, f64) {
        let t = StudentsT::new(0.0, 1.0, self.n as f64 - 2.0)
            .expect("df ≥ 1")
            .inverse_cdf(0.5 + 0.5 * confidence);
        (self.slope - t * self.slope_stderr, self.slope + t * self.slope_stderr)
    }

    /// The fitted line at x: intercept + slope·x.
    pub fn predict(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }

    /// The 95 % confidence interval of the fitted mean at x (t quantile with n − 2 df).
    pub fn band(&self, x: f64) -> (f64, f64) {
        let t = StudentsT::new(0.0, 1.0, self.n as f64 - 2.0).expect("df ≥ 1").inverse_cdf(0.975);
        let se = self.residual_std * (1.0 / self.n as f64 + (x - self.x_mean).powi(2) / self.x_sxx).sqrt();
        let y = self.predict(x);
        (y - t * se, y + t * se)
    }
}

/// Least squares with a common slope and one intercept per group (the within-group, or
/// fixed-effects, fit): y = a_g + b·x. Used where the slope is the quantity of interest and each
/// group (an instance) has its own offset.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CommonSlopeFit {
    pub n: usize,
    pub groups: usize,
    pub slope: f64,
    /// The slope's confidence interval: slope ± t_{n−g−1}·√(SSE/(n−g−1)/Sxx_within).
    pub slope_lo: f64,
    pub slope_hi: f64,
    /// a_g = ȳ_g − b·x̄_g per group.
    pub intercepts: Vec<f64>,
    /// 1 − SSE/Syy_within.
    pub r_squared: f64,
}

impl CommonSlopeFit {
    /// The fit of the finite pairs of each group at `confidence` (e.g. 0.95); `None` without
    /// a residual degree of freedom (n ≤ g + 1) or with x constant within every group.
    pub fn fit(groups: &[Vec<(f64, f64)>], confidence: f64) -> Option<CommonSlopeFit> {
        let groups: Vec<Vec<(f64, f64)>> = groups
            .iter()
            .map(|g| g.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect::<Vec<_>>())
            .filter(|g| !g.is_empty())
            .collect();
        let n: usize = groups.iter().map(|g| g.len()).sum();
        let k = groups.len();
        if n < k + 2 {
            return None;
        }
        let means: Vec<(f64, f64)> = groups
            .iter()
            .map(|g| {
                let m = g.len() as f64;
                (g.iter().map(|p| p.0).sum::<f64>() / m, g.iter().map(|p| p.1).sum::<f64>() / m)
            })
            .collect();
        let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
        for (g, &(xm, ym)) in groups.iter().zip(&means) {
            for &(x, y) in g {
                sxx += (x - xm).powi(2);
                sxy += (x - xm) * (y - ym);
                syy += (y - ym).powi(2);
            }
        }
        if sxx == 0.0 {
            return None;
        }
        let slope = sxy / sxx;
        let intercepts: Vec<f64> = means.iter().map(|&(xm, ym)| ym - slope * xm).collect();
        let sse: f64 = groups
            .iter()
            .zip(&intercepts)
            .map(|(g, a)| g.iter().map(|&(x, y)| (y - a - slope * x).powi(2)).sum::<f64>())
            .sum();
        let df = (n - k - 1) as f64;
        let t = StudentsT::new(0.0, 1.0, df).expect("df ≥ 1").inverse_cdf(0.5 + 0.5 * confidence);
        let se = (sse / df / sxx).sqrt();
        Some(CommonSlopeFit {
            n,
            groups: k,
            slope,
            slope_lo: slope - t * se,
            slope_hi: slope + t * se,
            intercepts,
            r_squared: if syy > 0.0 { 1.0 - sse / syy } else { 1.0 },
        })
    }
}
