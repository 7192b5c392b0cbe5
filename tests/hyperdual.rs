//! An independent exact reference for the Hessian: hyper-dual numbers (x + a·ε₁ + b·ε₂ + c·ε₁ε₂,
//! ε₁² = ε₂² = 0) carry exact second derivatives through any arithmetic, so
//! ∂²R/∂θ_i∂θ_j = the ε₁ε₂ part of R(θ + ε₁e_i + ε₂e_j), with no truncation error.
//! Here R = (1/n)‖y − X·w_prod‖² is evaluated from the raw data (X, y) with naive loops: no
//! moments, no passes, no reduction — nothing shared with the engine except the instance.
//! The audited sharpness must agree with it to 1e-8 relative (the tolerance an external autodiff
//! check would apply); in practice it agrees to ~1e-13.

use dlncheck::engine::instance::Instance;
use dlncheck::io::recipe::{Arch, DataRecipe, Recipe, TrainRecipe, WDirection, WeightsRecipe};
use std::ops::{Add, Mul, Sub};

#[derive(Clone, Copy, Debug, PartialEq)]
struct Hd {
    r: f64,
    a: f64,
    b: f64,
    ab: f64,
}

impl Hd {
    fn c(r: f64) -> Self {
        Hd { r, a: 0.0, b: 0.0, ab: 0.0 }
    }
}
impl Add for Hd {
    type Output = Hd;
    fn add(self, o: Hd) -> Hd {
        Hd { r: self.r + o.r, a: self.a + o.a, b: self.b + o.b, ab: self.ab + o.ab }
    }
}
impl Sub for Hd {
    type Output = Hd;
    fn sub(self, o: Hd) -> Hd {
        Hd { r: self.r - o.r, a: self.a - o.a, b: self.b - o.b, ab: self.ab - o.ab }
    }
}
impl Mul for Hd {
    type Output = Hd;
    fn mul(self, o: Hd) -> Hd {
        Hd {
            r: self.r * o.r,
            a: self.r * o.a + self.a * o.r,
            b: self.r * o.b + self.b * o.r,
            ab: self.r * o.ab + self.a * o.b + self.b * o.a + self.ab * o.r,
        }
    }
}

/// R(θ) from raw data with hyper-dual parameters. Layers: W_1 first, each row-major; the MLP's
/// last layer is 1×d; the residual network multiplies by the fixed pᵀ at the end.
fn risk(inst: &Instance, theta: &[Hd]) -> Hd {
    let x = &inst.data.x;
    let (n, d) = (x.nrows(), x.ncols());
    let layers: Vec<(usize, usize)> =
        inst.model.layers().iter().filter(|l| l.is_trained()).map(|l| (l.rows, l.cols)).collect();
    // Row vector v = (pᵀ)W_L⋯W_1, built from the top.
    let mut offsets = vec![0];
    for (r, c) in &layers {
        offsets.push(offsets.last().unwrap() + r * c);
    }
    let top = layers.len() - 1;
    let mut v: Vec<Hd> = match inst.model.layers().last().unwrap().kind {
        dlncheck::engine::model::LayerKind::Fixed(ref p) => p.iter().map(|&x| Hd::c(x)).collect(),
        _ => vec![Hd::c(1.0)],
    };
    for k in (0..=top).rev() {
        let (r, c) = layers[k];
        let w = &theta[offsets[k]..offsets[k + 1]];
        let mut next = vec![Hd::c(0.0); c];
        for j in 0..c {
            for i in 0..r {
                next[j] = next[j] + v[i] * w[i * c + j];
            }
        }
        v = next;
    }
    let mut total = Hd::c(0.0);
    for i in 0..n {
        let mut pred = Hd::c(0.0);
        for j in 0..d {
            pred = pred + Hd::c(x[(i, j)]) * v[j];
        }
        let res = Hd::c(inst.data.y[i]) - pred;
        total = total + res * res;
    }
    Hd { r: total.r / n as f64, a: total.a / n as f64, b: total.b / n as f64, ab: total.ab / n as f64 }
}

fn hyperdual_hessian(inst: &Instance) -> faer::Mat<f64> {
    let p = inst.theta.len();
    let mut h = faer::Mat::<f64>::zeros(p, p);
    let mut t: Vec<Hd> = inst.theta.iter().map(|&x| Hd::c(x)).collect();
    for i in 0..p {
        t[i].a = 1.0;
        for j in 0..=i {
            t[j].b = 1.0;
            let v = risk(inst, &t).ab;
            t[j].b = 0.0;
            h[(i, j)] = v;
            h[(j, i)] = v;
        }
        t[i].a = 0.0;
    }
    h
}

