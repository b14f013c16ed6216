//! Autoencoder models. Each model is one file with its `#[derive(Config)]` config (which
//! implements [`ModelSpec`] and has Burn's `init`), its module (which implements
//! [`Autoencoder`]) and a `from_options` builder. The [`models!`] line below makes [`ModelConfig`]
//! and [`Model`]; [`registry`] lists the names a front end offers (presets included). A new model
//! is its file, one line in [`models!`] and one in [`registry::PRESETS`].
//!
//! Applications ask capabilities ([`ModelConfig::is_variational`], [`ModelConfig::upscale`],
//! [`Model::variational`], [`Model::image_restorer`], [`Autoencoder::decoder_basis`]), never
//! which variant a model is.
//!
//! Every model maps flat samples `[B, P]` (P = C·H·W for images) to a latent `[B, L]` and back.
//! Decoders return pre-activation outputs; [`Output`] says what turns them into data.

pub mod conv;
pub mod conv1d;
pub mod conv_vae;
pub mod dense;
pub mod linear;
pub mod registry;
pub mod residual;
pub mod restore;
pub mod sparse;
pub mod unet;
pub mod vae;

pub use registry::ModelOptions;

use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use crate::data::SampleShape;
use crate::error::{Error, Result};
use crate::loss::{self, Loss};

/// What maps a decoder's pre-activation output to data space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    Identity,
    /// For data in [0, 1]; required by the BCE loss, which is computed on the logits.
    Sigmoid,
}

/// What every autoencoder does.
pub trait Autoencoder {
    /// # Shapes
    /// `x`: `[B, P]` → `[B, L]`
    fn encode(&self, x: Tensor<2>) -> Tensor<2>;
    /// Pre-activation output (logits when [`Autoencoder::output`] is sigmoid).
    ///
    /// # Shapes
    /// `z`: `[B, L]` → `[B, P]`
    fn decode(&self, z: Tensor<2>) -> Tensor<2>;
    fn output(&self) -> Output;
    fn loss_kind(&self) -> Loss;

    /// Standard-normal values per sample the objective draws (the VAE's ε); 0 for
    /// deterministic models. The trainer supplies them from seeded streams, so training stays
    /// reproducible and resumable.
    fn noise_dim(&self) -> usize {
        0
    }

    /// Training objective for inputs `x` and targets `target` (equal for plain reconstruction).
    ///
    /// # Shapes
    /// `x`, `target`: `[B, P]`; `noise`: `[B, noise_dim]` when `noise_dim() > 0` → `[1]`
    fn loss(&self, x: Tensor<2>, target: Tensor<2>, _noise: Option<Tensor<2>>) -> Tensor<1> {
        let out = self.decode(self.encode(x));
        reconstruction_loss(out, target, self.output(), self.loss_kind())
    }

    /// What the objective is and how it is reduced, for reports.
    fn loss_description(&self) -> String {
        format!("{}, mean per value over all samples and pixels", self.loss_kind().name())
    }

    /// Reconstruction in data space.
    ///
    /// # Shapes
    /// `x`: `[B, P]` → `[B, P]`
    fn reconstruct(&self, x: Tensor<2>) -> Tensor<2> {
        activate(self.decode(self.encode(x)), self.output())
    }

    /// The model as a VAE, when it is one.
    fn as_variational(&self) -> Option<&dyn vae::Variational> {
        None
    }

    /// The model as a fully convolutional image restorer (runs on images of any size), when it
    /// is one.
    fn as_image_restorer(&self) -> Option<&dyn ImageRestorer> {
        None
    }

    /// For linear decoders: the decoder's directions in data space, `[L, P]` row-major (their
    /// span is the subspace the model reconstructs in).
    fn decoder_basis(&self) -> Option<Vec<f32>> {
        None
    }
}

