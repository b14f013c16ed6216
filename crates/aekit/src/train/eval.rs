//! Evaluating a model on a dataset with the figures training reports: the objective, MSE and
//! (sigmoid outputs) BCE, with inputs prepared by the objective.

use burn::prelude::*;

use super::objective::{Objective, EVAL_SEED};
use crate::data::{batch_tensor, Dataset};
use crate::models::{activate, Autoencoder, Model, Output};

/// Test-set figures of a model.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Evaluation {
    /// The training objective per value.
    pub loss: f64,
    /// Mean squared error per value (pixel), reconstructions in data space.
    pub mse: f64,
    /// Binary cross-entropy per value, for models with a sigmoid output.
    pub bce: Option<f64>,
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f32>() as f64
}

/// Standard-normal noise `[b, model.noise_dim()]` from `rng`, or `None` for deterministic models.
pub fn noise_for(model: &Model, b: usize, rng: &mut impl rand::Rng, device: &Device) -> Option<Tensor<2>> {
    let d = model.noise_dim();
    (d > 0).then(|| Tensor::from_data(TensorData::new(crate::rng::normals(rng, b * d), [b, d]), device))
}

/// The noise stream of evaluations: fixed, so evaluating twice gives the same figures.
const EVAL_NOISE_SEED: u64 = 0x5eed_e7a1;

/// Evaluates `model` (an inference model: `model.valid()`) on `ds` in batches, inputs prepared
/// by `objective` (degraded with a fixed seed). The objective draws its noise (if any) from a
/// fixed seed; MSE and BCE use the deterministic reconstruction and compare with the clean
/// targets.
pub fn evaluate(model: &Model, objective: &Objective, ds: &Dataset, device: &Device, batch_size: usize) -> Evaluation {
    let (mut loss, mut mse, mut bce) = (0.0, 0.0, 0.0);
    let n = ds.len();
    let idx: Vec<usize> = (0..n).collect();
    let mut rng = crate::rng::stream(EVAL_NOISE_SEED, 0);
    let mut degrade_rng = crate::rng::stream(EVAL_SEED, 0);
    for chunk in idx.chunks(batch_size.max(1)) {
        let (input, x) = objective.batch(ds, chunk, &mut degrade_rng, device);
        let out = model.decode(model.encode(input.clone()));
        let w = chunk.len() as f64 / n as f64;
        let noise = noise_for(model, chunk.len(), &mut rng, device);
        loss += w * scalar(model.loss(input, x.clone(), noise));
        if model.output() == Output::Sigmoid {
            bce += w * scalar(crate::loss::bce_with_logits(out.clone(), x.clone()));
        }
        mse += w * scalar(crate::loss::mse(activate(out, model.output()), x));
    }
    Evaluation { loss, mse, bce: (model.output() == Output::Sigmoid).then_some(bce) }
}

/// Reconstructions of the first `n` samples, `[n, P]` row-major.
pub fn reconstruct_head(model: &Model, ds: &Dataset, device: &Device, n: usize) -> Vec<f32> {
    let idx: Vec<usize> = (0..n.min(ds.len())).collect();
    model.reconstruct(batch_tensor(ds, &idx, device)).into_data().try_into_vec_as::<f32>().unwrap_or_default()
}
