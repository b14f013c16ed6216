//! safetensors files: the one writer and reader behind model weights (`train::weights`) and
//! PCA (`pca::Pca::save`). Values are little-endian f32 or f64; every error names the file and
//! the tensor.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::TensorView;
use safetensors::Dtype;

use crate::error::{Error, Result};

/// A tensor's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl Values {
    fn dtype(&self) -> Dtype {
        match self {
            Values::F32(_) => Dtype::F32,
            Values::F64(_) => Dtype::F64,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Values::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Values::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
}

/// Writes `tensors` (name, shape, values) and string `metadata` to `path`, atomically.
pub fn write(path: &Path, tensors: &[(String, Vec<usize>, Values)], metadata: Option<HashMap<String, String>>) -> Result<()> {
    let bytes: Vec<Vec<u8>> = tensors.iter().map(|(_, _, v)| v.bytes()).collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, v), b)| {
            TensorView::new(v.dtype(), shape.clone(), b)
                .map(|view| (name.clone(), view))
                .map_err(|e| Error::Numerical(format!("safetensors view of {name}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let data = safetensors::serialize(views, &metadata).map_err(|e| Error::Numerical(format!("safetensors: {e}")))?;
    crate::io::write_bytes(path, &data)
}

/// The tensors and metadata of a safetensors file, read whole.
#[derive(Debug)]
pub struct TensorFile {
    pub path: PathBuf,
    /// Name → (shape, values), in no particular order.
    pub tensors: HashMap<String, (Vec<usize>, Values)>,
    pub metadata: HashMap<String, String>,
}

/// Reads `path`; tensors must be F32 or F64.
pub fn read(path: &Path) -> Result<TensorFile> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
    parse(&bytes, path)
}

/// Parses the bytes of a safetensors file (`path` names it in errors: a file, or where
/// embedded weights come from).
pub fn parse(bytes: &[u8], path: &Path) -> Result<TensorFile> {
    let not_st = |e: safetensors::SafeTensorError| Error::input(path, format!("not a safetensors file: {e}"));
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(not_st)?;
    let mut tensors = HashMap::new();
    for (name, view) in st.tensors() {
        let b = view.data();
        let values = match view.dtype() {
            Dtype::F32 => Values::F32(b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()),
            Dtype::F64 => Values::F64(b.chunks_exact(8).map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect()),
            other => return Err(Error::input(path, format!("tensor {name:?} is {other:?}, expected F32 or F64"))),
        };
        tensors.insert(name, (view.shape().to_vec(), values));
    }
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).map_err(not_st)?;
    let metadata = meta.metadata().clone().unwrap_or_default();
    Ok(TensorFile { path: path.to_path_buf(), tensors, metadata })
}

impl TensorFile {
    fn take(&mut self, name: &str, dtype: Dtype, shape: &[usize], why: &str) -> Result<Values> {
        let (got, values) = self.tensors.remove(name).ok_or_else(|| Error::input(&self.path, format!("tensor {name:?}: not in the file")))?;
        if values.dtype() != dtype || got != shape {
            return Err(Error::input(
                &self.path,
                format!("tensor {name:?} is {:?} {got:?}, expected {dtype:?} {shape:?}{why}", values.dtype()),
            ));
        }
        Ok(values)
    }

    /// Removes tensor `name`, which must be F32 of `shape` (`why` ends the error message).
    pub fn take_f32(&mut self, name: &str, shape: &[usize], why: &str) -> Result<Vec<f32>> {
        match self.take(name, Dtype::F32, shape, why)? {
            Values::F32(v) => Ok(v),
            Values::F64(_) => unreachable!("dtype checked"),
        }
    }

    /// Removes tensor `name`, which must be F64 of `shape`.
    pub fn take_f64(&mut self, name: &str, shape: &[usize], why: &str) -> Result<Vec<f64>> {
        match self.take(name, Dtype::F64, shape, why)? {
            Values::F64(v) => Ok(v),
            Values::F32(_) => unreachable!("dtype checked"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors_name_the_tensor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.safetensors");
        let meta = HashMap::from([("format".to_string(), "aekit".to_string())]);
        write(&path, &[("a".into(), vec![2, 1], Values::F32(vec![1.5, -2.0])), ("b".into(), vec![1], Values::F64(vec![0.1]))], Some(meta)).unwrap();
        let mut f = read(&path).unwrap();
        assert_eq!(f.metadata["format"], "aekit");
        assert_eq!(f.take_f64("b", &[1], "").unwrap(), vec![0.1]);
        let e = f.take_f64("a", &[2, 1], " as declared").unwrap_err().to_string();
        assert!(e.contains("\"a\" is F32 [2, 1], expected F64 [2, 1] as declared"), "{e}");
        assert!(f.take_f32("zz", &[1], "").unwrap_err().to_string().contains("\"zz\""));
        std::fs::write(&path, b"junk").unwrap();
        assert!(read(&path).unwrap_err().to_string().contains("not a safetensors file"));
    }
}
