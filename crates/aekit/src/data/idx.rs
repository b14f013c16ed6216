//! IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed.
//!
//! Layout (<http://yann.lecun.com/exdb/mnist/>): two zero bytes, a type byte (0x08 = unsigned
//! byte), a dimension count, one big-endian u32 per dimension, then the values row-major.

use std::io::Read;
use std::path::Path;

use super::dataset::{Dataset, SampleShape};
use crate::error::{Error, Result};

/// Refuse headers that declare more than this many bytes before allocating anything.
const MAX_VALUES: u64 = 1 << 31;

/// The raw content of an IDX file of unsigned bytes.
#[derive(Debug, Clone)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Reads an IDX file; gzip is recognized by its magic bytes, not by the file name.
pub fn read_idx_file(path: &Path) -> Result<IdxArray> {
    let bytes =
        std::fs::read(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
    read_idx_bytes(&bytes, path)
}

/// Parses IDX content held in memory; `path` only names it in errors.
pub fn read_idx_bytes(bytes: &[u8], path: &Path) -> Result<IdxArray> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        decode(flate2::read::GzDecoder::new(bytes), path, true)
    } else {
        decode(bytes, path, false)
    }
}

fn decode(mut r: impl Read, path: &Path, gz: bool) -> Result<IdxArray> {
    let what = if gz { "decompressed " } else { "" };
    let bad = |msg: String| Error::input(path, msg);
    let io = |e: std::io::Error, at: usize| {
        bad(format!("gzip stream is corrupt or cut off after {at} decompressed bytes: {e}"))
    };

    let mut magic = [0u8; 4];
    let got = read_full(&mut r, &mut magic).map_err(|e| io(e, 0))?;
    if got < 4 {
        return Err(bad(format!(
            "truncated: the {what}file has {got} bytes, expected at least a 4-byte IDX magic number"
        )));
    }
    if magic[0] != 0 || magic[1] != 0 {
        return Err(bad(format!(
            "wrong magic number 0x{:02x}{:02x}{:02x}{:02x} at offset 0: expected 0x0000 then a \
             type byte and a dimension count (IDX format)",
            magic[0], magic[1], magic[2], magic[3]
        )));
    }
    if magic[2] != 0x08 {
        return Err(bad(format!(
            "unsupported IDX data type 0x{:02x} at offset 2: expected 0x08 (unsigned byte)",
            magic[2]
        )));
    }
    let ndim = magic[3] as usize;
    if !(1..=4).contains(&ndim) {
        return Err(bad(format!(
            "IDX header declares {ndim} dimensions at offset 3: expected 1 to 4"
        )));
    }
    let mut raw = vec![0u8; 4 * ndim];
    let got = read_full(&mut r, &mut raw).map_err(|e| io(e, 4))?;
    if got < raw.len() {
        return Err(bad(format!(
            "truncated: header ends at offset {}, expected {} dimension sizes (4 bytes each)",
            4 + got,
            ndim
        )));
    }
    let dims: Vec<usize> = raw
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let total = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    let total = match total {
        Some(t) if t <= MAX_VALUES => t as usize,
        _ => {
            return Err(bad(format!(
                "IDX header declares dimensions {dims:?}, more than the {MAX_VALUES} values aekit \
                 accepts: the header is corrupt"
            )))
        }
    };
    let header = 4 + 4 * ndim;
    // Grow as data arrives rather than trusting the header with one allocation.
    let mut data = Vec::with_capacity(total.min(64 << 20));
    r.by_ref()
        .take(total as u64)
        .read_to_end(&mut data)
        .map_err(|e| io(e, header + data.len()))?;
    if data.len() < total {
        return Err(bad(format!(
            "truncated: header declares dimensions {dims:?} = {total} data bytes after the \
             {header}-byte header, but the {what}file ends at offset {}",
            header + data.len()
        )));
    }
    let mut extra = [0u8; 1];
    if read_full(&mut r, &mut extra).map_err(|e| io(e, header + total))? > 0 {
        return Err(bad(format!(
            "header declares dimensions {dims:?} = {total} data bytes, but the {what}file has \
             more data after offset {}",
            header + total
        )));
    }
    Ok(IdxArray { dims, data })
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Turns an IDX image array `[N, H, W]` (bytes) into a dataset with pixels in [0, 1].
pub fn images_from_idx(arr: IdxArray, path: &Path) -> Result<Dataset> {
    let (c, h, w) = match arr.dims[..] {
        [_, h, w] => (1, h, w),
        [_, c, h, w] => (c, h, w),
        _ => {
            return Err(Error::input(
                path,
                format!("IDX dimensions {:?}: expected images [N, H, W] or [N, C, H, W]", arr.dims),
            ))
        }
    };
    if arr.dims[0] == 0 || h == 0 || w == 0 || c == 0 {
        return Err(Error::input(path, format!("IDX dimensions {:?}: no pixels", arr.dims)));
    }
    let data = arr.data.iter().map(|&b| b as f32 / 255.0).collect();
    Dataset::new(data, SampleShape::Image { channels: c, height: h, width: w }, None)
}

/// Turns an IDX label array `[N]` into labels.
pub fn labels_from_idx(arr: IdxArray, path: &Path) -> Result<Vec<u32>> {
    if arr.dims.len() != 1 {
        return Err(Error::input(
            path,
            format!("IDX dimensions {:?}: expected a label vector [N]", arr.dims),
        ));
    }
    Ok(arr.data.iter().map(|&b| b as u32).collect())
}

/// Reads an image file and, optionally, its label file.
pub fn load_images(images: &Path, labels: Option<&Path>) -> Result<Dataset> {
    let ds = images_from_idx(read_idx_file(images)?, images)?;
    match labels {
        None => Ok(ds),
        Some(lp) => attach_labels(ds, labels_from_idx(read_idx_file(lp)?, lp)?, lp),
    }
}

pub(crate) fn attach_labels(ds: Dataset, labels: Vec<u32>, path: &Path) -> Result<Dataset> {
    if labels.len() != ds.len() {
        return Err(Error::input(
            path,
            format!("{} labels, expected one per image ({} images)", labels.len(), ds.len()),
        ));
    }
    ds.with_labels(labels)
}
