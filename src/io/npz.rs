//! Instance files as numpy archives (`np.savez`): arrays `x` (n×d), `y` (n, or n×1), `W1` … `WL`
//! (W_1 first, shapes as in YAML instance files: MLP d×d except W_L 1×d, residual all d×d) and,
//! for residual networks, `p` (d), and optionally `activation`, a unicode string array holding
//! `gelu` or `identity` (`np.savez(..., activation="gelu")`; absent: identity). float64 or float32, C or Fortran order, stored or deflated
//! (`np.savez_compressed`). Read with zip and npyz; the
//! arrays become an [`InstanceFile`] and go through the same validation as YAML, so errors name
//! the array (the field) and exit with code 2.
//!
//! Memory is bounded: each array's declared shape is checked against [`MAX_ELEMENTS`] and
//! against the byte size the archive declares for it before anything is allocated.

use crate::engine::instance::Instance;
use crate::io::error::Error;
use crate::io::instance::{FileArchitecture, InstanceFile};
use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::path::Path;

/// Largest number of entries of all arrays together (2²⁷ ≈ 1.3·10⁸ numbers, 1 GiB as f64).
pub const MAX_ELEMENTS: u64 = 1 << 27;

/// Largest depth read (arrays `W1` … `W4096`).
pub const MAX_DEPTH: usize = 4096;

