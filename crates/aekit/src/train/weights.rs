//! Model weights as safetensors, keyed by module path (`encoder.weight`, `decoder.0.bias`, ...).
//! A weight file that does not match the model built from `config.json` is a clear error.

use std::collections::HashMap;
use std::path::Path;

use burn::module::{ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::prelude::*;

use crate::error::{Error, Result};
use crate::io::tensors::Values;

/// Module path as a dotted name; enum variants (the model registry) are left out.
#[derive(Default)]
struct PathStack(Vec<Option<String>>);

impl PathStack {
    fn enter(&mut self, name: &str, container: &str) {
        self.0.push((!container.starts_with("Enum:")).then(|| name.to_string()));
    }
    fn exit(&mut self) {
        self.0.pop();
    }
    fn name(&self) -> String {
        self.0.iter().flatten().cloned().collect::<Vec<_>>().join(".")
    }
}

#[derive(Default)]
struct Collect {
    path: PathStack,
    out: Vec<(String, Vec<usize>, Vec<f32>)>,
    ids: std::collections::BTreeMap<String, u64>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, container: &str) {
        self.path.enter(name, container);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.exit();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let data = param.val().into_data();
        let shape = data.shape().to_vec();
        let values = data.try_into_vec_as::<f32>().unwrap_or_default();
        self.ids.insert(self.path.name(), param.id.val());
        self.out.push((self.path.name(), shape, values));
    }
}

/// Writes every float parameter of `model` to `path` (atomically). The parameters' ids go into
/// the metadata (`param_ids`) so that a resumed run's optimizer state, which Burn keys by id,
/// finds its parameters again.
pub fn save<M: Module>(model: &M, path: &Path) -> Result<()> {
    let mut c = Collect::default();
    model.visit(&mut c);
    let tensors: Vec<_> = c.out.into_iter().map(|(name, shape, v)| (name, shape, Values::F32(v))).collect();
    let ids = serde_json::to_string(&c.ids).map_err(|e| Error::Numerical(format!("param ids: {e}")))?;
    let meta = HashMap::from([("param_ids".to_string(), ids), ("format".to_string(), "aekit".to_string())]);
    crate::io::tensors::write(path, &tensors, Some(meta))
}

struct Load {
    path: PathStack,
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
    ids: HashMap<String, u64>,
    errors: Vec<String>,
}

impl ModuleMapper for Load {
    fn enter_module(&mut self, name: &str, container: &str) {
        self.path.enter(name, container);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.exit();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let name = self.path.name();
        let want = param.val().dims().to_vec();
        match self.tensors.remove(&name) {
            None => {
                self.errors.push(format!("tensor {name:?} {want:?} is missing"));
                param
            }
            Some((shape, _)) if shape != want => {
                self.errors.push(format!("tensor {name:?} is {shape:?}, the model from config.json expects {want:?}"));
                param
            }
            Some((shape, values)) => {
                let device = param.val().device();
                let t = Tensor::<D>::from_data(TensorData::new(values, shape), &device);
                let id = self.ids.get(&name).map(|&v| ParamId::from(v)).unwrap_or(param.id);
                param.transform_for_load(t, id)
            }
        }
    }
}

/// Loads weights saved by [`save`] into `model`, checking every name and shape.
pub fn load<M: Module>(model: M, path: &Path) -> Result<M> {
    from_file(model, crate::io::tensors::read(path)?, path)
}

/// [`load`] from the bytes of a weights file (`name` stands for the file in errors).
pub fn load_bytes<M: Module>(model: M, bytes: &[u8], name: &Path) -> Result<M> {
    from_file(model, crate::io::tensors::parse(bytes, name)?, name)
}

fn from_file<M: Module>(model: M, file: crate::io::tensors::TensorFile, path: &Path) -> Result<M> {
    let mut tensors = HashMap::new();
    for (name, (shape, values)) in file.tensors {
        match values {
            Values::F32(v) => tensors.insert(name, (shape, v)),
            Values::F64(_) => return Err(Error::input(path, format!("tensor {name:?} is F64, expected F32"))),
        };
    }
    let ids: HashMap<String, u64> = file.metadata.get("param_ids").and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
    let mut loader = Load { path: PathStack::default(), tensors, ids, errors: Vec::new() };
    let model = model.map(&mut loader);
    let mut errors = loader.errors;
    let mut extra: Vec<&String> = loader.tensors.keys().collect();
    extra.sort();
    errors.extend(extra.into_iter().map(|n| format!("tensor {n:?} is not part of the model")));
    if !errors.is_empty() {
        return Err(Error::input(path, format!("weights do not match config.json: {}", errors.join("; "))));
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SampleShape;
    use crate::models::linear::LinearAeConfig;
    use crate::models::{Autoencoder, ModelConfig};

    fn linear(latent: usize) -> ModelConfig {
        ModelConfig::Linear(LinearAeConfig::new(SampleShape::Tabular { features: 6 }, latent))
    }

    #[test]
    fn weights_round_trip_and_mismatch_is_an_input_error() {
        let device = Device::flex();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let m = linear(3).init(&device).unwrap();
        save(&m, &path).unwrap();
        let loaded = load(linear(3).init(&device).unwrap(), &path).unwrap();
        let (crate::models::Model::Linear(a), crate::models::Model::Linear(b)) = (&m, &loaded) else { unreachable!() };
        assert_eq!(a.decoder_basis(), b.decoder_basis());
        let err = load(linear(4).init(&device).unwrap(), &path).unwrap_err();
        assert!(err.is_bad_input(), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("\"encoder.weight\" is [6, 3]") && msg.contains("[6, 4]"), "{msg}");
    }
}
