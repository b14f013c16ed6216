//! The convolutional VAE: the conv autoencoder's strided 3x3 convolutions as encoder, Gaussian
//! posterior heads on the flattened feature map, and a dense layer back to that map before the
//! transposed convolutions. The ELBO is [`Variational`]'s, shared with the dense VAE.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use super::conv::{validate_stack, ConvStack};
use super::vae::{validate_vae, GaussianHead, Likelihood, Variational};
use super::{ModelSpec, Activation, Autoencoder, Output};
use crate::data::SampleShape;
use crate::error::Result;
use crate::loss::Loss;

#[derive(Config, Debug)]
pub struct ConvVaeConfig {
    pub input: SampleShape,
    /// Output channels of each stride-2 encoder convolution; the decoder mirrors them.
    #[config(default = "vec![32, 64]")]
    pub channels: Vec<usize>,
    #[config(default = 20)]
    pub latent: usize,
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    #[config(default = "Likelihood::Bernoulli")]
    pub likelihood: Likelihood,
    #[config(default = 1.0)]
    pub beta: f64,
}

impl ConvVaeConfig {
    pub fn init(&self, device: &Device) -> ConvVae {
        let stack = ConvStack::new(self.input, &self.channels, self.activation, device);
        let flat = stack.flat_features();
        ConvVae {
            head: GaussianHead::new(flat, self.latent, self.likelihood, self.beta, device),
            from_latent: LinearConfig::new(self.latent, flat).init(device),
            stack,
        }
    }
}

impl ModelSpec for ConvVaeConfig {
    fn name(&self) -> &'static str {
        "conv-vae"
    }
    fn input_shape(&self) -> SampleShape {
        self.input
    }
    fn validate(&self) -> Result<()> {
        validate_stack("conv-vae", self.input, &self.channels)?;
        validate_vae(self.latent, self.beta, self.likelihood)
    }
    fn is_variational(&self) -> bool {
        true
    }
}

#[derive(Module, Debug)]
pub struct ConvVae {
    pub stack: ConvStack,
    pub head: GaussianHead,
    pub from_latent: Linear,
}

impl Variational for ConvVae {
    fn features(&self, x: Tensor<2>) -> Tensor<2> {
        self.stack.encode(x)
    }
    fn head(&self) -> &GaussianHead {
        &self.head
    }
}

impl Autoencoder for ConvVae {
    fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        self.posterior(x).0
    }
    fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        self.stack.decode(self.stack.activation().apply(self.from_latent.forward(z)))
    }
    fn output(&self) -> Output {
        Output::Sigmoid
    }
    fn loss_kind(&self) -> Loss {
        self.head.loss_kind()
    }
    fn noise_dim(&self) -> usize {
        self.latent_dim()
    }
    fn loss(&self, x: Tensor<2>, _target: Tensor<2>, noise: Option<Tensor<2>>) -> Tensor<1> {
        self.negative_elbo(x, noise)
    }
    fn loss_description(&self) -> String {
        self.describe_objective()
    }
    fn as_variational(&self) -> Option<&dyn Variational> {
        Some(self)
    }
}

/// `--model conv-vae`.
pub fn from_options(input: SampleShape, o: &super::ModelOptions) -> Result<super::ModelConfig> {
    super::registry::images_only("conv-vae", input)?;
    Ok(super::ModelConfig::ConvVae(o.conv_vae(ConvVaeConfig::new(input))))
}