/// A fully convolutional restoration network: it runs on whole images of any size (sides
/// divisible by [`ImageRestorer::size_multiple`]), which is what lets restoration tile large
/// photos without seams.
pub trait ImageRestorer {
    /// In data space (the output activation applied).
    ///
    /// # Shapes
    /// `x`: `[B, C, h, w]` → `[B, C, h·s, w·s]` with s = [`ImageRestorer::upscale`]
    fn restore_image(&self, x: Tensor<4>) -> Tensor<4>;
    /// Input sides must be multiples of this (pooling levels).
    fn size_multiple(&self) -> usize;
    /// Pixels of context each output pixel depends on, on each side (in input pixels): a bound
    /// used to choose the overlap of tiles.
    fn receptive_radius(&self) -> usize;
    /// The output's size over the input's.
    fn upscale(&self) -> usize;
}

/// Applies the output activation.
pub fn activate(out: Tensor<2>, output: Output) -> Tensor<2> {
    match output {
        Output::Identity => out,
        Output::Sigmoid => sigmoid(out),
    }
}

/// The reconstruction loss of a pre-activation output.
pub fn reconstruction_loss(out: Tensor<2>, target: Tensor<2>, output: Output, kind: Loss) -> Tensor<1> {
    match (kind, output) {
        (Loss::Bce, Output::Sigmoid) => loss::bce_with_logits(out, target),
        (Loss::Bce, Output::Identity) => unreachable!("rejected by ModelConfig::validate"),
        (Loss::Mse, Output::Sigmoid) => loss::mse_of_sigmoid(out, target),
        (Loss::Mse, Output::Identity) => loss::mse(out, target),
    }
}

/// A stack of dense layers with `activation` after each one, except the last unless
/// `activate_last`.
///
/// # Shapes
/// `x`: `[B, first layer's input]` → `[B, last layer's output]`
pub(crate) fn mlp(layers: &[burn::nn::Linear], x: Tensor<2>, activation: Activation, activate_last: bool) -> Tensor<2> {
    let last = layers.len().saturating_sub(1);
    layers.iter().enumerate().fold(x, |h, (i, layer)| {
        let h = layer.forward(h);
        if i < last || activate_last {
            activation.apply(h)
        } else {
            h
        }
    })
}

/// Hidden-layer activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Relu,
    Sigmoid,
    Tanh,
}

impl Activation {
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => burn::tensor::activation::relu(x),
            Activation::Sigmoid => burn::tensor::activation::sigmoid(x),
            Activation::Tanh => burn::tensor::activation::tanh(x),
        }
    }
}

/// What a model's configuration says about the model, before it is built. Each model's
/// config implements it; [`ModelConfig`] forwards to it.
pub trait ModelSpec {
    /// The model's name on the command line and in reports.
    fn name(&self) -> &'static str;
    /// The sample shape the model takes (the clean data's).
    fn input_shape(&self) -> SampleShape;
    /// Checks the configuration before anything is built.
    fn validate(&self) -> Result<()>;
    /// Whether the model is a VAE (a posterior, an ELBO, samples from the prior).
    fn is_variational(&self) -> bool {
        false
    }
    /// How many times larger the output is than the model's input (super-resolution networks
    /// that take the low-resolution image); 1 for every other model.
    fn upscale(&self) -> usize {
        1
    }
}