/// Whether `bytes` start like a zip archive (an `.npz`).
pub fn looks_like_npz(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// Reads and validates an `.npz` instance.
pub fn load(path: &Path) -> Result<Instance, Error> {
    let file = std::fs::File::open(path).map_err(|source| Error::Read { path: path.into(), source })?;
    read(std::io::BufReader::new(file), &path.display().to_string())
}

/// Reads and validates an `.npz` instance from any seekable reader; `name` labels errors, which
/// name arrays (`W2[0]`, `p`) rather than YAML fields (`weights[1][0]`, `projection`).
pub fn read<R: Read + Seek>(reader: R, name: &str) -> Result<Instance, Error> {
    to_instance_file(reader, name)?.validate(name).map_err(|e| match e {
        Error::Input { file, field, message } => Error::Input { file, field: array_name(&field), message },
        e => e,
    })
}

/// Reads an instance file of either format: `.npz` by extension or by its zip signature, else YAML.
pub fn load_any(path: &Path) -> Result<Instance, Error> {
    if crate::io::input::is_stdin(path) {
        let bytes = crate::io::input::read_bytes(path)?;
        return if looks_like_npz(&bytes[..bytes.len().min(4)]) {
            read(std::io::Cursor::new(bytes), "standard input")
        } else {
            crate::io::instance::parse(&crate::io::input::text_of(bytes, "standard input")?, "standard input")
        };
    }
    let mut head = [0u8; 4];
    let is_zip = std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map(|_| looks_like_npz(&head))
        .unwrap_or(false);
    if is_zip || path.extension().is_some_and(|e| e == "npz") {
        load(path)
    } else {
        crate::io::instance::load(path)
    }
}

/// The array behind a YAML field name: `weights[k]…` → `W{k+1}…`, `projection…` → `p…`.
fn array_name(field: &str) -> String {
    if let Some(rest) = field.strip_prefix("weights[")
        && let Some((k, tail)) = rest.split_once(']')
        && let Ok(k) = k.parse::<usize>()
    {
        return format!("W{}{tail}", k + 1);
    }
    if let Some(tail) = field.strip_prefix("projection") {
        return format!("p{tail}");
    }
    field.to_string()
}

/// A 2-D (or 1-D) array as read: shape and row-major entries.
struct Array {
    shape: Vec<u64>,
    data: Vec<f64>,
}

fn to_instance_file<R: Read + Seek>(reader: R, name: &str) -> Result<InstanceFile, Error> {
    let bad = |field: &str, message: String| Error::Input { file: name.into(), field: field.into(), message };
    let mut npz = zip::ZipArchive::new(reader).map_err(|e| Error::Syntax {
        file: name.into(),
        message: format!("not a valid .npz (zip) archive: {e}"),
    })?;
    let mut names = Vec::new();
    for n in npz.file_names() {
        let n = n.map_err(|e| Error::Syntax {
            file: name.into(),
            message: format!("unreadable member name: {e}"),
        })?;
        names.push(n.strip_suffix(".npy").unwrap_or(&n).to_string());
    }
    let mut depth = 0;
    for a in &names {
        match a.as_str() {
            "x" | "y" | "p" | "activation" => {}
            w if w.starts_with('W') => {
                let k: usize = w[1..]
                    .parse()
                    .ok()
                    .filter(|k| (1..=MAX_DEPTH).contains(k) && !w[1..].starts_with('0'))
                    .ok_or_else(|| {
                        bad(w, format!("unknown array: weight arrays are named W1 … W{MAX_DEPTH}"))
                    })?;
                depth = depth.max(k);
            }
            other => {
                return Err(bad(
                    other,
                    "unknown array (expected x, y, W1 … WL, for residual networks p, and optionally activation)".into(),
                ));
            }
        }
    }
    let activation = read_text(&mut npz, "activation", name)?;
    let mut budget = MAX_ELEMENTS;
    let mut get =
        |field: &str| -> Result<Option<Array>, Error> { read_array(&mut npz, field, name, &mut budget) };
    let x = get("x")?.ok_or_else(|| bad("x", "missing array (n×d inputs)".into()))?;
    let y = get("y")?.ok_or_else(|| bad("y", "missing array (n labels)".into()))?;
    let p = get("p")?;
    if depth == 0 {
        return Err(bad("W1", "missing array: the network's weights are W1 … WL, W1 first".into()));
    }
    let mut weights = Vec::with_capacity(depth);
    for k in 1..=depth {
        let field = format!("W{k}");
        let w = get(&field)?.ok_or_else(|| {
            bad(&field, format!("missing array: W1 … W{depth} must all be present (W{depth} is)"))
        })?;
        weights.push(matrix(w, &field, name)?);
    }
    let x = matrix(x, "x", name)?;
    let y = vector(y, "y", name, true)?;
    let projection = p.map(|p| vector(p, "p", name, false)).transpose()?;
    let architecture = if projection.is_some() { FileArchitecture::Residual } else { FileArchitecture::Mlp };
    let mut meta = BTreeMap::new();
    meta.insert("format".to_string(), "npz".to_string());
    Ok(InstanceFile { architecture, x, y, weights, projection, activation, meta })
}

/// Longest `activation` string read (code points).
const MAX_TEXT: u64 = 64;

/// Reads a string array of one element (a numpy `str`, dtype `<UN`, shape () or (1,)); `None`
/// if absent. Anything else is an error naming the array.
fn read_text<R: Read + Seek>(
    npz: &mut zip::ZipArchive<R>,
    field: &str,
    name: &str,
) -> Result<Option<String>, Error> {
    let bad = |message: String| Error::Input { file: name.into(), field: field.into(), message };
    let member = match npz.by_name(&format!("{field}.npy")) {
        Ok(m) => m,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(bad(format!("unreadable archive member: {e}"))),
    };
    let npy = npyz::NpyFile::new(member).map_err(|e| bad(format!("not a readable .npy array: {e}")))?;
    let shape = npy.shape().to_vec();
    if shape.iter().product::<u64>() != 1 || shape.len() > 1 {
        return Err(bad(format!("has shape {shape:?}, expected one string (shape () or (1,))")));
    }
    let dtype = npy.dtype();
    let descr = dtype.descr();
    let ok = match &dtype {
        npyz::DType::Plain(ts) => ts.type_char() == npyz::TypeChar::UnicodeStr && ts.size_field() <= MAX_TEXT,
        _ => false,
    };
    if !ok {
        return Err(bad(format!("dtype {descr}: expected a string of at most {MAX_TEXT} characters (<U…)")));
    }
    let v = npy.into_vec::<String>().map_err(|e| bad(format!("cannot read the string: {e}")))?;
    Ok(v.into_iter().next())
}

/// An array's shape and its numbers in C order.
pub type ShapedArray = (Vec<u64>, Vec<f64>);

/// Reads the array `field` of the `.npz` archive in `bytes` (`name` names it in errors): its
/// shape and its numbers in C order (float32 widened exactly to f64); `None` if absent.
pub fn read_named(bytes: &[u8], field: &str, name: &str) -> Result<Option<ShapedArray>, Error> {
    let mut npz = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| Error::Syntax {
        file: name.into(),
        message: format!("not a valid .npz (zip) archive: {e}"),
    })?;
    let mut budget = MAX_ELEMENTS;
    Ok(read_array(&mut npz, field, name, &mut budget)?.map(|a| (a.shape, a.data)))
}

