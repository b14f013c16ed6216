//! The one training loop every model uses, and the run folder it writes.

pub mod run;
pub mod weights;

use std::path::Path;
use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use rand::seq::SliceRandom;

use crate::data::{Dataset, SampleShape, Split};
use crate::error::{Error, Result};
use crate::models::{activate, Autoencoder, Model, ModelConfig, Output};
use crate::tasks::task::Task;
use crate::viz::grid::Grid;
use crate::viz::plot::{LineChart, Series};

/// Optimisation settings; saved in `config.json` beside the model's.
#[derive(Config, Debug)]
pub struct TrainConfig {
    #[config(default = 10)]
    pub epochs: usize,
    #[config(default = 128)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[config(default = 1e-3)]
    pub lr: f64,
    /// Adam's L2 weight decay (0 = none).
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Adam's epsilon; 1e-8 as in PyTorch and Keras (Burn's default is 1e-5).
    #[config(default = 1e-8)]
    pub adam_epsilon: f64,
    /// Seeds the weights, the shuffling and the validation split.
    #[config(default = 0)]
    pub seed: u64,
    #[config(default = true)]
    pub shuffle: bool,
    /// Hold out this fraction of the training set for validation; 0 validates on the test set.
    #[config(default = 0.0)]
    pub val_fraction: f64,
    /// Stop when the validation loss has not improved for this many epochs.
    #[config(default = "None")]
    pub patience: Option<usize>,
    /// How a batch's per-sample losses make the objective the optimizer steps on. Reports
    /// always give per-value or per-sample means, whatever this says.
    #[config(default = "Reduction::Mean")]
    pub reduction: Reduction,
    /// Use aekit's fused CPU kernels (`crate::fused`: Adam, the VAE objective) where they apply;
    /// `false` runs Burn's plain operations only, for comparison.
    #[config(default = true)]
    pub fused: bool,
}

/// How the optimizer's objective combines a batch's per-sample losses.
///
/// With Adam the two differ only through epsilon (and weight decay): summing scales the
/// gradients by the batch size, so epsilon weighs `batch_size` times less. PyTorch's VAE example
/// sums (`reduction='sum'`); `vae-mnist` does the same so it takes the very same steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reduction {
    #[default]
    Mean,
    Sum,
}

impl TrainConfig {
    fn validate(&self) -> Result<()> {
        if self.batch_size == 0 || self.epochs == 0 {
            return Err(Error::arg("training", format!("batch size {} and epochs {} must be positive", self.batch_size, self.epochs)));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(Error::arg("lr", format!("{}: expected a positive learning rate", self.lr)));
        }
        if !(0.0..1.0).contains(&self.val_fraction) {
            return Err(Error::arg("val fraction", format!("{}: expected 0 (use the test set) or a fraction in (0, 1)", self.val_fraction)));
        }
        if self.patience == Some(0) {
            return Err(Error::arg("patience", "0: expected at least 1 epoch"));
        }
        Ok(())
    }