fn recipes() -> Vec<(&'static str, Recipe, u64)> {
    let paper = DataRecipe::Paper { n: 50, noise: 1.0, normalize: true };
    let ill =
        |dir| DataRecipe::Spectrum { n: 9, kappa: 1e4, direction: dir, w_star_norm: 2.5, risk_min: 0.2 };
    vec![
        (
            "paper MLP d=5 L=10, trained",
            Recipe {
                architecture: Arch::Mlp,
                d: 5,
                depth: 10,
                data: paper.clone(),
                weights: WeightsRecipe::Gaussian { std: 0.35 },
                train: Some(TrainRecipe { eta: 0.02, steps: 3000 }),
            },
            1,
        ),
        (
            "paper MLP d=5 L=10 at init (saddle region)",
            Recipe {
                architecture: Arch::Mlp,
                d: 5,
                depth: 10,
                data: paper.clone(),
                weights: WeightsRecipe::Gaussian { std: 0.3 },
                train: None,
            },
            2,
        ),
        (
            "residual d=4 L=6, κ=1e4",
            Recipe {
                architecture: Arch::Residual,
                d: 4,
                depth: 6,
                data: ill(WDirection::Bottom),
                weights: WeightsRecipe::Residual { s: 0.7 },
                train: None,
            },
            3,
        ),
        (
            "MLP d=3 L=4, S_min minimiser, κ=1e4",
            Recipe {
                architecture: Arch::Mlp,
                d: 3,
                depth: 4,
                data: ill(WDirection::Random),
                weights: WeightsRecipe::MinSharpness,
                train: None,
            },
            4,
        ),
        (
            "MLP d=6 L=3, n=4 < d",
            Recipe {
                architecture: Arch::Mlp,
                d: 6,
                depth: 3,
                data: DataRecipe::Paper { n: 4, noise: 0.5, normalize: false },
                weights: WeightsRecipe::Gaussian { std: 0.6 },
                train: None,
            },
            5,
        ),
        (
            "MLP d=1 L=1",
            Recipe {
                architecture: Arch::Mlp,
                d: 1,
                depth: 1,
                data: paper.clone(),
                weights: WeightsRecipe::Gaussian { std: 1.0 },
                train: None,
            },
            6,
        ),
        (
            "residual d=2 L=1",
            Recipe {
                architecture: Arch::Residual,
                d: 2,
                depth: 1,
                data: paper,
                weights: WeightsRecipe::Residual { s: 0.4 },
                train: None,
            },
            7,
        ),
    ]
}

#[test]
fn audited_sharpness_matches_a_hyperdual_hessian_of_the_raw_risk() {
    dlncheck::init_determinism();
    for (name, recipe, seed) in recipes() {
        // Through the file format, as an external checker would see it.
        let text = dlncheck::io::instance::to_yaml(&recipe.instance(seed).unwrap());
        let inst = dlncheck::io::instance::parse(&text, name).unwrap();
        let problem = inst.problem().unwrap();
        let href = hyperdual_hessian(&inst);
        let vals = dlncheck::engine::linalg::sym_eigenvalues(href.as_ref());
        let (ref_max, ref_min) = (vals[vals.len() - 1], vals[0]);
        // Entrywise against the engine's dense Hessian.
        let dense = dlncheck::engine::hessian::dense_hessian(&problem, &inst.theta);
        let p = inst.theta.len();
        let scale = ref_max.abs().max(ref_min.abs());
        let mut worst = 0.0f64;
        for i in 0..p {
            for j in 0..p {
                worst = worst.max((dense[(i, j)] - href[(i, j)]).abs());
            }
        }
        assert!(
            worst <= 1e-10 * scale.max(1.0),
            "{name}: dense Hessian differs by {worst:e} (scale {scale:e})"
        );
        for method in [None, Some(dlncheck::engine::spectrum::Method::Lanczos)] {
            let opts = dlncheck::engine::spectrum::SpectrumOptions { method, ..Default::default() };
            let audit = dlncheck::engine::audit::audit(&problem, &inst.theta, &opts).unwrap();
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-8 * a.abs().max(b.abs()).max(1e-2);
            assert!(
                close(audit.sharpness.unwrap(), ref_max),
                "{name} {method:?}: sharpness {} vs {ref_max}",
                audit.sharpness.unwrap()
            );
            assert!(
                close(audit.hessian_min_eig.unwrap(), ref_min),
                "{name} {method:?}: min {} vs {ref_min}",
                audit.hessian_min_eig.unwrap()
            );
        }
    }
}

/// GELU on a hyper-dual number, from the tanh form ½x(1 + tanh(√(2/π)(x + 0.044715x³))) with
/// std's tanh (the engine evaluates the logistic form with its own exponential).
fn gelu(x: Hd) -> Hd {
    let c = (2.0 / std::f64::consts::PI).sqrt();
    let u = Hd::c(c) * (x + Hd::c(0.044715) * x * x * x);
    Hd::c(0.5) * x * (Hd::c(1.0) + tanh(u))
}

/// tanh(u) for hyper-duals: f(r) + f'(r)(a ε₁ + b ε₂) + (f'(r)·ab + f''(r)·a·b) ε₁ε₂.
fn tanh(u: Hd) -> Hd {
    let t = u.r.tanh();
    let d1 = 1.0 - t * t;
    let d2 = -2.0 * t * d1;
    Hd { r: t, a: d1 * u.a, b: d1 * u.b, ab: d1 * u.ab + d2 * u.a * u.b }
}

