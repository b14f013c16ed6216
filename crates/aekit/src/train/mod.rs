//! The one training loop every model uses.
//!
//! [`fit`] trains in memory: a [`TrainRequest`] (model, optimisation settings, objective, where
//! the data came from) and a [`Split`] give a [`Fitted`] model and its report. Nothing is
//! written: a run folder (`config.json`, checkpoints, `metrics.csv`, figures) is the
//! [`run::RunWriter`] observer, which [`run::train`] attaches, and [`run::Run`] loads a run
//! folder back, once.
//!
//! ```no_run
//! use aekit::data::builtin::embedded_mnist;
//! use aekit::models::{registry, ModelOptions};
//! use aekit::train::{fit, Silent, TrainConfig, TrainRequest};
//!
//! let split = embedded_mnist()?;
//! let model = registry::build("dense", split.train.shape(), &ModelOptions::default())?;
//! let request = TrainRequest::new(model, TrainConfig::new().with_epochs(2));
//! let fitted = fit(&request, &split, &aekit::device::Device::flex(), &mut Silent)?;
//! println!("test MSE {:.4}", fitted.report.test_mse);
//! # Ok::<(), aekit::Error>(())
//! ```

mod config;
pub mod eval;
mod feed;
pub mod figures;
pub mod infer;
pub mod objective;
pub mod run;
pub mod weights;

use std::time::Instant;

use burn::optim::GradientsParams;
use burn::prelude::*;
use rand::seq::SliceRandom;

pub use config::{LrSchedule, Reduction, TrainConfig};
pub use eval::{evaluate, noise_for, Evaluation};
pub use objective::Objective;

use crate::data::{Dataset, Split};
use crate::error::{Error, Result};
use crate::models::{Autoencoder, Model, ModelConfig};

/// Everything that defines a training run; saved as the run folder's `config.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TrainRequest {
    pub model: ModelConfig,
    pub train: TrainConfig,
    /// Where the data came from (what a front end needs to load it again): at least `"data"`,
    /// a name for reports.
    #[serde(default)]
    pub data: serde_json::Value,
    /// What the model is trained to do (reconstruction when absent). The field keeps the name
    /// `task` that run folders have always used.
    #[serde(default, rename = "task")]
    pub objective: Objective,
}

impl TrainRequest {
    /// Reconstruction of `model` with `train`'s settings; no data description.
    pub fn new(model: ModelConfig, train: TrainConfig) -> Self {
        TrainRequest { model, train, data: serde_json::Value::Null, objective: Objective::Reconstruct }
    }

    pub fn with_objective(mut self, objective: Objective) -> Self {
        self.objective = objective;
        self
    }

    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }

    /// The data's name, for reports.
    pub fn data_name(&self) -> &str {
        self.data.get("data").and_then(|d| d.as_str()).unwrap_or("")
    }

    /// Checks the settings, and that both halves of `split` fit the model and the objective,
    /// before anything is trained or written.
    pub fn check(&self, split: &Split) -> Result<()> {
        self.model.validate()?;
        self.train.validate()?;
        self.model.check_data(split.train.shape())?;
        self.model.check_data(split.test.shape())?;
        if let Some(v) = &split.val {
            self.model.check_data(v.shape())?;
        }
        self.objective.check(&self.model, split.train.shape())
    }
}

/// Figures of one epoch.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EpochStats {
    pub epoch: usize,
    /// Mean training objective per value over the epoch's batches (weighted by batch size).
    pub train_loss: f64,
    /// The same objective on the validation set, after the epoch.
    pub val_loss: f64,
    /// Mean squared error per value on the validation set.
    pub val_mse: f64,
    /// Wall-clock seconds of the training steps alone (what speed benchmarks compare).
    pub train_seconds: f64,
    /// Wall-clock seconds of the whole epoch, evaluation and checkpoint included.
    pub seconds: f64,
}

/// The state after an epoch, as an [`Observer`] sees it.
pub struct EpochEnd<'a> {
    /// The history so far; the last entry is this epoch's.
    pub history: &'a [EpochStats],
    /// The training (autodiff) model; `model.valid()` is its inference form.
    pub model: &'a Model,
    pub optim: &'a burn::optim::ModuleOptimizer,
    pub request: &'a TrainRequest,
    /// The test half of the split (what the epoch figures show).
    pub test: &'a Dataset,
    pub device: &'a Device,
    /// Whether training ends after this epoch (the configured epochs are done, or early
    /// stopping ends it).
    pub last: bool,
}

