//! The run folder: `config.json` (the [`TrainRequest`]: model, training, data and objective),
//! `model.safetensors`, `checkpoint/epoch-N/` (weights, optimizer state, history: what
//! `--resume` reads), `metrics.csv`, `loss.png`, `reconstruction_EPOCH.png`, `report.json`.
//! Every file is written atomically, and a checkpoint folder appears only once complete.
//!
//! [`RunWriter`] is the observer that writes it; [`train`] and [`resume`] attach it to the
//! in-memory trainer; [`Run`] loads a finished run, reading `config.json` once.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use burn::prelude::*;

use super::{EpochEnd, Fitted, Observer, Start, TrainRequest};
use crate::data::Split;
use crate::error::{Error, Result};
use crate::models::{Model, ModelConfig};

/// A trained run loaded from its folder: the request it was trained with and the model with
/// its final weights (inference form).
pub struct Run {
    pub dir: PathBuf,
    pub request: TrainRequest,
    pub model: Model,
}

impl Run {
    /// Loads `dir` for inference on `device`: `config.json` once, then `model.safetensors`.
    pub fn open(dir: &Path, device: &Device) -> Result<Self> {
        let request = read_request(dir)?;
        let model = super::weights::load(request.model.init(device)?, &dir.join("model.safetensors"))?;
        Ok(Run { dir: dir.to_path_buf(), request, model })
    }

    /// The model configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.request.model
    }

    /// A run shipped inside aekit (see [`crate::apps::restore::builtin`]): `config.json` and
    /// weights compiled in; `dir` is `builtin:NAME`.
    pub fn from_bytes(name: &str, config: &str, weights: &[u8], device: &Device) -> Result<Self> {
        let dir = PathBuf::from(format!("builtin:{name}"));
        let request = parse_request(config, &dir.join("config.json"))?;
        let model = super::weights::load_bytes(request.model.init(device)?, weights, &dir.join("model.safetensors"))?;
        Ok(Run { dir, request, model })
    }

    /// A run made in memory (a fitted model and its request), for code that takes a [`Run`].
    pub fn from_fitted(request: TrainRequest, model: Model, dir: &Path) -> Self {
        Run { dir: dir.to_path_buf(), request, model }
    }
}

/// Reads a run folder's `config.json`.
pub fn read_request(run: &Path) -> Result<TrainRequest> {
    let cfg_path = run.join("config.json");
    let text = std::fs::read_to_string(&cfg_path).map_err(|source| Error::Read { path: cfg_path.clone(), source })?;
    parse_request(&text, &cfg_path)
}

/// Parses the text of a `config.json` (`cfg_path` names it in errors).
pub fn parse_request(text: &str, cfg_path: &Path) -> Result<TrainRequest> {
    let bad = |e: serde_json::Error| Error::input(&cfg_path, format!("not an aekit run config: {e}"));
    let mut value: serde_json::Value = serde_json::from_str(text).map_err(bad)?;
    with_train_defaults(&mut value);
    serde_json::from_value(value).map_err(bad)
}

/// Fills in training settings added after a run folder was written, with the values that
/// reproduce how it was trained then (Burn's `Config` derive gives serde no defaults, so a
/// missing field would make an earlier run unreadable).
fn with_train_defaults(value: &mut serde_json::Value) {
    if let Some(train) = value.get_mut("train").and_then(|t| t.as_object_mut()) {
        train.entry("reduction").or_insert_with(|| serde_json::json!("mean"));
        train.entry("fused").or_insert(serde_json::Value::Bool(true));
        train.entry("lr_schedule").or_insert_with(|| serde_json::json!("constant"));
    }
}