/// R(θ) = (1/n)Σ_i (f(x_i) − y_i)² of the GELU network (GELU after every layer but the last,
/// the residual network's fixed pᵀ being the last), one sample at a time with naive loops.
fn risk_gelu(inst: &Instance, theta: &[Hd]) -> Hd {
    let x = &inst.data.x;
    let (n, d) = (x.nrows(), x.ncols());
    let layers = inst.model.layers();
    let mut total = Hd::c(0.0);
    for i in 0..n {
        let mut h: Vec<Hd> = (0..d).map(|j| Hd::c(x[(i, j)])).collect();
        let mut offset = 0;
        for (k, layer) in layers.iter().enumerate() {
            let w: Vec<Hd> = match &layer.kind {
                dlncheck::engine::model::LayerKind::Fixed(m) => m.iter().map(|&v| Hd::c(v)).collect(),
                dlncheck::engine::model::LayerKind::Trained { .. } => {
                    offset += layer.rows * layer.cols;
                    theta[offset - layer.rows * layer.cols..offset].to_vec()
                }
            };
            let mut z = vec![Hd::c(0.0); layer.rows];
            for a in 0..layer.rows {
                for b in 0..layer.cols {
                    z[a] = z[a] + w[a * layer.cols + b] * h[b];
                }
            }
            h = if k + 1 < layers.len() { z.into_iter().map(gelu).collect() } else { z };
        }
        let res = h[0] - Hd::c(inst.data.y[i]);
        total = total + res * res;
    }
    Hd { r: total.r / n as f64, a: total.a / n as f64, b: total.b / n as f64, ab: total.ab / n as f64 }
}

#[test]
fn gelu_networks_match_a_hyperdual_hessian_of_the_raw_risk() {
    dlncheck::init_determinism();
    let data = DataRecipe::Paper { n: 12, noise: 0.3, normalize: true };
    let cases = [
        ("GELU MLP d=5 L=10, scale 0.6", Arch::Mlp, 5, 10, WeightsRecipe::Gaussian { std: 0.6 }, 1),
        ("GELU MLP d=3 L=4, scale 1.3", Arch::Mlp, 3, 4, WeightsRecipe::Gaussian { std: 1.3 }, 2),
        ("GELU residual d=3 L=3, s=0.9", Arch::Residual, 3, 3, WeightsRecipe::Residual { s: 0.9 }, 3),
        ("GELU MLP d=2 L=1", Arch::Mlp, 2, 1, WeightsRecipe::Gaussian { std: 1.0 }, 4),
    ];
    for (name, arch, d, depth, weights, seed) in cases {
        let recipe = Recipe { architecture: arch, d, depth, data: data.clone(), weights, train: None };
        let mut inst = recipe.instance(seed).unwrap();
        inst.activation = dlncheck::engine::activation::Activation::Gelu;
        // Through the file format, as an external checker would see it.
        let text = dlncheck::io::instance::to_yaml(&inst);
        assert!(text.contains("activation: gelu"), "{text}");
        let inst = dlncheck::io::instance::parse(&text, name).unwrap();
        let p = inst.theta.len();
        let mut href = faer::Mat::<f64>::zeros(p, p);
        let mut t: Vec<Hd> = inst.theta.iter().map(|&x| Hd::c(x)).collect();
        for i in 0..p {
            t[i].a = 1.0;
            for j in 0..=i {
                t[j].b = 1.0;
                let v = risk_gelu(&inst, &t).ab;
                t[j].b = 0.0;
                href[(i, j)] = v;
                href[(j, i)] = v;
            }
            t[i].a = 0.0;
        }
        let vals = dlncheck::engine::linalg::sym_eigenvalues(href.as_ref());
        let (ref_max, ref_min) = (vals[p - 1], vals[0]);
        let problem = inst.activated_problem().unwrap();
        assert!((problem.loss(&inst.theta) - risk_gelu(&inst, &t).r).abs() <= 1e-13 * risk_gelu(&inst, &t).r);
        let dense = problem.dense_hessian(&inst.theta);
        let scale = ref_max.abs().max(ref_min.abs());
        let mut worst = 0.0f64;
        for i in 0..p {
            for j in 0..p {
                worst = worst.max((dense[(i, j)] - href[(i, j)]).abs());
            }
        }
        assert!(
            worst <= 1e-10 * scale.max(1.0),
            "{name}: dense Hessian differs by {worst:e} (scale {scale:e})"
        );
        for method in [None, Some(dlncheck::engine::spectrum::Method::Lanczos)] {
            let opts = dlncheck::engine::spectrum::SpectrumOptions { method, ..Default::default() };
            let audit = dlncheck::engine::activated_audit::audit_activated(&inst, &opts).unwrap();
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-8 * a.abs().max(b.abs()).max(1e-2);
            assert!(close(audit.sharpness.unwrap(), ref_max), "{name} {method:?}: {audit:?} vs {ref_max}");
            assert!(
                close(audit.hessian_min_eig.unwrap(), ref_min),
                "{name} {method:?}: {audit:?} vs {ref_min}"
            );
        }
    }
}