impl EpochEnd<'_> {
    pub fn stats(&self) -> &EpochStats {
        self.history.last().expect("an epoch has ended")
    }
}

/// Receives progress; the library never prints. An observer's error stops training.
pub trait Observer {
    fn epoch_start(&mut self, _epoch: usize, _epochs: usize, _samples: usize) {}
    fn batch(&mut self, _samples_done: usize, _running_loss: f64) {}
    fn epoch_end(&mut self, _end: &EpochEnd<'_>) -> Result<()> {
        Ok(())
    }
    /// Asked after every batch: true stops training with [`Error::Interrupted`] (a front end's
    /// Ctrl-C).
    fn stop_requested(&mut self) -> bool {
        false
    }
}

/// An [`Observer`] that ignores everything.
pub struct Silent;
impl Observer for Silent {}

impl<T: Observer + ?Sized> Observer for &mut T {
    fn epoch_start(&mut self, epoch: usize, epochs: usize, samples: usize) {
        (**self).epoch_start(epoch, epochs, samples)
    }
    fn batch(&mut self, done: usize, running: f64) {
        (**self).batch(done, running)
    }
    fn epoch_end(&mut self, end: &EpochEnd<'_>) -> Result<()> {
        (**self).epoch_end(end)
    }
    fn stop_requested(&mut self) -> bool {
        (**self).stop_requested()
    }
}

/// Two observers, told in order (the run writer before the progress display, so a line is
/// printed only once its checkpoint exists).
impl<A: Observer, B: Observer> Observer for (A, B) {
    fn epoch_start(&mut self, epoch: usize, epochs: usize, samples: usize) {
        self.0.epoch_start(epoch, epochs, samples);
        self.1.epoch_start(epoch, epochs, samples);
    }
    fn batch(&mut self, done: usize, running: f64) {
        self.0.batch(done, running);
        self.1.batch(done, running);
    }
    fn epoch_end(&mut self, end: &EpochEnd<'_>) -> Result<()> {
        self.0.epoch_end(end)?;
        self.1.epoch_end(end)
    }
    fn stop_requested(&mut self) -> bool {
        self.0.stop_requested() || self.1.stop_requested()
    }
}

/// What training returns and writes to `report.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainReport {
    pub model: String,
    pub data: String,
    pub n_train: usize,
    pub n_val: usize,
    pub n_test: usize,
    /// What the validation figures were computed on.
    pub validation: String,
    pub epochs: Vec<EpochStats>,
    /// Epoch with the lowest validation loss.
    pub best_epoch: usize,
    /// Whether early stopping ended training before the configured epochs.
    pub stopped_early: bool,
    /// Mean squared error per pixel on the test set (data in [0, 1]), with the final weights.
    pub test_mse: f64,
    /// 10 log10(1 / test_mse): PSNR in dB for pixel range [0, 1].
    pub test_psnr_db: f64,
    /// The training objective on the test set, per value.
    pub test_loss: f64,
    /// The objective's name and reduction.
    pub loss: String,
    /// Binary cross-entropy per pixel on the test set (sigmoid-output models).
    pub test_bce: Option<f64>,
    /// VAE: test -ELBO per sample (nats) with z set to the posterior mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_loss_mean_z: Option<f64>,
    /// VAE: the reconstruction part of `test_loss`, -log p(x|z) per sample (nats), z sampled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_reconstruction: Option<f64>,
    /// VAE: the KL part of `test_loss` per sample (nats).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_kl: Option<f64>,
    /// Seconds of training steps over all epochs (resumed runs included).
    pub train_seconds: f64,
    /// Model-specific comparisons (the linear model's PCA comparison).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra: Option<serde_json::Value>,
}

/// A trained model (inference form) and its report.
pub struct Fitted {
    pub model: Model,
    pub report: TrainReport,
}

/// Where training starts: fresh weights, or a checkpoint of an interrupted run.
pub struct Start {
    /// The training (autodiff) model.
    pub model: Model,
    pub optim: burn::optim::ModuleOptimizer,
    /// The epochs already trained.
    pub history: Vec<EpochStats>,
}

impl Start {
    /// Fresh weights from the request's seed, and a fresh optimizer. The weights are drawn on
    /// the CPU and then moved, so a seed gives the same starting point on every device (GPU
    /// random generators differ from the CPU's).
    pub fn fresh(request: &TrainRequest, device: &Device) -> Result<Self> {
        let host = Device::flex();
        host.seed(request.train.seed);
        let mut model = request.model.init(&host.clone().autodiff())?;
        if !crate::fused::on_flex(device) {
            draw_as_the_cpu_would(&model, request, &host);
            device.seed(request.train.seed);
            model = model.fork(&device.clone().autodiff());
        }
        Ok(Start { model, optim: request.train.optimizer(), history: Vec::new() })
    }
}

