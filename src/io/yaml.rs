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

/// Parses YAML into `T` (serde); errors name the field path and line. A leading byte-order
/// mark is skipped; anchors and aliases are refused ([`find_alias`]).
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some((line, column, c)) = find_alias(text) {
        let what = if c == '&' { "anchor" } else { "alias" };
        return Err(YamlError {
            message: format!(
                "YAML {what} `{c}…` at line {line} column {column}: anchors and aliases are not accepted \
                 (an alias re-expands a whole subtree, so a small file could stand for gigabytes)"
            ),
            line: Some(line),
            column: Some(column),
        });
    }
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

/// Refuses YAML anchors and aliases (`&a` … `*a`): an alias re-expands its anchor's whole
/// subtree, so a few kilobytes of nested aliases can stand for gigabytes of data ("billion
/// laughs"). None of the harness's files needs them. Returns the 1-based (line, column) of the
/// first one, found lexically: an `&` or `*` where a node starts (after `- `, `: `, `[`, `{`,
/// `,`, `? ` or at the start of a line), outside quotes and comments.
pub fn find_alias(text: &str) -> Option<(usize, usize, char)> {
    for (ln, line) in text.lines().enumerate() {
        let mut quote: Option<char> = None;
        let mut prev: Option<char> = None; // the last non-blank character before this one
        let mut chars = line.char_indices().peekable();
        while let Some((col, c)) = chars.next() {
            match quote {
                Some('\'') if c == '\'' => quote = None,
                Some('"') if c == '\\' => {
                    chars.next();
                }
                Some('"') if c == '"' => quote = None,
                Some(_) => {}
                None => {
                    if c == '#' && (col == 0 || line[..col].ends_with([' ', '\t'])) {
                        break;
                    }
                    let node_start = matches!(prev, None | Some('-' | ':' | '[' | '{' | ',' | '?'));
                    if (c == '&' || c == '*') && node_start {
                        let next = chars.peek().map(|(_, n)| *n);
                        if next.is_some_and(|n| !n.is_whitespace() && n != ',' && n != ']' && n != '}') {
                            return Some((ln + 1, col + 1, c));
                        }
                    }
                    if (c == '\'' || c == '"') && node_start {
                        quote = Some(c);
                    }
                    if !c.is_whitespace() {
                        prev = Some(c);
                    }
                }
            }
        }
    }
    None
}

/// Shortens a message for the terminal: any run of more than 80 non-blank characters (a
/// 100 000-digit number, a long quoted value) keeps its first 40 and says how long it was,
/// and the whole message is cut at 2000 characters.
pub fn shorten(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(2100));
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let n = run.chars().count();
        if n > 80 {
            out.extend(run.chars().take(40));
            out.push_str(&format!("…[{n} characters]"));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in message.chars() {
        if c.is_whitespace() {
            flush(&mut run, &mut out);
            out.push(c);
        } else {
            run.push(c);
        }
        if out.len() > 2000 {
            out.push('…');
            return out;
        }
    }
    flush(&mut run, &mut out);
    out
}
