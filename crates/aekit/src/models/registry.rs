//! The names a front end offers for `--model`, each a builder from [`ModelOptions`] and its
//! training defaults. Presets (`vae-mnist`, `vae-large`) are names for fixed configurations of
//! a model. One list, so the program, the Python package and the HTTP server offer the same
//! models with the same defaults.

use super::conv::ConvAeConfig;
use super::conv_vae::ConvVaeConfig;
use super::dense::DenseAeConfig;
use super::linear::LinearAeConfig;
use super::restore::RestoreNetConfig;
use super::sparse::SparseAeConfig;
use super::vae::{Likelihood, VaeConfig};
use super::{Activation, ModelConfig, Output};
use crate::data::SampleShape;
use crate::error::{Error, Result};
use crate::loss::{Loss, Reduction};

/// Settings a user may give any model; each builder reads those its model has and leaves the
/// rest. `None` keeps the model's default.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ModelOptions {
    /// Latent size (a dense bottleneck for `conv`).
    pub latent: Option<usize>,
    /// Dense hidden sizes.
    pub hidden: Option<Vec<usize>>,
    /// Convolution channels per layer.
    pub channels: Option<Vec<usize>>,
    /// Kernel size of each convolution (`srcnn`, `subpixel`).
    pub kernels: Option<Vec<usize>>,
    pub activation: Option<Activation>,
    /// No activation on a dense code.
    pub linear_latent: bool,
    pub loss: Option<Loss>,
    pub output: Option<Output>,
    /// Weight of a VAE's KL term.
    pub beta: Option<f64>,
    pub likelihood: Option<Likelihood>,
    /// Weight of the sparse model's L1 penalty on the code.
    pub l1: Option<f64>,
    /// Upsampling factor of models that take the low-resolution image (`subpixel`).
    pub scale: Option<usize>,
    /// Convolutions in all (`dncnn`, `vdsr`).
    pub depth: Option<usize>,
    /// Batch normalisation after hidden convolutions (`dncnn`, `vdsr`).
    #[serde(default)]
    pub batch_norm: bool,
    /// Columns per row of a series window (set by the series detector; `conv1d`).
    pub series_channels: Option<usize>,
}

/// One name `--model` accepts.
pub struct Preset {
    pub name: &'static str,
    /// One line for `--help`.
    pub help: &'static str,
    pub build: fn(SampleShape, &ModelOptions) -> Result<ModelConfig>,
    /// How training combines a batch's losses unless the user says otherwise.
    pub reduction: Reduction,
}

const fn preset(name: &'static str, help: &'static str, build: fn(SampleShape, &ModelOptions) -> Result<ModelConfig>) -> Preset {
    Preset { name, help, build, reduction: Reduction::Mean }
}

/// Every model name, in the order `--help` lists them.
pub const PRESETS: &[Preset] = &[
    preset("linear", "z = W_e x + b_e, y = W_d z + b_d, MSE (spans PCA's subspace)", super::linear::from_options),
    preset("dense", "dense encoder and mirrored decoder (--hidden, --latent)", super::dense::from_options),
    preset("conv", "stride-2 conv encoder, transposed-conv decoder (--channels; --latent adds a dense bottleneck)", super::conv::from_options),
    preset("conv1d", "series windows: stride-2 1-D convolutions along time, dense bottleneck (--channels, --latent; needs --window)", super::conv1d::from_options),
    preset("sparse", "dense autoencoder with an L1 penalty on the code (--l1)", super::sparse::from_options),
    preset("vae", "variational autoencoder, dense (--hidden, --latent, --beta, --likelihood)", super::vae::from_options),
    Preset {
        name: "vae-mnist",
        help: "the PyTorch example's VAE exactly: 784-400-(20, 20)-400-784, Bernoulli, summed batch loss",
        build: super::vae::mnist_from_options,
        reduction: Reduction::Sum,
    },
    preset("conv-vae", "convolutional VAE (--channels, --latent, --beta, --likelihood)", super::conv_vae::from_options),
    preset("vae-large", "Burda et al.'s VAE: 784-200-200 tanh, 50 latent, Bernoulli (use with --binarize)", super::vae::large_from_options),
    preset("dae", "restoration: the Keras denoising tutorial's conv autoencoder (3x3 convs + max pooling)", super::restore::dae_from_options),
    preset("srcnn", "restoration: SRCNN 9-5-5, same size in and out (superres: takes the bicubic-upscaled image)", super::restore::srcnn_from_options),
    preset("dncnn", "photo denoising: DnCNN, 3x3 conv + ReLU stack predicting the noise, global skip (--depth, --channels W, --batch-norm)", super::residual::dncnn_from_options),
    preset("unet", "photo denoising: a small residual U-Net, 3x3 convs at full, 1/2 and 1/4 resolution, skips added (--channels W, --depth at 1/4)", super::unet::from_options),
    preset("vdsr", "photo super-resolution: VDSR, the dncnn network on the bicubic upscaling, learning the missing detail", super::residual::vdsr_from_options),
    preset("subpixel", "super-resolution: ESPCN, convolutions on the low-resolution image and a pixel shuffle by --scale", super::restore::subpixel_from_options),
];

/// The preset called `name`.
pub fn find(name: &str) -> Result<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name).ok_or_else(|| {
        let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
        Error::arg("model", format!("{name:?}: expected one of {}", names.join(", ")))
    })
}

/// The configuration of model `name` for data of `input`, with `opts` applied.
pub fn build(name: &str, input: SampleShape, opts: &ModelOptions) -> Result<ModelConfig> {
    let config = (find(name)?.build)(input, opts)?;
    config.validate()?;
    Ok(config)
}

