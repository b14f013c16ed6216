//! The convolutional VAE: the conv autoencoder's strided 3x3 convolutions as encoder, Gaussian
//! posterior heads on the flattened feature map, and a dense layer back to that map before the
//! transposed convolutions. The ELBO is [`Variational`]'s, shared with the dense VAE.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;

use super::vae::{log_sigma_param, validate_vae, Likelihood, Variational};
use super::{Activation, Autoencoder, Output};
use crate::data::SampleShape;
use crate::error::{Error, Result};
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
    fn image(&self) -> Result<(usize, usize, usize)> {
        match self.input {
            SampleShape::Image { channels, height, width } => Ok((channels, height, width)),
            other => Err(Error::Shape(format!("the conv-vae model takes images, the data has {other}"))),
        }
    }

    pub fn validate(&self) -> Result<()> {
        let (_, h, w) = self.image()?;
        if self.channels.is_empty() || self.channels.contains(&0) {
            return Err(Error::arg("channels", format!("{:?}: expected one or more positive channel counts", self.channels)));
        }
        let f = 1usize << self.channels.len();
        if h % f != 0 || w % f != 0 {
            return Err(Error::Shape(format!(
                "the conv-vae model with {} stride-2 layers needs image sides divisible by {f}; the data is {h}x{w}",
                self.channels.len()
            )));
        }
        validate_vae(self.latent, self.beta, self.likelihood)
    }

    pub fn init(&self, device: &Device) -> ConvVae {
        let (c_in, h, w) = self.image().expect("validated");
        let f = 1usize << self.channels.len();
        let feature = vec![*self.channels.last().expect("validated"), h / f, w / f];
        let flat = feature.iter().product();
        let mut chans = vec![c_in];
        chans.extend(&self.channels);
        ConvVae {
            encoder: chans
                .windows(2)
                .map(|c| Conv2dConfig::new([c[0], c[1]], [3, 3]).with_stride([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(device))
                .collect(),
            mu: LinearConfig::new(flat, self.latent).init(device),
            logvar: LinearConfig::new(flat, self.latent).init(device),
            from_latent: LinearConfig::new(self.latent, flat).init(device),
            decoder: chans
                .windows(2)
                .rev()
                .map(|c| {
                    ConvTranspose2dConfig::new([c[1], c[0]], [3, 3]).with_stride([2, 2]).with_padding([1, 1]).with_padding_out([1, 1]).init(device)
                })
                .collect(),
            log_sigma: log_sigma_param(self.likelihood, device),
            input: self.input.dims(),
            feature,
            activation: self.activation,
            likelihood: self.likelihood,
            beta: self.beta,
            latent: self.latent,
        }
    }
}

#[derive(Module, Debug)]
pub struct ConvVae {
    pub encoder: Vec<Conv2d>,
    pub mu: Linear,
    pub logvar: Linear,
    pub from_latent: Linear,
    pub decoder: Vec<ConvTranspose2d>,
    pub log_sigma: Option<burn::module::Param<Tensor<1>>>,
    #[module(skip)]
    input: Vec<usize>,
    #[module(skip)]
    feature: Vec<usize>,
    #[module(skip)]
    activation: Activation,
    #[module(skip)]
    likelihood: Likelihood,
    #[module(skip)]
    beta: f64,
    #[module(skip)]
    latent: usize,
}

impl Variational for ConvVae {
    fn posterior(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let [b, _] = x.dims();
        let img: Tensor<4> = x.reshape([b, self.input[0], self.input[1], self.input[2]]);
        let h = self.encoder.iter().fold(img, |h, conv| self.activation.apply(conv.forward(h)));
        let flat: Tensor<2> = h.reshape([b as i64, -1]);
        (self.mu.forward(flat.clone()), self.logvar.forward(flat))
    }
    fn latent_dim(&self) -> usize {
        self.latent
    }
    fn likelihood(&self) -> Likelihood {
        self.likelihood
    }
    fn log_sigma(&self) -> Option<Tensor<1>> {
        self.log_sigma.as_ref().map(|p| p.val())
    }
    fn beta(&self) -> f64 {
        self.beta
    }
}

impl Autoencoder for ConvVae {
    fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        self.posterior(x).0
    }
    fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        let [b, _] = z.dims();
        let h: Tensor<4> = self.activation.apply(self.from_latent.forward(z)).reshape([b, self.feature[0], self.feature[1], self.feature[2]]);
        let last = self.decoder.len() - 1;
        let out = self.decoder.iter().enumerate().fold(h, |h, (i, deconv)| {
            let h = deconv.forward(h);
            if i < last {
                self.activation.apply(h)
            } else {
                h
            }
        });
        out.reshape([b as i64, -1])
    }
    fn output(&self) -> Output {
        Output::Sigmoid
    }
    fn loss_kind(&self) -> Loss {
        match self.likelihood {
            Likelihood::Bernoulli => Loss::Bce,
            Likelihood::Gaussian { .. } => Loss::Mse,
        }
    }
    fn noise_dim(&self) -> usize {
        self.latent
    }
    fn loss(&self, x: Tensor<2>, _target: Tensor<2>, noise: Option<Tensor<2>>) -> Tensor<1> {
        self.negative_elbo(x, noise)
    }
    fn loss_description(&self) -> String {
        self.describe_objective()
    }
}
