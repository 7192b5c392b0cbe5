//! An instance: a dataset, a network and its parameters (the unit that claims measure and that
//! `dlncheck sharpness` audits). Reading and writing instance files lives in `io::instance`.

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
    pub meta: BTreeMap<String, String>,
}

impl Instance {
    /// The regression problem (univariate least squares on the instance's data).
    pub fn problem(&self) -> Result<Problem, DataError> {
        let reg = self.data.regression()?;
        Ok(Problem::new(self.model.clone(), Objective::Regression(reg)).expect("validated shapes"))
    }
}
