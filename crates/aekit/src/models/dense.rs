//! The deep dense autoencoder: P → hidden... → L → ...hidden reversed → P.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use super::{ModelSpec, check_loss_output, mlp, Activation, Autoencoder, Output};
use crate::data::SampleShape;
use crate::error::{Error, Result};
use crate::loss::Loss;

#[derive(Config, Debug)]
pub struct DenseAeConfig {
    pub input: SampleShape,
    /// Encoder hidden sizes; the decoder mirrors them.
    #[config(default = "vec![128, 64]")]
    pub hidden: Vec<usize>,
    #[config(default = 32)]
    pub latent: usize,
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    /// Apply the activation to the latent code too (as the Keras tutorial's deep autoencoder does).
    #[config(default = true)]
    pub latent_activation: bool,
    #[config(default = "Output::Sigmoid")]
    pub output: Output,
    #[config(default = "Loss::Bce")]
    pub loss: Loss,
}

impl DenseAeConfig {
    pub fn init(&self, device: &Device) -> DenseAe {
        let mut sizes = vec![self.input.len()];
        sizes.extend(&self.hidden);
        sizes.push(self.latent);
        let encoder = sizes.windows(2).map(|w| LinearConfig::new(w[0], w[1]).init(device)).collect();
        let decoder = sizes.windows(2).rev().map(|w| LinearConfig::new(w[1], w[0]).init(device)).collect();
        DenseAe {
            encoder,
            decoder,
            activation: self.activation,
            latent_activation: self.latent_activation,
            output: self.output,
            loss: self.loss,
        }
    }
}

impl ModelSpec for DenseAeConfig {
    fn name(&self) -> &'static str {
        "dense"
    }
    fn input_shape(&self) -> SampleShape {
        self.input
    }
    fn validate(&self) -> Result<()> {
        if self.latent == 0 || self.hidden.contains(&0) {
            return Err(Error::arg("dense layer sizes", format!("hidden {:?}, latent {}: sizes must be positive", self.hidden, self.latent)));
        }
        check_loss_output(self.loss, self.output)
    }
}

#[derive(Module, Debug)]
pub struct DenseAe {
    pub encoder: Vec<Linear>,
    pub decoder: Vec<Linear>,
    #[module(skip)]
    activation: Activation,
    #[module(skip)]
    latent_activation: bool,
    #[module(skip)]
    output: Output,
    #[module(skip)]
    loss: Loss,
}

impl Autoencoder for DenseAe {
    fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        mlp(&self.encoder, x, self.activation, self.latent_activation)
    }
    fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        mlp(&self.decoder, z, self.activation, false)
    }
    fn output(&self) -> Output {
        self.output
    }
    fn loss_kind(&self) -> Loss {
        self.loss
    }
}

/// `--model dense` (identity output and MSE for tables: see [`super::registry::dense_config`]).
pub fn from_options(input: SampleShape, o: &super::ModelOptions) -> Result<super::ModelConfig> {
    Ok(super::ModelConfig::Dense(super::registry::dense_config(input, o)))
}
