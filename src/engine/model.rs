//! The factorised linear map A_θ = W_M ⋯ W_1 (layers indexed from 0 in code).
//!
//! One design serves both papers: Marion & Chizat's MLP (W_L is 1×d), their residual network
//! (all W_k d×d, followed by a fixed, untrained pᵀ), and Jacot et al.'s w-wide multi-output
//! networks. A layer is either *trained* (its entries live in the parameter vector θ) or *fixed*
//! (its matrix is stored here). θ holds the trained layers in order, W_1 first, each row-major.

use crate::engine::linalg;
use faer::{Accum, Mat};

/// Where a layer's entries come from.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerKind {
    /// Entries are θ[offset .. offset + rows·cols], row-major.
    Trained { offset: usize },
    /// A fixed (untrained) matrix, row-major.
    Fixed(Vec<f64>),
}

/// One factor W_k of shape rows × cols.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    pub rows: usize,
    pub cols: usize,
    pub kind: LayerKind,
}

impl Layer {
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn is_trained(&self) -> bool {
        matches!(self.kind, LayerKind::Trained { .. })
    }
}

/// Which of Marion & Chizat's architectures a network is (for the closed forms); `General`
/// covers every other layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    Mlp,
    Residual,
    General,
}

/// A deep linear network: the layer shapes, which layers are trained, and the fixed ones.
#[derive(Clone, Debug, PartialEq)]
pub struct Dln {
    layers: Vec<Layer>,
    num_params: usize,
    architecture: Architecture,
}

/// Errors in a layer specification.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ModelError {
    #[error("layer {k} has {cols} columns but layer {prev} has {rows} rows")]
    ShapeMismatch { k: usize, prev: usize, rows: usize, cols: usize },
    #[error("a network needs at least one layer")]
    Empty,
    #[error("fixed layer {k}: expected {expected} entries, got {got}")]
    FixedLen { k: usize, expected: usize, got: usize },
}

impl Dln {
    /// Builds a network from layer specs `(rows, cols, fixed matrix or None if trained)`,
    /// listed from the input side (W_1 first).
    pub fn from_layers(specs: Vec<(usize, usize, Option<Vec<f64>>)>) -> Result<Self, ModelError> {
        if specs.is_empty() {
            return Err(ModelError::Empty);
        }
        let mut layers = Vec::with_capacity(specs.len());
        let mut offset = 0;
        for (k, (rows, cols, fixed)) in specs.into_iter().enumerate() {
            if k > 0 {
                let prev: &Layer = &layers[k - 1];
                if prev.rows != cols {
                    return Err(ModelError::ShapeMismatch { k, prev: k - 1, rows: prev.rows, cols });
                }
            }
            let kind = match fixed {
                Some(m) => {
                    if m.len() != rows * cols {
                        return Err(ModelError::FixedLen { k, expected: rows * cols, got: m.len() });
                    }
                    LayerKind::Fixed(m)
                }
                None => {
                    let kind = LayerKind::Trained { offset };
                    offset += rows * cols;
                    kind
                }
            };
            layers.push(Layer { rows, cols, kind });
        }
        Ok(Dln { layers, num_params: offset, architecture: Architecture::General })
    }

    /// Marion & Chizat's MLP: W_1..W_{L−1} d×d, W_L 1×d, all trained. P = (L−1)d² + d.
    pub fn mlp(d: usize, depth: usize) -> Self {
        assert!(d > 0 && depth > 0, "mlp needs d ≥ 1 and L ≥ 1");
        let mut specs: Vec<_> = (0..depth - 1).map(|_| (d, d, None)).collect();
        specs.push((1, d, None));
        let mut net = Self::from_layers(specs).expect("mlp shapes are consistent");
        net.architecture = Architecture::Mlp;
        net
    }