/// Burn draws parameters lazily, on the device of their first use, and moving an undrawn one
/// moves where it will be drawn. So the weights for another device are drawn here, on the CPU,
/// by one forward pass on a zero batch of the training batch's shape: the same draws, in the
/// same order (dropout masks included), as the CPU's first training step makes. Parameters that
/// pass leaves untouched are drawn after, in field order.
fn draw_as_the_cpu_would(model: &Model, request: &TrainRequest, host: &Device) {
    let ad = host.clone().autodiff();
    let shape = request.model.input_shape();
    let b = request.train.batch_size.max(1);
    let input = Tensor::<2>::zeros([b, request.objective.input_shape(shape).len()], &ad);
    let target = Tensor::<2>::zeros([b, shape.len()], &ad);
    let noise = noise_for(model, b, &mut crate::rng::stream(0, 0), &ad);
    let _ = model.loss(input, target, noise);
    model.visit(&mut Materialize);
}

/// Touches every float parameter, which makes Burn draw the lazily initialised ones.
struct Materialize;

impl burn::module::ModuleVisitor for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        let _ = param.val();
    }
}

/// Trains a fresh model in memory.
pub fn fit(request: &TrainRequest, split: &Split, device: &Device, observer: &mut dyn Observer) -> Result<Fitted> {
    request.check(split)?;
    fit_from(request, Start::fresh(request, device)?, split, device, observer)
}

/// The shuffling order of an epoch depends only on the seed and the epoch number, so a resumed
/// run sees the same batches as an uninterrupted one.
fn epoch_order(n: usize, seed: u64, epoch: usize, shuffle: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if shuffle {
        order.shuffle(&mut crate::rng::stream(seed, epoch as u64));
    }
    order
}

/// The seed of the noise streams (the VAE's ε), apart from the shuffling's.
fn noise_seed(seed: u64) -> u64 {
    seed ^ 0x9e37_79b9_7f4a_7c15
}

fn best(history: &[EpochStats]) -> Option<&EpochStats> {
    history.iter().min_by(|a, b| a.val_loss.partial_cmp(&b.val_loss).unwrap_or(std::cmp::Ordering::Equal))
}