/// Makes the two registries from one list: [`ModelConfig`] (serialized in every run's
/// `config.json` under the tag `model`, so a run can always rebuild its model) and [`Model`]
/// (the built module), with the dispatch between them.
macro_rules! models {
    ($($(#[$doc:meta])* $variant:ident($config:ty => $module:ty)),* $(,)?) => {
        /// The configuration of any model.
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "model", rename_all = "snake_case")]
        pub enum ModelConfig {
            $($(#[$doc])* $variant($config)),*
        }

        /// A built model of any kind.
        #[derive(Module, Debug)]
        pub enum Model {
            $($variant($module)),*
        }

        impl ModelConfig {
            fn spec(&self) -> &dyn ModelSpec {
                match self {
                    $(ModelConfig::$variant(c) => c),*
                }
            }

            /// Builds the model with fresh weights on `device` (seed the device first for
            /// reproducible weights).
            pub fn init(&self, device: &Device) -> Result<Model> {
                self.validate()?;
                Ok(match self {
                    $(ModelConfig::$variant(c) => Model::$variant(c.init(device))),*
                })
            }
        }

        impl Model {
            fn inner(&self) -> &dyn Autoencoder {
                match self {
                    $(Model::$variant(m) => m),*
                }
            }
        }
    };
}

models! {
    Linear(linear::LinearAeConfig => linear::LinearAe),
    Dense(dense::DenseAeConfig => dense::DenseAe),
    Conv(conv::ConvAeConfig => conv::ConvAe),
    Sparse(sparse::SparseAeConfig => sparse::SparseAe),
    Vae(vae::VaeConfig => vae::Vae),
    ConvVae(conv_vae::ConvVaeConfig => conv_vae::ConvVae),
    /// `dae`, `srcnn` and `subpixel` (one config, named by its `arch`).
    Restore(restore::RestoreNetConfig => restore::RestoreNet),
    /// `dncnn` and `vdsr` (one config, named by its `kind`).
    Residual(residual::ResidualNetConfig => residual::ResidualNet),
    Unet(unet::UNetConfig => unet::UNet),
    Conv1d(conv1d::Conv1dAeConfig => conv1d::Conv1dAe),
}

impl ModelConfig {
    /// The model's name on the command line.
    pub fn name(&self) -> &'static str {
        self.spec().name()
    }

    /// The sample shape the model takes.
    pub fn input_shape(&self) -> SampleShape {
        self.spec().input_shape()
    }

    /// Checks the configuration before anything is built.
    pub fn validate(&self) -> Result<()> {
        self.spec().validate()
    }

    /// Whether the model is a VAE.
    pub fn is_variational(&self) -> bool {
        self.spec().is_variational()
    }

    /// The output's size over the input's (1 but for super-resolution networks that take the
    /// low-resolution image).
    pub fn upscale(&self) -> usize {
        self.spec().upscale()
    }

    /// Checks that data of `shape` fits the model.
    pub fn check_data(&self, shape: SampleShape) -> Result<()> {
        let want = self.input_shape();
        if want != shape {
            return Err(Error::Shape(format!(
                "the {} model takes {want} samples, the data has {shape}",
                self.name()
            )));
        }
        Ok(())
    }
}

impl Model {
    /// The model as a VAE, when it is one.
    pub fn variational(&self) -> Option<&dyn vae::Variational> {
        self.inner().as_variational()
    }

    /// The model as a fully convolutional image restorer, when it is one.
    pub fn image_restorer(&self) -> Option<&dyn ImageRestorer> {
        self.inner().as_image_restorer()
    }
}

impl Autoencoder for Model {
    fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        self.inner().encode(x)
    }
    fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        self.inner().decode(z)
    }
    fn output(&self) -> Output {
        self.inner().output()
    }
    fn loss_kind(&self) -> Loss {
        self.inner().loss_kind()
    }
    fn noise_dim(&self) -> usize {
        self.inner().noise_dim()
    }
    fn loss(&self, x: Tensor<2>, target: Tensor<2>, noise: Option<Tensor<2>>) -> Tensor<1> {
        self.inner().loss(x, target, noise)
    }
    fn loss_description(&self) -> String {
        self.inner().loss_description()
    }
    fn as_variational(&self) -> Option<&dyn vae::Variational> {
        self.inner().as_variational()
    }
    fn as_image_restorer(&self) -> Option<&dyn ImageRestorer> {
        self.inner().as_image_restorer()
    }
    fn decoder_basis(&self) -> Option<Vec<f32>> {
        self.inner().decoder_basis()
    }
}

pub(crate) fn check_loss_output(loss: Loss, output: Output) -> Result<()> {
    if loss == Loss::Bce && output != Output::Sigmoid {
        return Err(Error::arg("loss", "bce needs the sigmoid output (data in [0, 1])"));
    }
    Ok(())
}