    /// Marion & Chizat's residual network: W_1..W_L d×d trained, then the fixed row pᵀ.
    /// P = L·d².
    pub fn residual(p: &[f64], depth: usize) -> Self {
        let d = p.len();
        assert!(d > 0 && depth > 0, "residual network needs d ≥ 1 and L ≥ 1");
        let mut specs: Vec<_> = (0..depth).map(|_| (d, d, None)).collect();
        specs.push((1, d, Some(p.to_vec())));
        let mut net = Self::from_layers(specs).expect("residual shapes are consistent");
        net.architecture = Architecture::Residual;
        net
    }

    /// Jacot et al.'s network: W_1 w×d_in, W_2..W_{L−1} w×w, W_L d_out×w, all trained.
    /// For L = 1 the single layer is d_out×d_in.
    pub fn deep(d_in: usize, width: usize, d_out: usize, depth: usize) -> Self {
        assert!(depth > 0, "deep network needs L ≥ 1");
        let specs = (0..depth)
            .map(|k| {
                let rows = if k + 1 == depth { d_out } else { width };
                let cols = if k == 0 { d_in } else { width };
                (rows, cols, None)
            })
            .collect();
        Self::from_layers(specs).expect("deep shapes are consistent")
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }
    pub fn architecture(&self) -> Architecture {
        self.architecture
    }
    /// Number of trained parameters P.
    pub fn num_params(&self) -> usize {
        self.num_params
    }
    /// Number of trained layers (the paper's depth L).
    pub fn depth(&self) -> usize {
        self.layers.iter().filter(|l| l.is_trained()).count()
    }
    pub fn d_in(&self) -> usize {
        self.layers[0].cols
    }
    pub fn d_out(&self) -> usize {
        self.layers.last().expect("non-empty").rows
    }

    /// Frobenius norm of the product of the fixed layers above the last trained one
    /// (‖p‖ for the residual network, 1 when there are none). Enters LB as ‖p‖^{2/L}.
    pub fn head_norm(&self) -> f64 {
        let last_trained = self.layers.iter().rposition(|l| l.is_trained());
        let start = last_trained.map_or(0, |k| k + 1);
        if start >= self.layers.len() {
            return 1.0;
        }
        let mut prod: Option<Mat<f64>> = None;
        for layer in &self.layers[start..] {
            let LayerKind::Fixed(m) = &layer.kind else { unreachable!() };
            let w = linalg::to_mat(m, layer.rows, layer.cols);
            prod = Some(match prod {
                None => w,
                Some(p) => linalg::matmul_owned(w.as_ref(), p.as_ref()),
            });
        }
        prod.map_or(1.0, |p| p.norm_l2())
    }

    /// The entries of layer k (row-major) at parameters θ.
    #[inline]
    pub fn weight<'a>(&'a self, k: usize, theta: &'a [f64]) -> &'a [f64] {
        let layer = &self.layers[k];
        match &layer.kind {
            LayerKind::Trained { offset } => &theta[*offset..*offset + layer.len()],
            LayerKind::Fixed(m) => m,
        }
    }

    /// The parameter range of layer k, if trained.
    pub fn param_range(&self, k: usize) -> Option<std::ops::Range<usize>> {
        match self.layers[k].kind {
            LayerKind::Trained { offset } => Some(offset..offset + self.layers[k].len()),
            LayerKind::Fixed(_) => None,
        }
    }

    /// Layer k as a faer matrix.
    pub fn weight_mat(&self, k: usize, theta: &[f64]) -> Mat<f64> {
        let l = &self.layers[k];
        linalg::to_mat(self.weight(k, theta), l.rows, l.cols)
    }

