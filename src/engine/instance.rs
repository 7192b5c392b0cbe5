//! An instance: a dataset, a network and its parameters (the unit that claims measure and that
//! `dlncheck sharpness` audits). Reading and writing instance files lives in `io::instance`.

use crate::engine::activated::ActivatedProblem;
use crate::engine::activation::Activation;
use crate::engine::data::Dataset;
use crate::engine::model::Dln;
use crate::engine::objective::{DataError, Objective};
use crate::engine::problem::Problem;
use std::collections::BTreeMap;

/// A validated instance: data, network and parameters.
#[derive(Clone, Debug)]
pub struct Instance {
    pub data: Dataset,
    pub model: Dln,
    pub theta: Vec<f64>,
    /// The activation after every layer but the last (identity: the deep linear network).
    pub activation: Activation,
    pub meta: BTreeMap<String, String>,
}

impl Instance {
    /// The regression problem (univariate least squares on the instance's data).
    pub fn problem(&self) -> Result<Problem, DataError> {
        let reg = self.data.regression()?;
        Ok(Problem::new(self.model.clone(), Objective::Regression(reg)).expect("validated shapes"))
    }

    /// The network with its activation on the raw data (for any activation; the linear
    /// network's own route is [`Instance::problem`]).
    pub fn activated_problem(&self) -> Result<ActivatedProblem, DataError> {
        ActivatedProblem::new(self.model.clone(), self.activation, self.data.x.as_ref(), &self.data.y)
    }
}
