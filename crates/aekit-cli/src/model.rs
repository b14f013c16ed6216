//! The one builder of model configurations from command-line options: `train`, `anomaly fit`
//! and `bench one-class` flatten [`ModelFlags`] and name the model with [`names`], so every
//! command offers the library's registry with the same defaults.

use aekit::data::SampleShape;
use aekit::loss::Loss;
use aekit::models::registry::{self, ModelOptions};
use aekit::models::vae::Likelihood;
use aekit::models::{Activation, ModelConfig, Output};
use clap::builder::{PossibleValue, PossibleValuesParser};

/// The `--model` values: every name in the library's registry, with its help line.
pub fn names() -> PossibleValuesParser {
    PossibleValuesParser::new(registry::PRESETS.iter().map(|p| PossibleValue::new(p.name).help(p.help)))
}

/// Model settings; each model reads those it has (see `aekit::models::registry`).
#[derive(clap::Args, Debug, Clone)]
pub struct ModelFlags {
    /// Latent size (linear, dense, VAEs; for conv it adds a dense bottleneck).
    #[arg(long)]
    pub latent: Option<usize>,
    /// Dense hidden sizes, comma-separated (default 128,64).
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// Conv channels per stride-2 layer, comma-separated (default 32,64; dae 32,32; srcnn and
    /// subpixel 64,32: one per hidden convolution).
    #[arg(long, value_delimiter = ',')]
    pub channels: Option<Vec<usize>>,
    /// srcnn, subpixel: kernel size of each convolution, the output one included (default
    /// srcnn 9,5,5; subpixel 5,3,3).
    #[arg(long, value_delimiter = ',')]
    pub kernels: Option<Vec<usize>>,
    #[arg(long, value_enum)]
    pub activation: Option<ActivationArg>,
    /// Dense and sparse models: no activation on the latent code (by default it gets the hidden
    /// layers' activation, as in the Keras tutorial; ReLU codes can have dead units; tables
    /// always get a linear code).
    #[arg(long)]
    pub linear_latent: bool,
    /// Reconstruction loss (dense default bce, conv default mse; linear is always mse; tables
    /// default to mse).
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
    /// Output activation (default sigmoid, identity for tables; linear is always identity).
    #[arg(long, value_enum)]
    pub output: Option<OutputArg>,
    /// VAE: weight of the KL term (beta-VAE); 1 is the ELBO.
    #[arg(long)]
    pub beta: Option<f64>,
    /// VAE: the decoder's likelihood.
    #[arg(long, value_enum)]
    pub likelihood: Option<LikelihoodArg>,
    /// VAE with Gaussian likelihood: a fixed standard deviation (default: learned).
    #[arg(long)]
    pub sigma: Option<f64>,
    /// Weight of the sparse model's L1 penalty on the code.
    #[arg(long)]
    pub l1: Option<f64>,
    /// dncnn, vdsr: convolutions in all (default 8); --channels W sets their width (default 48).
    /// unet: convolutions at quarter resolution (default 2); --channels W its full-resolution
    /// width (default 32).
    #[arg(long)]
    pub depth: Option<usize>,
    /// dncnn, vdsr: batch normalisation after each hidden convolution.
    #[arg(long)]
    pub batch_norm: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum LikelihoodArg {
    Bernoulli,
    Gaussian,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ActivationArg {
    Relu,
    Sigmoid,
    Tanh,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum LossArg {
    Mse,
    Bce,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum OutputArg {
    Sigmoid,
    Identity,
}

impl ModelFlags {
    /// The library's options; `scale` is the super-resolution factor (`train --scale`).
    pub fn options(&self, scale: Option<usize>) -> ModelOptions {
        ModelOptions {
            latent: self.latent,
            hidden: self.hidden.clone(),
            channels: self.channels.clone(),
            kernels: self.kernels.clone(),
            activation: self.activation.map(|x| match x {
                ActivationArg::Relu => Activation::Relu,
                ActivationArg::Sigmoid => Activation::Sigmoid,
                ActivationArg::Tanh => Activation::Tanh,
            }),
            linear_latent: self.linear_latent,
            loss: self.loss.map(|l| match l {
                LossArg::Mse => Loss::Mse,
                LossArg::Bce => Loss::Bce,
            }),
            output: self.output.map(|o| match o {
                OutputArg::Sigmoid => Output::Sigmoid,
                OutputArg::Identity => Output::Identity,
            }),
            beta: self.beta,
            likelihood: self.likelihood.map(|l| match l {
                LikelihoodArg::Bernoulli => Likelihood::Bernoulli,
                LikelihoodArg::Gaussian => Likelihood::Gaussian { sigma: self.sigma },
            }),
            l1: self.l1,
            scale,
            depth: self.depth,
            batch_norm: self.batch_norm,
            series_channels: None,
        }
    }

    /// The configuration of model `name` for data of `input`.
    pub fn build(&self, name: &str, input: SampleShape, scale: Option<usize>) -> aekit::Result<ModelConfig> {
        registry::build(name, input, &self.options(scale))
    }
}
