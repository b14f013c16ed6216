//! The figures drawn after an epoch and at the end of training: loss curves, test inputs above
//! their reconstructions (or, for restoration, clean / degraded / restored), and a VAE's
//! samples from the prior.

use std::path::Path;

use burn::prelude::*;

use super::eval::reconstruct_head;
use super::objective::{Objective, EVAL_SEED};
use super::EpochStats;
use crate::data::{Dataset, SampleShape};
use crate::error::Result;
use crate::models::{Autoencoder, Model};
use crate::viz::grid::Grid;
use crate::viz::plot::{LineChart, Series};

/// Draws 8 test inputs above their reconstructions (as the PyTorch VAE example does).
pub fn reconstruction_grid(model: &Model, ds: &Dataset, device: &Device, title: &str, path: &Path) -> Result<()> {
    let shape = ds.shape();
    if !matches!(shape, SampleShape::Image { .. }) {
        return Ok(());
    }
    let n = 8.min(ds.len());
    let rec = reconstruct_head(model, ds, device, n);
    let mut g = Grid::new(shape, 2)?.title(title);
    g.row(Some("input".into()), (0..n).map(|i| ds.sample(i)));
    g.row(Some("output".into()), rec.chunks_exact(ds.sample_len()));
    g.save_png(path)
}

/// The figure of restoration runs: 8 test images, degraded (with the evaluation seed),
/// restored.
pub fn restoration_grid(model: &Model, objective: &Objective, ds: &Dataset, device: &Device, title: &str, path: &Path) -> Result<()> {
    let shape = ds.shape();
    if !matches!(shape, SampleShape::Image { .. }) {
        return Ok(());
    }
    let idx: Vec<usize> = (0..8.min(ds.len())).collect();
    let (x, _) = objective.batch(ds, &idx, &mut crate::rng::stream(EVAL_SEED, 0), device);
    let input: Vec<f32> = x.clone().into_data().try_into_vec_as::<f32>().unwrap_or_default();
    let rec: Vec<f32> = model.reconstruct(x).into_data().try_into_vec_as::<f32>().unwrap_or_default();
    let shown = objective.display(&input, shape);
    let mut g = Grid::new(shape, 2)?.title(title);
    g.row(Some("clean".into()), idx.iter().map(|&i| ds.sample(i)));
    g.row(Some("degraded".into()), shown.chunks_exact(shape.len()));
    g.row(Some("restored".into()), rec.chunks_exact(shape.len()));
    g.save_png(path)
}

/// The loss curves of a run.
pub fn loss_chart(history: &[EpochStats], path: &Path) -> Result<()> {
    LineChart {
        title: "Loss per value".into(),
        x_label: "epoch".into(),
        y_label: "loss".into(),
        series: vec![
            Series { name: "train".into(), points: history.iter().map(|s| (s.epoch as f64, s.train_loss)).collect() },
            Series { name: "validation".into(), points: history.iter().map(|s| (s.epoch as f64, s.val_loss)).collect() },
        ],
        markers: vec![],
        y_range: None,
    }
    .save_png(path)
}

/// The figures of one epoch in the run folder `out`: `loss.png`, `reconstruction_EPOCH.png`
/// and, for VAEs, `sample_EPOCH.png`. `model` is the inference model.
pub fn epoch_figures(model: &Model, objective: &Objective, test: &Dataset, device: &Device, history: &[EpochStats], out: &Path) -> Result<()> {
    let epoch = history.last().map(|s| s.epoch).unwrap_or(0);
    loss_chart(history, &out.join("loss.png"))?;
    let grid = out.join(format!("reconstruction_{epoch}.png"));
    if objective.is_restoration() {
        restoration_grid(model, objective, test, device, &format!("epoch {epoch}: test images, degraded, restored"), &grid)?;
    } else {
        reconstruction_grid(model, test, device, &format!("epoch {epoch}: test inputs and reconstructions"), &grid)?;
    }
    if let Some(vae) = model.variational() {
        // Like the PyTorch example: 64 decoded draws from the prior after every epoch (the same
        // draws each epoch, so the pictures show the decoder changing).
        let x = crate::models::vae::sample_prior(vae, 64, 1.0, 0, device);
        crate::viz::grid::save_sample_grid(&x, test.shape(), &format!("epoch {epoch}: samples from the prior"), &out.join(format!("sample_{epoch}.png")))?;
    }
    Ok(())
}
