//! What a model is trained to do: the training objective. An objective turns a batch of clean
//! samples into (input, target) pairs: identity for reconstruction, corrupt(x) → x for
//! denoising, downscale(x) → x for super-resolution. It is saved in the run's `config.json`
//! (field `task`, its name before objectives lived in the trainer), so `eval`, `denoise` and
//! `upscale` rebuild the same degradation from the run folder.
//!
//! A new objective is a file here, one variant below, and one arm in each `match` of this file.

pub mod denoise;
pub mod superres;

use burn::prelude::*;

pub use denoise::Denoise;
pub use superres::{SrInput, Superres};
use crate::data::{Dataset, SampleShape};
use crate::error::{Error, Result};
use crate::models::ModelConfig;

/// The registry: one variant per objective.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum Objective {
    /// The target is the input.
    #[default]
    Reconstruct,
    Denoise(Denoise),
    Superres(Superres),
}

/// Seeds the degradation streams apart from the shuffling and the VAE noise.
const TASK_SEED: u64 = 0x7a5c_0de5_1ee7_0001;
/// The stream of evaluations: fixed, so the test set is degraded the same way every time.
pub const EVAL_SEED: u64 = 0xe7a1_0000_7e57;

impl Objective {
    pub fn name(&self) -> &'static str {
        match self {
            Objective::Reconstruct => "reconstruct",
            Objective::Denoise(_) => "denoise",
            Objective::Superres(_) => "superres",
        }
    }

    /// Whether inputs differ from targets.
    pub fn is_restoration(&self) -> bool {
        !matches!(self, Objective::Reconstruct)
    }

    /// Checks that the model and data of `shape` fit the objective.
    pub fn check(&self, model: &ModelConfig, shape: SampleShape) -> Result<()> {
        match self {
            Objective::Reconstruct => Ok(()),
            Objective::Denoise(t) => t.check(model, shape),
            Objective::Superres(t) => t.check(model, shape),
        }
    }

    /// The degradation stream of training epoch `epoch`: fresh corruption every epoch, chosen
    /// by (seed, epoch) alone so a resumed run sees the same inputs as an uninterrupted one.
    pub fn stream(seed: u64, epoch: usize) -> rand_chacha::ChaCha8Rng {
        crate::rng::stream(seed ^ TASK_SEED, epoch as u64)
    }

    /// The model's input shape for clean samples of `shape`.
    pub fn input_shape(&self, shape: SampleShape) -> SampleShape {
        match self {
            Objective::Superres(t) => t.input_shape(shape),
            _ => shape,
        }
    }

    /// Degrades a batch of clean samples `[B, P]` (flat) into model inputs `[B, P_in]`.
    pub fn degrade(&self, clean: &[f32], shape: SampleShape, rng: &mut impl rand::Rng) -> Vec<f32> {
        match self {
            Objective::Reconstruct => clean.to_vec(),
            Objective::Denoise(t) => t.degrade(clean, shape, rng),
            Objective::Superres(t) => t.degrade(clean, shape),
        }
    }

    /// The (input, target) tensors of rows `idx` of `ds`.
    ///
    /// # Shapes
    /// → (`[B, P_in]`, `[B, P]`)
    pub fn batch(&self, ds: &Dataset, idx: &[usize], rng: &mut impl rand::Rng, device: &Device) -> (Tensor<2>, Tensor<2>) {
        let mut clean = Vec::with_capacity(idx.len() * ds.sample_len());
        for &i in idx {
            clean.extend_from_slice(ds.sample(i));
        }
        self.pair(&clean, ds.shape(), rng, device)
    }

    /// The (input, target) tensors of a flat batch of clean samples of `shape` (crops cut by
    /// the trainer).
    ///
    /// # Shapes
    /// `clean`: `[B, P]` → (`[B, P_in]`, `[B, P]`)
    pub fn pair(&self, clean: &[f32], shape: SampleShape, rng: &mut impl rand::Rng, device: &Device) -> (Tensor<2>, Tensor<2>) {
        let b = clean.len() / shape.len();
        let target = Tensor::from_data(TensorData::new(clean.to_vec(), [b, shape.len()]), device);
        if !self.is_restoration() {
            return (target.clone(), target);
        }
        let input = self.degrade(clean, shape, rng);
        (Tensor::from_data(TensorData::new(input, [b, self.input_shape(shape).len()]), device), target)
    }

    /// A degraded input shown at the clean size (nearest upscaling of low-resolution inputs).
    pub fn display(&self, input: &[f32], shape: SampleShape) -> Vec<f32> {
        match self {
            Objective::Superres(t) => t.display(input, shape),
            _ => input.to_vec(),
        }
    }

    /// One-line description for reports.
    pub fn describe(&self) -> String {
        match self {
            Objective::Reconstruct => "reconstruction (input = target)".into(),
            Objective::Denoise(t) => t.describe(),
            Objective::Superres(t) => t.describe(),
        }
    }
}

/// The image dimensions of `shape`, or an error naming `what`.
pub(crate) fn image_dims(shape: SampleShape, what: &str) -> Result<(usize, usize, usize)> {
    match shape {
        SampleShape::Image { channels, height, width } => Ok((channels, height, width)),
        other => Err(Error::Shape(format!("{what} needs images, the data has {other}"))),
    }
}
