//! The only module that touches the YAML library (serde_yaml, archived upstream): swap a
//! maintained fork in here with a one-line change.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A YAML syntax or schema error: message (with the field path when known) and position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

/// Parses YAML into `T` (serde); errors name the field path and line.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_yaml::from_str(text).map_err(|e| {
        let loc = e.location();
        YamlError {
            message: e.to_string(),
            line: loc.as_ref().map(|l| l.line()),
            column: loc.map(|l| l.column()),
        }
    })
}

/// Serialises `T` to YAML.
pub fn to_string<T: Serialize>(value: &T) -> String {
    serde_yaml::to_string(value).expect("serialising plain data to YAML cannot fail")
}