/// Refuses tables for models of pixels in [0, 1].
pub(crate) fn images_only(model: &str, input: SampleShape) -> Result<()> {
    match input {
        SampleShape::Tabular { .. } => Err(Error::arg(
            "model",
            format!("the {model} model models pixels in [0, 1]; for CSV tables use --model dense (columns are standardized)"),
        )),
        SampleShape::Image { .. } => Ok(()),
    }
}

/// Dense models on tables: standardized columns are not in [0, 1], so the output is the
/// identity, the loss MSE and the code linear, unless the options say otherwise.
pub(crate) fn dense_config(input: SampleShape, o: &ModelOptions) -> DenseAeConfig {
    let tabular = matches!(input, SampleShape::Tabular { .. });
    let mut c = DenseAeConfig::new(input);
    if let Some(h) = &o.hidden {
        c.hidden = h.clone();
    }
    c.latent = o.latent.unwrap_or(c.latent);
    c.activation = o.activation.unwrap_or(c.activation);
    c.latent_activation &= !(o.linear_latent || tabular);
    let (loss, output) = if tabular { (Loss::Mse, Output::Identity) } else { (c.loss, c.output) };
    c.loss = o.loss.unwrap_or(loss);
    c.output = o.output.unwrap_or(output);
    c
}

// The builders of the models whose files hold several names.
impl ModelOptions {
    pub(crate) fn vae(&self, mut c: VaeConfig) -> VaeConfig {
        if let Some(h) = &self.hidden {
            c.hidden = h.clone();
        }
        c.latent = self.latent.unwrap_or(c.latent);
        c.activation = self.activation.unwrap_or(c.activation);
        c.beta = self.beta.unwrap_or(c.beta);
        c.likelihood = self.likelihood.unwrap_or(c.likelihood);
        c
    }

    pub(crate) fn conv_vae(&self, mut c: ConvVaeConfig) -> ConvVaeConfig {
        if let Some(ch) = &self.channels {
            c.channels = ch.clone();
        }
        c.latent = self.latent.unwrap_or(c.latent);
        c.activation = self.activation.unwrap_or(c.activation);
        c.beta = self.beta.unwrap_or(c.beta);
        c.likelihood = self.likelihood.unwrap_or(c.likelihood);
        c
    }

    pub(crate) fn restore(&self, mut c: RestoreNetConfig) -> RestoreNetConfig {
        if let Some(ch) = &self.channels {
            c.channels = ch.clone();
        }
        if let Some(k) = &self.kernels {
            c.kernels = k.clone();
        }
        c.loss = self.loss.unwrap_or(c.loss);
        c.output = self.output.unwrap_or(c.output);
        c
    }

    pub(crate) fn conv(&self, mut c: ConvAeConfig) -> ConvAeConfig {
        if let Some(ch) = &self.channels {
            c.channels = ch.clone();
        }
        c.latent = self.latent.or(c.latent);
        c.activation = self.activation.unwrap_or(c.activation);
        c.loss = self.loss.unwrap_or(c.loss);
        c.output = self.output.unwrap_or(c.output);
        c
    }

    pub(crate) fn linear(&self, input: SampleShape) -> LinearAeConfig {
        LinearAeConfig::new(input, self.latent.unwrap_or(32))
    }

    pub(crate) fn sparse(&self, input: SampleShape) -> SparseAeConfig {
        let mut c = SparseAeConfig::new(dense_config(input, self));
        c.l1 = self.l1.unwrap_or(c.l1);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMG: SampleShape = SampleShape::Image { channels: 1, height: 28, width: 28 };

    #[test]
    fn every_name_builds_on_images_and_names_itself() {
        // conv1d takes windows of a series only: built with the column count the series
        // detector gives, refused without it.
        let windows = SampleShape::Tabular { features: 64 };
        assert!(build("conv1d", windows, &ModelOptions::default()).is_err());
        let c = build("conv1d", windows, &ModelOptions { series_channels: Some(2), ..ModelOptions::default() }).unwrap();
        assert_eq!(c.name(), "conv1d");
        for p in PRESETS.iter().filter(|p| p.name != "conv1d") {
            let c = build(p.name, IMG, &ModelOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", p.name));
            let base = p.name.split('-').next().unwrap_or(p.name);
            assert!(c.name().starts_with(base), "{} built {}", p.name, c.name());
        }
        assert!(find("nope").is_err());
    }

    #[test]
    fn tables_get_identity_outputs_and_no_vaes() {
        let t = SampleShape::Tabular { features: 30 };
        let ModelConfig::Dense(c) = build("dense", t, &ModelOptions::default()).unwrap() else { panic!("dense") };
        assert_eq!((c.output, c.loss, c.latent_activation), (Output::Identity, Loss::Mse, false));
        let ModelConfig::Dense(c) = build("dense", IMG, &ModelOptions::default()).unwrap() else { panic!("dense") };
        assert_eq!((c.output, c.loss, c.latent_activation), (Output::Sigmoid, Loss::Bce, true));
        assert!(build("vae", t, &ModelOptions::default()).is_err());
    }

    #[test]
    fn vae_mnist_sums_and_options_reach_the_config() {
        assert_eq!(find("vae-mnist").unwrap().reduction, Reduction::Sum);
        let o = ModelOptions { latent: Some(2), hidden: Some(vec![64]), ..ModelOptions::default() };
        let ModelConfig::Vae(c) = build("vae", IMG, &o).unwrap() else { panic!("vae") };
        assert_eq!((c.latent, c.hidden.clone()), (2, vec![64]));
        assert_eq!(build("subpixel", IMG, &ModelOptions { scale: Some(4), ..ModelOptions::default() }).unwrap().upscale(), 4);
    }
}
