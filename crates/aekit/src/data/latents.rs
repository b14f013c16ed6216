//! Latent vectors on disk: CSV (`z0..z{L-1}` and an optional `label` column) or NumPy `.npy`
//! (`<f4`, C order, shape `[N, L]`; labels, when known, in `NAME_labels.npy` as `<u4`).
//!
//! NPY is read and written here directly: its version-1.0 header is a few bytes of fixed layout
//! (<https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>), and reading it
//! ourselves lets errors name exactly what is wrong with a file.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A file format for latent vectors, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Npy,
}

impl Format {
    pub fn from_path(path: &Path) -> Result<Self> {
        match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("npy") => Ok(Format::Npy),
            Some("parquet") => Err(Error::input(path, "Parquet is not supported yet: use .csv or .npy")),
            _ => Err(Error::input(path, "unknown latent file type: expected .csv or .npy")),
        }
    }
}

/// Latent vectors `[n, dim]` row-major, with optional labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Latents {
    pub values: Vec<f32>,
    pub dim: usize,
    pub labels: Option<Vec<u32>>,
}

impl Latents {
    pub fn len(&self) -> usize {
        if self.dim == 0 { 0 } else { self.values.len() / self.dim }
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// `latents.npy` → `latents_labels.npy`.
pub fn labels_path(path: &Path) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!("{stem}_labels.npy"))
}

/// Writes latents in the format the extension names (atomically).
pub fn write(path: &Path, z: &Latents) -> Result<()> {
    match Format::from_path(path)? {
        Format::Csv => crate::io::write_atomic(path, |w| {
            let header: Vec<String> = (0..z.dim).map(|j| format!("z{j}")).collect();
            write!(w, "{}", header.join(","))?;
            if z.labels.is_some() {
                write!(w, ",label")?;
            }
            writeln!(w)?;
            for (i, row) in z.values.chunks_exact(z.dim).enumerate() {
                let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
                write!(w, "{}", cells.join(","))?;
                if let Some(l) = &z.labels {
                    write!(w, ",{}", l[i])?;
                }
                writeln!(w)?;
            }
            Ok(())
        }),
        Format::Npy => {
            let bytes: Vec<u8> = z.values.iter().flat_map(|v| v.to_le_bytes()).collect();
            crate::io::write_bytes(path, &npy_bytes("<f4", &[z.len(), z.dim], &bytes))?;
            if let Some(l) = &z.labels {
                let lb: Vec<u8> = l.iter().flat_map(|v| v.to_le_bytes()).collect();
                crate::io::write_bytes(&labels_path(path), &npy_bytes("<u4", &[l.len()], &lb))?;
            }
            Ok(())
        }
    }
}

fn npy_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape_s = match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_s}, }}");
    // Magic (6) + version (2) + header length (2) + header, padded to a multiple of 64 with a
    // final newline.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

/// Reads latents written by [`write`] (or by NumPy / pandas in the same layout).
pub fn read(path: &Path) -> Result<Latents> {
    match Format::from_path(path)? {
        Format::Csv => read_csv(path),
        Format::Npy => read_npy(path),
    }
}

fn read_csv(path: &Path) -> Result<Latents> {
    let ds = super::csv::load_csv(path, None)?;
    let names = ds.feature_names.clone().unwrap_or_default();
    // A `label` column is carried along, not decoded.
    let keep: Vec<usize> = (0..names.len()).filter(|&j| names[j] != "label").collect();
    let f = names.len();
    let values = ds.data().chunks_exact(f).flat_map(|row| keep.iter().map(move |&j| row[j])).collect();
    Ok(Latents { values, dim: keep.len(), labels: None })
}

fn read_npy(path: &Path) -> Result<Latents> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
    let bad = |msg: String| Error::input(path, msg);
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("not a .npy file: the magic string \\x93NUMPY is missing at offset 0".into()));
    }
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        v => return Err(bad(format!("unsupported .npy version {v}"))),
    };
    let header = bytes
        .get(start..start + hlen)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad(format!("header of {hlen} bytes at offset {start} is cut off or not text")))?;
    let field = |key: &str| -> Option<&str> {
        let i = header.find(&format!("'{key}':"))? + key.len() + 3;
        Some(header[i..].trim_start())
    };
    let descr = field("descr").and_then(|s| s.strip_prefix('\'')).and_then(|s| s.split('\'').next()).unwrap_or("");
    if field("fortran_order").is_some_and(|s| s.starts_with("True")) {
        return Err(bad("Fortran-ordered arrays are not supported: save with C order".into()));
    }
    let shape: Vec<usize> = field("shape")
        .and_then(|s| s.strip_prefix('('))
        .and_then(|s| s.split(')').next())
        .map(|s| s.split(',').filter_map(|d| d.trim().parse().ok()).collect())
        .unwrap_or_default();
    let [n, dim] = shape[..] else {
        return Err(bad(format!("array shape {shape:?}: expected two dimensions [samples, latent size]")));
    };
    let data = &bytes[start + hlen..];
    let width = match descr {
        "<f4" => 4,
        "<f8" => 8,
        other => return Err(bad(format!("dtype {other:?}: expected '<f4' or '<f8'"))),
    };
    if data.len() != n * dim * width {
        return Err(bad(format!("shape ({n}, {dim}) of {descr} needs {} data bytes, the file has {}", n * dim * width, data.len())));
    }
    let values: Vec<f32> = if width == 4 {
        data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    } else {
        data.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32).collect()
    };
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(bad(format!("value at row {}, column {} is not finite", i / dim, i % dim)));
    }
    Ok(Latents { values, dim, labels: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_npy_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let z = Latents { values: vec![0.5, -1.25, 3.0, 1e-3, 2.0, -0.0], dim: 2, labels: Some(vec![7, 2, 1]) };
        for name in ["z.csv", "z.npy"] {
            let p = dir.path().join(name);
            write(&p, &z).unwrap();
            let back = read(&p).unwrap();
            assert_eq!(back.values, z.values, "{name}");
            assert_eq!(back.dim, 2);
        }
        // The data start 64-byte aligned, as numpy.save writes them.
        let bytes = std::fs::read(dir.path().join("z.npy")).unwrap();
        assert_eq!((bytes.len() - 6 * 4) % 64, 0);
        assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]) as usize + 10, bytes.len() - 6 * 4);
        assert!(labels_path(&dir.path().join("z.npy")).is_file());
    }

    #[test]
    fn bad_npy_is_an_input_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.npy");
        let mut b = npy_bytes("<f4", &[2, 3], &[0u8; 20]);
        std::fs::write(&p, &b).unwrap();
        let e = read(&p).unwrap_err();
        assert!(e.is_bad_input() && e.to_string().contains("needs 24 data bytes"), "{e}");
        b = npy_bytes("<i8", &[1, 1], &[0u8; 8]);
        std::fs::write(&p, &b).unwrap();
        assert!(read(&p).unwrap_err().to_string().contains("dtype \"<i8\""));
    }
}
