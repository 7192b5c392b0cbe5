//! Instance files: a dataset and a network, as YAML.
//!
//! ```yaml
//! architecture: mlp          # or residual
//! x: [[...], ...]            # n rows of d numbers
//! y: [...]                   # n numbers
//! weights:                   # L matrices, W_1 first, each a list of rows
//!   - [[...], ...]           # MLP: d×d except W_L 1×d; residual: all d×d
//! projection: [...]          # residual only: p (d numbers, non-zero)
//! activation: gelu           # optional: σ after every layer but the last (absent: identity,
//!                            # the deep linear network); gelu is jax.nn.gelu's tanh form
//! meta: {seed: "3"}          # optional, free-form provenance (strings)
//! ```
//! Mis-shaped, missing or non-finite fields are rejected with an error naming the field.

use crate::engine::activation::Activation;
use crate::engine::data::Dataset;
use crate::engine::instance::Instance;
use crate::engine::linalg;
use crate::engine::model::{Architecture, Dln};
use crate::io::error::Error;
use crate::io::yaml;
use std::collections::BTreeMap;
use std::path::Path;

/// The on-disk schema.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceFile {
    pub architecture: FileArchitecture,
    pub x: Vec<Vec<f64>>,
    pub y: Vec<f64>,
    pub weights: Vec<Vec<Vec<f64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection: Option<Vec<f64>>,
    /// `identity` or `gelu`; absent means identity. Kept as text so that an unknown value is an
    /// error naming this field (see [`Activation::parse`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
}

/// The architectures an instance file can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileArchitecture {
    Mlp,
    Residual,
}

/// Reads and validates an instance file.
pub fn load(path: &Path) -> Result<Instance, Error> {
    let text = crate::io::input::read_text(path)?;
    parse(&text, &path.display().to_string())
}

/// Parses and validates instance YAML; `name` labels errors.
pub fn parse(text: &str, name: &str) -> Result<Instance, Error> {
    let file: InstanceFile =
        yaml::from_str(text).map_err(|e| Error::Syntax { file: name.into(), message: e.message })?;
    file.validate(name)
}

/// YAML text of an instance (floats printed with full round-trip precision).
pub fn to_yaml(inst: &Instance) -> String {
    yaml::to_string(&InstanceFile::from_instance(inst))
}

impl InstanceFile {
    /// The file form of an instance.
    pub fn from_instance(inst: &Instance) -> InstanceFile {
        let x = inst.data.x.as_ref();
        let architecture = match inst.model.architecture() {
            Architecture::Mlp => FileArchitecture::Mlp,
            Architecture::Residual => FileArchitecture::Residual,
            Architecture::General => panic!("instance files hold MLP or residual networks"),
        };
        let projection = match architecture {
            FileArchitecture::Residual => {
                let last = inst.model.layers().last().unwrap();
                let crate::engine::model::LayerKind::Fixed(p) = &last.kind else { unreachable!() };
                Some(p.clone())
            }
            FileArchitecture::Mlp => None,
        };
        InstanceFile {
            architecture,
            x: (0..x.nrows()).map(|i| (0..x.ncols()).map(|j| x[(i, j)]).collect()).collect(),
            y: inst.data.y.clone(),
            weights: inst
                .model
                .trained_weights(&inst.theta)
                .iter()
                .map(|w| (0..w.nrows()).map(|i| (0..w.ncols()).map(|j| w[(i, j)]).collect()).collect())
                .collect(),
            projection,
            activation: (!inst.activation.is_identity()).then(|| inst.activation.name().to_string()),
            meta: inst.meta.clone(),
        }
    }

