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

/// Serialises `T` to YAML with every float rounded to `digits` significant digits (for
/// snapshots that must be stable across CPUs; small residuals keep their magnitude).
pub fn to_string_rounded<T: Serialize>(value: &T, digits: i32) -> String {
    let mut v = serde_yaml::to_value(value).expect("serialising plain data to YAML cannot fail");
    round_value(&mut v, digits);
    serde_yaml::to_string(&v).expect("serialising a YAML value cannot fail")
}

fn round_value(v: &mut serde_yaml::Value, digits: i32) {
    use serde_yaml::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            *v = Value::Number(round_sig(x, digits).into());
        }
        Value::Sequence(s) => s.iter_mut().for_each(|x| round_value(x, digits)),
        Value::Mapping(m) => m.iter_mut().for_each(|(_, x)| round_value(x, digits)),
        Value::Tagged(t) => round_value(&mut t.value, digits),
        _ => {}
    }
}

/// `x` rounded to `digits` significant digits.
pub fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let e = x.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits - 1 - e);
    let r = (x * scale).round() / scale;
    // Re-parse the shortest decimal form so that the printed value is canonical.
    format!("{:.*e}", (digits - 1).max(0) as usize, r).parse().unwrap_or(r)
}
