//! Autoencoder models. Each model is one file with its `#[derive(Config)]` config and its
//! module; [`ModelConfig`] and [`Model`] are the registry: a new model is a new file plus one
//! variant in each enum below.
//!
//! Every model maps flat samples `[B, P]` (P = C·H·W for images) to a latent `[B, L]` and back.
//! Decoders return pre-activation outputs; [`Output`] says what turns them into data.

pub mod conv;
pub mod conv_vae;
pub mod dense;
pub mod linear;
pub mod restore;
pub mod sparse;
pub mod vae;

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
        (Loss::Mse, o) => loss::mse(activate(out, o), target),
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

/// The registry of model configurations; saved as `config.json` in every run folder, so a run
/// can always rebuild its model.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum ModelConfig {
    Linear(linear::LinearAeConfig),
    Dense(dense::DenseAeConfig),
    Conv(conv::ConvAeConfig),
    Sparse(sparse::SparseAeConfig),
    Vae(vae::VaeConfig),
    ConvVae(conv_vae::ConvVaeConfig),
    Restore(restore::RestoreNetConfig),
}

impl ModelConfig {
    /// The model's name on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            ModelConfig::Linear(_) => "linear",
            ModelConfig::Dense(_) => "dense",
            ModelConfig::Conv(_) => "conv",
            ModelConfig::Sparse(_) => "sparse",
            ModelConfig::Vae(_) => "vae",
            ModelConfig::ConvVae(_) => "conv-vae",
            ModelConfig::Restore(c) => c.arch.name(),
        }
    }

    /// The sample shape the model takes.
    pub fn input_shape(&self) -> SampleShape {
        match self {
            ModelConfig::Linear(c) => c.input,
            ModelConfig::Dense(c) => c.input,
            ModelConfig::Conv(c) => c.input,
            ModelConfig::Sparse(c) => c.dense.input,
            ModelConfig::Vae(c) => c.input,
            ModelConfig::ConvVae(c) => c.input,
            ModelConfig::Restore(c) => c.input,
        }
    }

    /// Checks the configuration before anything is built.
    pub fn validate(&self) -> Result<()> {
        match self {
            ModelConfig::Linear(c) => c.validate(),
            ModelConfig::Dense(c) => c.validate(),
            ModelConfig::Conv(c) => c.validate(),
            ModelConfig::Sparse(c) => c.validate(),
            ModelConfig::Vae(c) => c.validate(),
            ModelConfig::ConvVae(c) => c.validate(),
            ModelConfig::Restore(c) => c.validate(),
        }
    }

    /// Builds the model with fresh weights on `device` (seed the device first for
    /// reproducible weights).
    pub fn init(&self, device: &Device) -> Result<Model> {
        self.validate()?;
        Ok(match self {
            ModelConfig::Linear(c) => Model::Linear(c.init(device)),
            ModelConfig::Dense(c) => Model::Dense(c.init(device)),
            ModelConfig::Conv(c) => Model::Conv(c.init(device)),
            ModelConfig::Sparse(c) => Model::Sparse(c.init(device)),
            ModelConfig::Vae(c) => Model::Vae(c.init(device)),
            ModelConfig::ConvVae(c) => Model::ConvVae(c.init(device)),
            ModelConfig::Restore(c) => Model::Restore(c.init(device)),
        })
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

/// A built model of any kind.
#[derive(Module, Debug)]
pub enum Model {
    Linear(linear::LinearAe),
    Dense(dense::DenseAe),
    Conv(conv::ConvAe),
    Sparse(sparse::SparseAe),
    Vae(vae::Vae),
    ConvVae(conv_vae::ConvVae),
    Restore(restore::RestoreNet),
}

impl Model {
    /// The model as a VAE, when it is one.
    pub fn variational(&self) -> Option<&dyn vae::Variational> {
        match self {
            Model::Vae(m) => Some(m),
            Model::ConvVae(m) => Some(m),
            _ => None,
        }
    }

    fn inner(&self) -> &dyn Autoencoder {
        match self {
            Model::Linear(m) => m,
            Model::Dense(m) => m,
            Model::Conv(m) => m,
            Model::Sparse(m) => m,
            Model::Vae(m) => m,
            Model::ConvVae(m) => m,
            Model::Restore(m) => m,
        }
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
}

pub(crate) fn check_loss_output(loss: Loss, output: Output) -> Result<()> {
    if loss == Loss::Bce && output != Output::Sigmoid {
        return Err(Error::arg("loss", "bce needs the sigmoid output (data in [0, 1])"));
    }
    Ok(())
}