    /// Checks shapes and finiteness and builds the instance.
    pub fn validate(self, name: &str) -> Result<Instance, Error> {
        let bad = |field: String, message: String| Error::Input { file: name.into(), field, message };
        let n = self.x.len();
        if n == 0 {
            return Err(bad("x".into(), "must have at least one row".into()));
        }
        let d = self.x[0].len();
        if d == 0 {
            return Err(bad("x[0]".into(), "must have at least one entry".into()));
        }
        for (i, row) in self.x.iter().enumerate() {
            if row.len() != d {
                return Err(bad(
                    format!("x[{i}]"),
                    format!("has {} entries, expected {d} (as x[0])", row.len()),
                ));
            }
            check_finite(row, &format!("x[{i}]")).map_err(|(f, m)| bad(f, m))?;
        }
        if self.y.len() != n {
            return Err(bad(
                "y".into(),
                format!("has {} entries, expected {n} (one per row of x)", self.y.len()),
            ));
        }
        check_finite(&self.y, "y").map_err(|(f, m)| bad(f, m))?;
        let activation = match self.activation.as_deref() {
            None => Activation::Identity,
            Some(a) => Activation::parse(a).ok_or_else(|| {
                bad(
                    "activation".into(),
                    format!("unknown activation {:?}: expected gelu or identity", truncate(a)),
                )
            })?,
        };
        let depth = self.weights.len();
        if depth == 0 {
            return Err(bad("weights".into(), "must list at least one matrix".into()));
        }
        let model = match self.architecture {
            FileArchitecture::Mlp => {
                if self.projection.is_some() {
                    return Err(bad(
                        "projection".into(),
                        "is only allowed for architecture: residual".into(),
                    ));
                }
                Dln::mlp(d, depth)
            }
            FileArchitecture::Residual => {
                let Some(p) = &self.projection else {
                    return Err(bad("projection".into(), "is required for architecture: residual".into()));
                };
                if p.len() != d {
                    return Err(bad(
                        "projection".into(),
                        format!("has {} entries, expected d = {d}", p.len()),
                    ));
                }
                check_finite(p, "projection").map_err(|(f, m)| bad(f, m))?;
                if p.iter().all(|v| *v == 0.0) {
                    return Err(bad("projection".into(), "must not be the zero vector".into()));
                }
                Dln::residual(p, depth)
            }
        };
        let trained: Vec<usize> =
            (0..model.layers().len()).filter(|&k| model.layers()[k].is_trained()).collect();
        // θ is the weights' rows in order (row-major), written straight from the file's rows.
        let mut theta = vec![0.0; model.num_params()];
        for (k, w) in self.weights.iter().enumerate() {
            let layer = &model.layers()[trained[k]];
            let field = format!("weights[{k}]");
            if w.len() != layer.rows {
                return Err(bad(
                    field,
                    format!(
                        "has {} rows, expected {} (W_{} of a depth-{depth} {} network with d = {d} is {}×{})",
                        w.len(),
                        layer.rows,
                        k + 1,
                        arch_name(self.architecture),
                        layer.rows,
                        layer.cols
                    ),
                ));
            }
            for (i, row) in w.iter().enumerate() {
                if row.len() != layer.cols {
                    return Err(bad(
                        format!("{field}[{i}]"),
                        format!("has {} entries, expected {}", row.len(), layer.cols),
                    ));
                }
                check_finite(row, &format!("{field}[{i}]")).map_err(|(f, m)| bad(f, m))?;
            }
            let range = model.param_range(trained[k]).expect("trained");
            for (dst, row) in theta[range].chunks_exact_mut(layer.cols.max(1)).zip(w) {
                dst.copy_from_slice(row);
            }
        }
        let x = linalg::mat_from_rows(&self.x, d);
        Ok(Instance { data: Dataset { x, y: self.y }, model, theta, activation, meta: self.meta })
    }
}

fn arch_name(a: FileArchitecture) -> &'static str {
    match a {
        FileArchitecture::Mlp => "mlp",
        FileArchitecture::Residual => "residual",
    }
}

/// At most 40 characters of a value quoted in an error message.
fn truncate(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn check_finite(v: &[f64], field: &str) -> Result<(), (String, String)> {
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(j) => Err((format!("{field}[{j}]"), format!("is not a finite number ({})", v[j]))),
    }
}