/// Reads one array (`None` if absent), after checking its dtype and that its declared shape
/// fits the remaining element budget and the size the archive declares for it.
fn read_array<R: Read + Seek>(
    npz: &mut zip::ZipArchive<R>,
    field: &str,
    name: &str,
    budget: &mut u64,
) -> Result<Option<Array>, Error> {
    let bad = |message: String| Error::Input { file: name.into(), field: field.into(), message };
    let member = match npz.by_name(&format!("{field}.npy")) {
        Ok(m) => m,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(bad(format!("unreadable archive member: {e}"))),
    };
    let declared = Some(member.size());
    // npyz reads one number at a time: buffered, the archive's CRC and bounds checks run on
    // large blocks instead of 8 bytes (about 4× faster on a 150 MB array).
    let member = std::io::BufReader::with_capacity(1 << 16, member);
    let npy = npyz::NpyFile::new(member).map_err(|e| bad(format!("not a readable .npy array: {e}")))?;
    let shape: Vec<u64> = npy.shape().to_vec();
    let count = shape.iter().try_fold(1u64, |acc, &s| acc.checked_mul(s));
    let count = match count {
        Some(c) if c <= *budget => c,
        _ => {
            return Err(bad(format!(
                "declared shape {shape:?} exceeds the limit of {MAX_ELEMENTS} numbers in one archive"
            )));
        }
    };
    let dtype = npy.dtype().descr();
    let width = match dtype.trim_matches('\'').trim_start_matches(['<', '>', '=', '|']) {
        "f8" => 8,
        "f4" => 4,
        _ => return Err(bad(format!("dtype {dtype}: expected float64 or float32"))),
    };
    if let Some(size) = declared
        && count.saturating_mul(width) > size
    {
        return Err(bad(format!(
            "declared shape {shape:?} needs {} bytes but the archive holds {size} for it",
            count * width
        )));
    }
    *budget -= count;
    let fortran = npy.order() == npyz::Order::Fortran;
    let data: Vec<f64> = if width == 8 {
        npy.into_vec::<f64>()
    } else {
        npy.into_vec::<f32>().map(|v| v.into_iter().map(f64::from).collect())
    }
    .map_err(|e| bad(format!("cannot read the data: {e}")))?;
    if data.len() as u64 != count {
        return Err(bad(format!("holds {} numbers, its shape {shape:?} declares {count}", data.len())));
    }
    let data = if fortran && shape.len() == 2 {
        let (r, c) = (shape[0] as usize, shape[1] as usize);
        (0..r * c).map(|k| data[(k % c) * r + k / c]).collect()
    } else {
        data
    };
    Ok(Some(Array { shape, data }))
}

fn matrix(a: Array, field: &str, name: &str) -> Result<Vec<Vec<f64>>, Error> {
    if a.shape.len() != 2 {
        return Err(Error::Input {
            file: name.into(),
            field: field.into(),
            message: format!("has shape {:?}, expected a 2-D array (rows × columns)", a.shape),
        });
    }
    let c = a.shape[1] as usize;
    if c == 0 {
        return Ok(vec![Vec::new(); a.shape[0] as usize]);
    }
    Ok(a.data.chunks(c).map(|r| r.to_vec()).collect())
}

fn vector(a: Array, field: &str, name: &str, column_ok: bool) -> Result<Vec<f64>, Error> {
    match a.shape.as_slice() {
        [_] => Ok(a.data),
        [_, 1] if column_ok => Ok(a.data),
        s => Err(Error::Input {
            file: name.into(),
            field: field.into(),
            message: format!(
                "has shape {s:?}, expected a 1-D array{}",
                if column_ok { " (or a column n×1)" } else { "" }
            ),
        }),
    }
}

/// Writes an instance as `.npz` (float64, C order), the inverse of [`read`].
pub fn write<W: std::io::Write + Seek>(inst: &Instance, out: W) -> std::io::Result<()> {
    use npyz::WriterBuilder;
    let file = InstanceFile::from_instance(inst);
    let mut npz = zip::ZipWriter::new(out);
    let mut put = |name: &str, shape: &[u64], data: &mut dyn Iterator<Item = f64>| -> std::io::Result<()> {
        let mut bytes = Vec::new();
        let mut w =
            npyz::WriteOptions::<f64>::new().default_dtype().shape(shape).writer(&mut bytes).begin_nd()?;
        w.extend(data)?;
        w.finish()?;
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(bytes.len() > u32::MAX as usize / 2);
        npz.start_file(format!("{name}.npy"), opts).map_err(std::io::Error::other)?;
        std::io::Write::write_all(&mut npz, &bytes)
    };
    let (n, d) = (file.x.len() as u64, file.x.first().map_or(0, |r| r.len()) as u64);
    put("x", &[n, d], &mut file.x.iter().flatten().copied())?;
    put("y", &[n], &mut file.y.iter().copied())?;
    for (k, w) in file.weights.iter().enumerate() {
        let shape = [w.len() as u64, w.first().map_or(0, |r| r.len()) as u64];
        put(&format!("W{}", k + 1), &shape, &mut w.iter().flatten().copied())?;
    }
    if let Some(p) = &file.projection {
        put("p", &[p.len() as u64], &mut p.iter().copied())?;
    }
    if let Some(a) = &file.activation {
        let mut bytes = Vec::new();
        let dtype = npyz::DType::Plain(
            format!("<U{}", a.chars().count().max(1)).parse().map_err(std::io::Error::other)?,
        );
        let mut w =
            npyz::WriteOptions::<String>::new().dtype(dtype).shape(&[]).writer(&mut bytes).begin_nd()?;
        w.push(a)?;
        w.finish()?;
        let opts =
            zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        npz.start_file("activation.npy", opts).map_err(std::io::Error::other)?;
        std::io::Write::write_all(&mut npz, &bytes)?;
    }
    npz.finish().map_err(std::io::Error::other)?;
    Ok(())
}
