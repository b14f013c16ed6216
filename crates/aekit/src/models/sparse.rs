//! The sparse autoencoder: the dense autoencoder plus an L1 activity penalty on the code,
//! loss = reconstruction (mean per value) + l1 · mean over the batch of Σ_j |z_j|
//! (Keras's `activity_regularizer=l1(..)` convention).

use burn::prelude::*;

use super::dense::{DenseAe, DenseAeConfig};
use super::{ModelSpec, reconstruction_loss, Autoencoder, Output};
use crate::data::SampleShape;
use crate::error::{Error, Result};
use crate::loss::Loss;

#[derive(Config, Debug)]
pub struct SparseAeConfig {
    /// The underlying dense autoencoder.
    pub dense: DenseAeConfig,
    /// Weight of the L1 penalty on the latent code.
    #[config(default = 1e-4)]
    pub l1: f64,
}

impl SparseAeConfig {
    pub fn init(&self, device: &Device) -> SparseAe {
        SparseAe { dense: self.dense.init(device), l1: self.l1 }
    }
}

impl ModelSpec for SparseAeConfig {
    fn name(&self) -> &'static str {
        "sparse"
    }
    fn input_shape(&self) -> SampleShape {
        self.dense.input
    }
    fn validate(&self) -> Result<()> {
        if !(self.l1 >= 0.0 && self.l1.is_finite()) {
            return Err(Error::arg("l1", format!("{}: expected a non-negative weight", self.l1)));
        }
        self.dense.validate()
    }
}

#[derive(Module, Debug)]
pub struct SparseAe {
    pub dense: DenseAe,
    #[module(skip)]
    l1: f64,
}

impl Autoencoder for SparseAe {
    fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        self.dense.encode(x)
    }
    fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        self.dense.decode(z)
    }
    fn output(&self) -> Output {
        self.dense.output()
    }
    fn loss_kind(&self) -> Loss {
        self.dense.loss_kind()
    }
    fn loss_description(&self) -> String {
        format!("{}, mean per value, plus {} x mean over samples of the code's L1 norm", self.loss_kind().name(), self.l1)
    }
    fn loss(&self, x: Tensor<2>, target: Tensor<2>, _noise: Option<Tensor<2>>) -> Tensor<1> {
        let z = self.encode(x);
        let [b, _] = z.dims();
        let penalty = z.clone().abs().sum() / b as f64 * self.l1;
        reconstruction_loss(self.decode(z), target, self.output(), self.loss_kind()) + penalty
    }
}

/// `--model sparse`.
pub fn from_options(input: SampleShape, o: &super::ModelOptions) -> Result<super::ModelConfig> {
    Ok(super::ModelConfig::Sparse(o.sparse(input)))
}