/// Trains from `start` (fresh or a checkpoint) up to `request.train.epochs`, or until early
/// stopping. A non-finite loss stops with [`Error::Numerical`]; what the observers kept of the
/// last good epoch stays as it was.
pub fn fit_from(request: &TrainRequest, start: Start, split: &Split, device: &Device, observer: &mut dyn Observer) -> Result<Fitted> {
    request.check(split)?;
    let cfg = &request.train;
    let objective = &request.objective;
    let Start { mut model, mut optim, mut history } = start;
    crate::fused::set_enabled(cfg.fused);
    // Subnormals flushed while training (AEKIT_FTZ=0 keeps them): see `fused::ftz`.
    let _flush = crate::fused::flush_denormals();
    let ad = device.clone().autodiff();
    let holdout;
    let patch_val;
    let mut own_patches = None;
    let (train_set, val_set, validation) = if let Some(v) = &split.val {
        (&split.train, v, format!("the validation set given apart ({} samples)", v.len()))
    } else if let (Some(p), true) = (&split.patches, cfg.val_fraction > 0.0) {
        // Patch training holds out whole images, so no validation crop overlaps a training one.
        let (rest, held) = p.set.split(cfg.val_fraction, cfg.seed)?;
        patch_val = crate::data::eval_crops(&held, p.options.size, cfg.seed)?;
        own_patches = Some(crate::data::Patches::new(rest, p.options)?);
        let v = format!("crops of a seeded {:.0}% of the training images ({} images, {} crops)", cfg.val_fraction * 100.0, held.len(), patch_val.len());
        (&split.train, &patch_val, v)
    } else if cfg.val_fraction > 0.0 {
        holdout = split.train.split(cfg.val_fraction, cfg.seed)?;
        let v = format!("a seeded {:.0}% of the training set ({} samples)", cfg.val_fraction * 100.0, holdout.test.len());
        (&holdout.train, &holdout.test, v)
    } else {
        (&split.train, &split.test, "the test set".to_string())
    };
    let patches = own_patches.as_ref().or(split.patches.as_ref());
    let n = patches.map_or(train_set.len(), |p| p.per_epoch());
    let mut clean = Vec::new();
    let stop = |h: &[EpochStats]| match (cfg.patience, best(h)) {
        (Some(p), Some(b)) => h.last().is_some_and(|l| l.epoch >= b.epoch + p),
        _ => false,
    };
    let mut stopped_early = stop(&history);
    // Plain reconstruction needs no per-batch work on the host, so on an accelerator its
    // training set is uploaded once (degradations and patch crops are drawn on the host).
    let mut resident = if patches.is_none() && !objective.is_restoration() { feed::Resident::upload(train_set, &ad) } else { None };
    // Larger evaluation batches on an accelerator, where each batch's figures are a read-back.
    let eval_batch = if crate::fused::on_flex(device) { 1000 } else { 4096 };

    for epoch in history.len() + 1..=cfg.epochs {
        if stopped_early {
            break;
        }
        let t0 = Instant::now();
        observer.epoch_start(epoch, cfg.epochs, n);
        let mut meter = feed::LossMeter::new(device);
        let mut noise_rng = crate::rng::stream(noise_seed(cfg.seed), epoch as u64);
        let mut degrade_rng = Objective::stream(cfg.seed, epoch);
        let plan = patches.map(|p| (p, p.plan(cfg.seed, epoch)));
        let steps = n.div_ceil(cfg.batch_size);
        let order = epoch_order(n, cfg.seed, epoch, cfg.shuffle);
        if let Some(r) = resident.as_mut() {
            r.set_order(&order);
        }
        for (b, idx) in order.chunks(cfg.batch_size).enumerate() {
            let (x, target) = match (&plan, &resident) {
                (Some((p, crops)), _) => {
                    p.gather(crops, idx, &mut clean);
                    objective.pair(&clean, p.shape(), &mut degrade_rng, &ad)
                }
                (None, Some(r)) => {
                    let x = r.batch(b * cfg.batch_size, idx.len());
                    (x.clone(), x)
                }
                (None, None) => objective.batch(train_set, idx, &mut degrade_rng, &ad),
            };
            let noise = noise_for(&model, idx.len(), &mut noise_rng, &ad);
            let loss = model.loss(x, target, noise);
            let due = meter.add(loss.clone(), idx.len(), epoch, b, b + 1 == steps)?;
            let step_objective = match cfg.reduction {
                Reduction::Mean => loss,
                Reduction::Sum => loss * idx.len() as f32,
            };
            let grads = GradientsParams::from_grads(step_objective.backward(), &model);
            model = optim.step(cfg.lr_schedule.at(cfg.lr, (epoch - 1) * steps + b, cfg.epochs * steps), model, grads);
            if due {
                observer.batch(meter.seen, meter.mean());
            }
            if observer.stop_requested() {
                return Err(Error::Interrupted);
            }
        }
        let train_seconds = t0.elapsed().as_secs_f64();
        let eval = evaluate(&model.valid(), objective, val_set, device, eval_batch);
        history.push(EpochStats { epoch, train_loss: meter.mean(), val_loss: eval.loss, val_mse: eval.mse, train_seconds, seconds: 0.0 });
        history.last_mut().expect("pushed").seconds = t0.elapsed().as_secs_f64();
        let last = epoch == cfg.epochs || stop(&history);
        observer.epoch_end(&EpochEnd { history: &history, model: &model, optim: &optim, request, test: &split.test, device, last })?;
        stopped_early = stop(&history) && epoch < cfg.epochs;
    }
    let valid = model.valid();
    let eval = evaluate(&valid, objective, &split.test, device, eval_batch);
    let report = TrainReport {
        model: request.model.name().to_string(),
        data: request.data_name().to_string(),
        n_train: n,
        n_val: val_set.len(),
        n_test: split.test.len(),
        validation,
        best_epoch: best(&history).map(|b| b.epoch).unwrap_or(0),
        stopped_early,
        train_seconds: history.iter().map(|h| h.train_seconds).sum(),
        epochs: history,
        test_mse: eval.mse,
        test_psnr_db: crate::metrics::psnr_db(eval.mse, 1.0),
        test_loss: eval.loss,
        loss: valid.loss_description(),
        test_bce: eval.bce,
        test_loss_mean_z: None,
        test_reconstruction: None,
        test_kl: None,
        extra: None,
    };
    Ok(Fitted { model: valid, report })
}
