//! The linear autoencoder: z = W_e x + b_e, y = W_d z + b_d, trained on the mean squared error.
//! Its optimum spans the same subspace as the first L principal components (Baldi & Hornik 1989).

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use super::{ModelSpec, Autoencoder, Output};
use crate::data::SampleShape;
use crate::error::{Error, Result};
use crate::loss::Loss;

#[derive(Config, Debug)]
pub struct LinearAeConfig {
    pub input: SampleShape,
    pub latent: usize,
}

impl LinearAeConfig {
    pub fn init(&self, device: &Device) -> LinearAe {
        let p = self.input.len();
        LinearAe { encoder: LinearConfig::new(p, self.latent).init(device), decoder: LinearConfig::new(self.latent, p).init(device) }
    }
}

impl ModelSpec for LinearAeConfig {
    fn name(&self) -> &'static str {
        "linear"
    }
    fn input_shape(&self) -> SampleShape {
        self.input
    }
    fn validate(&self) -> Result<()> {
        if self.latent == 0 || self.latent > self.input.len() {
            return Err(Error::arg("latent", format!("{}: expected 1 to {} (the input size)", self.latent, self.input.len())));
        }
        Ok(())
    }
}

#[derive(Module, Debug)]
pub struct LinearAe {
    pub encoder: Linear,
    pub decoder: Linear,
}

impl Autoencoder for LinearAe {
    fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        self.encoder.forward(x)
    }
    fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        self.decoder.forward(z)
    }
    fn output(&self) -> Output {
        Output::Identity
    }
    fn loss_kind(&self) -> Loss {
        Loss::Mse
    }
    /// The decoder's directions in data space, `[L, P]` row-major.
    fn decoder_basis(&self) -> Option<Vec<f32>> {
        // Burn's Linear stores its weight as [d_input, d_output] = [L, P].
        Some(self.decoder.weight.val().into_data().try_into_vec_as::<f32>().unwrap_or_default())
    }
}

/// `--model linear`.
pub fn from_options(input: SampleShape, o: &super::ModelOptions) -> Result<super::ModelConfig> {
    Ok(super::ModelConfig::Linear(o.linear(input)))
}