    /// The end-to-end map A_θ (d_out × d_in). Cost O(Σ_k rows_k·cols_k·d_in).
    pub fn end_to_end(&self, theta: &[f64]) -> Mat<f64> {
        let d_in = self.d_in();
        // B ← W_k B, starting from the identity; row-major buffers.
        let mut b: Vec<f64> =
            (0..d_in * d_in).map(|i| if i / d_in == i % d_in { 1.0 } else { 0.0 }).collect();
        let mut rows = d_in;
        for (k, layer) in self.layers.iter().enumerate() {
            let mut next = vec![0.0; layer.rows * d_in];
            linalg::mul_nn(&mut next, self.weight(k, theta), &b, layer.rows, rows, d_in, Accum::Replace);
            b = next;
            rows = layer.rows;
        }
        linalg::to_mat(&b, rows, d_in)
    }

    /// The product B_k = W_{k−1}⋯W_1 (cols_k × d_in) of the layers below layer k (0-based k;
    /// B for k = 0 is the identity).
    pub fn below(&self, k: usize, theta: &[f64]) -> Mat<f64> {
        let d_in = self.d_in();
        let mut b = Mat::<f64>::identity(d_in, d_in);
        for j in 0..k {
            b = linalg::matmul_owned(self.weight_mat(j, theta).as_ref(), b.as_ref());
        }
        b
    }

    /// The product a_k = W_M⋯W_{k+1} (d_out × rows_k) of the layers above layer k
    /// (the identity above the top layer).
    pub fn above(&self, k: usize, theta: &[f64]) -> Mat<f64> {
        let d_out = self.d_out();
        let mut a = Mat::<f64>::identity(d_out, d_out);
        for j in (k + 1..self.layers.len()).rev() {
            a = linalg::matmul_owned(a.as_ref(), self.weight_mat(j, theta).as_ref());
        }
        a
    }

    /// Splits θ into per-layer faer matrices (trained layers only, W_1 first).
    pub fn trained_weights(&self, theta: &[f64]) -> Vec<Mat<f64>> {
        (0..self.layers.len())
            .filter(|&k| self.layers[k].is_trained())
            .map(|k| self.weight_mat(k, theta))
            .collect()
    }

    /// Flattens per-layer matrices (trained layers only, W_1 first) into θ.
    pub fn flatten(&self, weights: &[Mat<f64>]) -> Vec<f64> {
        let mut theta = vec![0.0; self.num_params];
        let trained: Vec<usize> = (0..self.layers.len()).filter(|&k| self.layers[k].is_trained()).collect();
        assert_eq!(trained.len(), weights.len(), "one matrix per trained layer");
        for (&k, w) in trained.iter().zip(weights) {
            let layer = &self.layers[k];
            assert_eq!((w.nrows(), w.ncols()), (layer.rows, layer.cols), "layer {k} shape");
            let range = self.param_range(k).expect("trained");
            theta[range].copy_from_slice(&linalg::to_row_major(w.as_ref()));
        }
        theta
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_counts() {
        assert_eq!(Dln::mlp(5, 10).num_params(), 9 * 25 + 5);
        assert_eq!(Dln::residual(&[1.0, 0.0, 0.0], 4).num_params(), 36);
        assert_eq!(Dln::deep(3, 7, 2, 3).num_params(), 21 + 49 + 14);
        assert_eq!(Dln::residual(&[3.0, 4.0], 2).head_norm(), 5.0);
        assert_eq!(Dln::mlp(3, 2).head_norm(), 1.0);
    }

    #[test]
    fn end_to_end_is_product() {
        let net = Dln::mlp(2, 2);
        // W_1 = [[1,2],[3,4]], W_2 = [5,6] → A = [5+18, 10+24] = [23, 34].
        let theta = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let a = net.end_to_end(&theta);
        assert_eq!((a[(0, 0)], a[(0, 1)]), (23.0, 34.0));
        let w = net.trained_weights(&theta);
        assert_eq!(net.flatten(&w), theta);
    }

    #[test]
    fn shape_errors_are_reported() {
        let err = Dln::from_layers(vec![(2, 3, None), (1, 3, None)]).unwrap_err();
        assert_eq!(err, ModelError::ShapeMismatch { k: 1, prev: 0, rows: 2, cols: 3 });
    }
}