fn checkpoints(out: &Path) -> Vec<(usize, PathBuf)> {
    let mut v: Vec<(usize, PathBuf)> = std::fs::read_dir(out.join("checkpoint"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_prefix("epoch-").and_then(|n| n.parse().ok()).map(|n| (n, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn werr(path: &Path, source: std::io::Error) -> Error {
    Error::Write { path: path.to_path_buf(), source }
}

/// When the run folder is written during training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Checkpoints {
    /// After every epoch (the command line): an interrupted run resumes from its last epoch,
    /// and the figures follow training.
    #[default]
    EveryEpoch,
    /// After the last epoch only: for in-process fits of small data (the Python package), where
    /// writing a checkpoint and re-rendering the figures every epoch costs more than the epoch.
    Final,
}

/// The observer that writes a run folder: after every epoch (or only the last, see
/// [`Checkpoints`]) a checkpoint (weights, optimizer state, history), `model.safetensors`,
/// `metrics.csv` and the epoch's figures.
pub struct RunWriter {
    dir: PathBuf,
    when: Checkpoints,
}

impl RunWriter {
    /// Starts a fresh run in `dir`: writes `config.json` and removes earlier checkpoints.
    pub fn create(dir: &Path, request: &TrainRequest) -> Result<Self> {
        crate::io::create_dir(dir)?;
        crate::io::write_json(&dir.join("config.json"), request)?;
        let cp = dir.join("checkpoint");
        if cp.exists() {
            std::fs::remove_dir_all(&cp).map_err(|e| werr(&cp, e))?;
        }
        Ok(RunWriter { dir: dir.to_path_buf(), when: Checkpoints::EveryEpoch })
    }

    /// Continues writing the run in `dir` (its `config.json` stays).
    pub fn resume(dir: &Path) -> Self {
        RunWriter { dir: dir.to_path_buf(), when: Checkpoints::EveryEpoch }
    }

    pub fn checkpoints(mut self, when: Checkpoints) -> Self {
        self.when = when;
        self
    }

    /// The newest complete checkpoint of the run, ready to train on from `request`'s settings.
    pub fn latest(&self, request: &TrainRequest, device: &Device) -> Result<Start> {
        let (_, dir) = checkpoints(&self.dir)
            .pop()
            .ok_or_else(|| Error::input(&self.dir, "no checkpoint to resume from (checkpoint/epoch-N/ is written after every epoch)"))?;
        let state = dir.join("history.json");
        let text = std::fs::read_to_string(&state).map_err(|source| Error::Read { path: state.clone(), source })?;
        let history = serde_json::from_str(&text).map_err(|e| Error::input(&state, format!("not an aekit history: {e}")))?;
        let model = super::weights::load(request.model.init(&device.clone().autodiff())?, &dir.join("model.safetensors"))?;
        let optim_path = dir.join("optimizer.bpk");
        let optim = request
            .train
            .optimizer()
            .load(&optim_path)
            .map_err(|e| Error::input(&optim_path, format!("cannot read the optimizer state: {e}")))?;
        Ok(Start { model, optim, history })
    }

    fn checkpoint(&self, end: &EpochEnd<'_>) -> Result<()> {
        let epoch = end.stats().epoch;
        let root = self.dir.join("checkpoint");
        crate::io::create_dir(&root)?;
        let tmp = tempfile::Builder::new().prefix(".epoch-").tempdir_in(&root).map_err(|e| werr(&root, e))?;
        super::weights::save(end.model, &tmp.path().join("model.safetensors"))?;
        let opt = tmp.path().join("optimizer.bpk");
        end.optim.save(&opt).map_err(|e| werr(&opt, std::io::Error::other(e.to_string())))?;
        crate::io::write_json(&tmp.path().join("history.json"), &end.history)?;
        let done = root.join(format!("epoch-{epoch}"));
        if done.exists() {
            std::fs::remove_dir_all(&done).map_err(|e| werr(&done, e))?;
        }
        std::fs::rename(tmp.keep(), &done).map_err(|e| werr(&done, e))?;
        for (n, dir) in checkpoints(&self.dir) {
            if n != epoch {
                std::fs::remove_dir_all(&dir).map_err(|e| werr(&dir, e))?;
            }
        }
        Ok(())
    }
}

impl Observer for RunWriter {
    fn epoch_end(&mut self, end: &EpochEnd<'_>) -> Result<()> {
        if self.when == Checkpoints::Final && !end.last {
            return Ok(());
        }
        self.checkpoint(end)?;
        let valid = end.model.valid();
        super::weights::save(&valid, &self.dir.join("model.safetensors"))?;
        let mut csv = String::from("epoch,train_loss,val_loss,val_mse,train_seconds\n");
        for s in end.history {
            let _ = writeln!(csv, "{},{},{},{},{}", s.epoch, s.train_loss, s.val_loss, s.val_mse, s.train_seconds);
        }
        crate::io::write_bytes(&self.dir.join("metrics.csv"), csv.as_bytes())?;
        super::figures::epoch_figures(&valid, &end.request.objective, end.test, end.device, end.history, &self.dir)
    }
}

/// Names the run folder in a training failure (where the last good checkpoint is).
fn in_folder(e: Error, dir: &Path) -> Error {
    match e {
        Error::Numerical(msg) => Error::Numerical(format!("{msg} Run folder: {}", dir.display())),
        e => e,
    }
}

/// Trains a fresh model and writes the run folder `dir` as it goes (see [`RunWriter`]); the
/// report is returned, not yet written.
pub fn train(request: &TrainRequest, split: &Split, device: &Device, dir: &Path, observer: &mut dyn Observer) -> Result<Fitted> {
    train_with(request, split, device, dir, observer, Checkpoints::EveryEpoch)
}

/// [`train`], writing the run folder `when` asked.
pub fn train_with(request: &TrainRequest, split: &Split, device: &Device, dir: &Path, observer: &mut dyn Observer, when: Checkpoints) -> Result<Fitted> {
    request.check(split)?;
    let mut writer = RunWriter::create(dir, request)?.checkpoints(when);
    let start = Start::fresh(request, device)?;
    super::fit_from(request, start, split, device, &mut (&mut writer, observer)).map_err(|e| in_folder(e, dir))
}

/// What `--resume` may change in a run's settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResumeOptions {
    /// A new total of epochs.
    pub epochs: Option<usize>,
    /// A new learning rate (gives up exact reproducibility).
    pub lr: Option<f64>,
}

impl ResumeOptions {
    /// `request` with these changes.
    pub fn apply(&self, mut request: TrainRequest) -> TrainRequest {
        if let Some(e) = self.epochs {
            request.train.epochs = e;
        }
        if let Some(lr) = self.lr {
            request.train.lr = lr;
        }
        request
    }
}

/// Continues the run in `dir` from its last checkpoint. `request` is the run's own
/// ([`read_request`], with [`ResumeOptions::apply`]), read once by the caller.
pub fn resume(request: &TrainRequest, split: &Split, device: &Device, dir: &Path, observer: &mut dyn Observer) -> Result<Fitted> {
    request.check(split)?;
    let mut writer = RunWriter::resume(dir);
    let start = writer.latest(request, device)?;
    super::fit_from(request, start, split, device, &mut (&mut writer, observer)).map_err(|e| in_folder(e, dir))
}

#[cfg(test)]
mod tests {
    /// A config.json written before `reduction`, `fused` and `task` existed (aekit a1c89da).
    #[test]
    fn run_folders_of_earlier_versions_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let old = r#"{"model":{"model":"dense","input":{"kind":"image","channels":1,"height":28,"width":28},
            "hidden":[128,64],"latent":32,"activation":"relu","latent_activation":true,"output":"sigmoid","loss":"bce"},
            "train":{"epochs":2,"batch_size":128,"lr":0.001,"weight_decay":0.0,"adam_epsilon":1e-8,"seed":0,
            "shuffle":true,"val_fraction":0.0,"patience":null},"data":{"data":"mnist-embedded"}}"#;
        std::fs::write(dir.path().join("config.json"), old).unwrap();
        let r = super::read_request(dir.path()).expect("an earlier run folder loads");
        assert_eq!(r.model.name(), "dense");
        let crate::models::ModelConfig::Dense(c) = r.model else { unreachable!() };
        assert!(c.latent_activation);
        assert_eq!(r.train.reduction, crate::train::Reduction::Mean);
        assert!(r.train.fused);
        assert_eq!(r.data["data"], "mnist-embedded");
        assert_eq!(r.objective, crate::train::Objective::Reconstruct);
    }
}