    fn optimizer(&self) -> burn::optim::ModuleOptimizer {
        if self.fused {
            let wd = (self.weight_decay > 0.0).then_some(self.weight_decay as f32);
            return crate::fused::FusedAdam::new(self.adam_epsilon as f32, wd).into();
        }
        let mut adam = AdamConfig::new().with_epsilon(self.adam_epsilon as f32);
        if self.weight_decay > 0.0 {
            adam = adam.with_weight_decay(Some(burn::optim::decay::WeightDecayConfig::new(self.weight_decay as f32)));
        }
        adam.init()
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

/// Receives progress; the library never prints.
pub trait Observer {
    fn epoch_start(&mut self, _epoch: usize, _epochs: usize, _samples: usize) {}
    fn batch(&mut self, _samples_done: usize, _running_loss: f64) {}
    fn epoch_end(&mut self, _stats: &EpochStats) {}
}

/// An [`Observer`] that ignores everything.
pub struct Silent;
impl Observer for Silent {}

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

/// Uploads rows `idx` of `ds` as a `[B, P]` tensor.
pub fn batch_tensor(ds: &Dataset, idx: &[usize], device: &Device) -> Tensor<2> {
    let p = ds.sample_len();
    let mut buf = Vec::with_capacity(idx.len() * p);
    for &i in idx {
        buf.extend_from_slice(ds.sample(i));
    }
    Tensor::from_data(TensorData::new(buf, [idx.len(), p]), device)
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
/// by `task` (degraded with a fixed seed). The objective draws its noise (if any) from a fixed
/// seed; MSE and BCE use the deterministic reconstruction and compare with the clean targets.
pub fn evaluate(model: &Model, task: &Task, ds: &Dataset, device: &Device, batch_size: usize) -> Evaluation {
    let (mut loss, mut mse, mut bce) = (0.0, 0.0, 0.0);
    let n = ds.len();
    let idx: Vec<usize> = (0..n).collect();
    let mut rng = crate::rng::stream(EVAL_NOISE_SEED, 0);
    let mut task_rng = crate::rng::stream(crate::tasks::task::EVAL_SEED, 0);
    for chunk in idx.chunks(batch_size.max(1)) {
        let (input, x) = task.batch(ds, chunk, &mut task_rng, device);
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

/// Where training starts: fresh weights, or a checkpoint of an interrupted run.
struct Start {
    model: Model,
    optim: burn::optim::ModuleOptimizer,
    history: Vec<EpochStats>,
}

/// Trains `model_cfg` on `split.train` and writes the run folder `out` (see [`run`]): the
/// configuration first, then after every epoch a checkpoint (weights, optimizer state, history),
/// `metrics.csv`, `loss.png` and `reconstruction_EPOCH.png`. Returns the trained model
/// (inference form) and the report (not yet written).
pub fn train(
    model_cfg: &ModelConfig,
    cfg: &TrainConfig,
    split: &Split,
    data: &serde_json::Value,
    device: &Device,
    out: &Path,
    observer: &mut dyn Observer,
) -> Result<(Model, TrainReport)> {
    train_task(model_cfg, cfg, &Task::Reconstruct, split, data, device, out, observer)
}

/// [`train`] for a [`Task`] (reconstruction, denoising, super-resolution); the task is saved
/// in `config.json`.
#[allow(clippy::too_many_arguments)]
pub fn train_task(
    model_cfg: &ModelConfig,
    cfg: &TrainConfig,
    task: &Task,
    split: &Split,
    data: &serde_json::Value,
    device: &Device,
    out: &Path,
    observer: &mut dyn Observer,
) -> Result<(Model, TrainReport)> {
    check_split(model_cfg, task, split)?;
    cfg.validate()?;
    run::write_config(out, model_cfg, cfg, task, data)?;
    run::clear_checkpoints(out)?;
    device.seed(cfg.seed);
    let start = Start { model: model_cfg.init(&device.clone().autodiff())?, optim: cfg.optimizer(), history: Vec::new() };
    fit(model_cfg, cfg, task, split, data, device, out, observer, start)
}

/// Continues the run in `out` from its last checkpoint, with the configuration saved there
/// (`epochs` may extend it; `lr` may override it, which gives up exact reproducibility).
pub fn resume(
    out: &Path,
    split: &Split,
    device: &Device,
    epochs: Option<usize>,
    lr: Option<f64>,
    observer: &mut dyn Observer,
) -> Result<(Model, ModelConfig, TrainReport)> {
    let (model_cfg, mut cfg, data) = run::read_config(out)?;
    let task = run::read_task(out)?;
    check_split(&model_cfg, &task, split)?;
    if let Some(e) = epochs {
        cfg.epochs = e;
    }
    if let Some(lr) = lr {
        cfg.lr = lr;
    }
    cfg.validate()?;
    let (dir, history) = run::latest_checkpoint(out)?;
    let ad = device.clone().autodiff();
    let model = weights::load(model_cfg.init(&ad)?, &dir.join("model.safetensors"))?;
    let optim_path = dir.join("optimizer.bpk");
    let optim = cfg
        .optimizer()
        .load(&optim_path)
        .map_err(|e| Error::input(&optim_path, format!("cannot read the optimizer state: {e}")))?;
    let (model, report) = fit(&model_cfg, &cfg, &task, split, &data, device, out, observer, Start { model, optim, history })?;
    Ok((model, model_cfg, report))
}

/// Checks that both halves of `split` fit the model and the task, before anything is written.
fn check_split(model_cfg: &ModelConfig, task: &Task, split: &Split) -> Result<()> {
    model_cfg.check_data(split.train.shape())?;
    model_cfg.check_data(split.test.shape())?;
    task.check(model_cfg, split.train.shape())
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

#[allow(clippy::too_many_arguments)]
fn fit(
    model_cfg: &ModelConfig,
    cfg: &TrainConfig,
    task: &Task,
    split: &Split,
    data: &serde_json::Value,
    device: &Device,
    out: &Path,
    observer: &mut dyn Observer,
    start: Start,
) -> Result<(Model, TrainReport)> {
    let Start { mut model, mut optim, mut history } = start;
    crate::fused::set_enabled(cfg.fused);
    let ad = device.clone().autodiff();
    let holdout;
    let (train_set, val_set, validation) = if cfg.val_fraction > 0.0 {
        holdout = split.train.split(cfg.val_fraction, cfg.seed)?;
        let v = format!("a seeded {:.0}% of the training set ({} samples)", cfg.val_fraction * 100.0, holdout.test.len());
        (&holdout.train, &holdout.test, v)
    } else {
        (&split.train, &split.test, "the test set".to_string())
    };
    let n = train_set.len();
    let stop = |h: &[EpochStats]| match (cfg.patience, best(h)) {
        (Some(p), Some(b)) => h.last().is_some_and(|l| l.epoch >= b.epoch + p),
        _ => false,
    };
    let mut stopped_early = stop(&history);

    for epoch in history.len() + 1..=cfg.epochs {
        if stopped_early {
            break;
        }
        let t0 = Instant::now();
        observer.epoch_start(epoch, cfg.epochs, n);
        let (mut sum, mut seen) = (0.0f64, 0usize);
        let mut noise_rng = crate::rng::stream(noise_seed(cfg.seed), epoch as u64);
        let mut task_rng = Task::stream(cfg.seed, epoch);
        for (b, idx) in epoch_order(n, cfg.seed, epoch, cfg.shuffle).chunks(cfg.batch_size).enumerate() {
            let (x, target) = task.batch(train_set, idx, &mut task_rng, &ad);
            let noise = noise_for(&model, idx.len(), &mut noise_rng, &ad);
            let loss = model.loss(x, target, noise);
            let value = loss.clone().into_scalar::<f32>() as f64;
            if !value.is_finite() {
                return Err(Error::Numerical(format!(
                    "the training loss became {value} at epoch {epoch}, batch {}; the last good checkpoint ({}) is kept. Try a smaller learning rate.",
                    b + 1,
                    match epoch {
                        1 => "none yet".to_string(),
                        e => format!("epoch {}, in {}", e - 1, out.display()),
                    }
                )));
            }
            let objective = match cfg.reduction {
                Reduction::Mean => loss,
                Reduction::Sum => loss * idx.len() as f32,
            };
            let grads = GradientsParams::from_grads(objective.backward(), &model);
            model = optim.step(cfg.lr, model, grads);
            sum += value * idx.len() as f64;
            seen += idx.len();
            observer.batch(seen, sum / seen as f64);
        }
        let train_seconds = t0.elapsed().as_secs_f64();
        let valid = model.valid();
        let eval = evaluate(&valid, task, val_set, device, 1000);
        history.push(EpochStats { epoch, train_loss: sum / seen as f64, val_loss: eval.loss, val_mse: eval.mse, train_seconds, seconds: 0.0 });
        history.last_mut().expect("pushed").seconds = t0.elapsed().as_secs_f64();
        run::write_epoch(out, &model, &optim, task, split, device, &history)?;
        observer.epoch_end(history.last().expect("pushed"));
        stopped_early = stop(&history) && epoch < cfg.epochs;
    }
    let valid = model.valid();
    let eval = evaluate(&valid, task, &split.test, device, 1000);
    let report = TrainReport {
        model: model_cfg.name().to_string(),
        data: data.get("data").and_then(|d| d.as_str()).unwrap_or("").to_string(),
        n_train: train_set.len(),
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
    Ok((valid, report))
}

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
