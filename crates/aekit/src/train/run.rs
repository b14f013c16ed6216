//! The run folder: `config.json` (model, training and data configuration), `model.safetensors`,
//! `checkpoint/epoch-N/` (weights, optimizer state, history: what `--resume` reads),
//! `metrics.csv`, `loss.png`, `reconstruction_EPOCH.png`, `report.json`. Every file is written
//! atomically, and a checkpoint folder appears only once complete.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use burn::prelude::*;

use super::{loss_chart, reconstruction_grid, EpochStats, TrainConfig};
use crate::data::Split;
use crate::error::{Error, Result};
use crate::models::{Model, ModelConfig};
use crate::tasks::task::Task;

#[derive(serde::Serialize, serde::Deserialize)]
struct RunConfig {
    model: ModelConfig,
    train: TrainConfig,
    /// Where the data came from (what the program needs to load it again).
    #[serde(default)]
    data: serde_json::Value,
    /// What the model was trained to do (reconstruction when absent).
    #[serde(default)]
    task: Task,
}

pub(crate) fn write_config(out: &Path, model: &ModelConfig, train: &TrainConfig, task: &Task, data: &serde_json::Value) -> Result<()> {
    crate::io::create_dir(out)?;
    let rc = RunConfig { model: model.clone(), train: train.clone(), data: data.clone(), task: task.clone() };
    crate::io::write_json(&out.join("config.json"), &rc)
}

fn read_run_config(run: &Path) -> Result<RunConfig> {
    let cfg_path = run.join("config.json");
    let text = std::fs::read_to_string(&cfg_path).map_err(|source| Error::Read { path: cfg_path.clone(), source })?;
    let bad = |e: serde_json::Error| Error::input(&cfg_path, format!("not an aekit run config: {e}"));
    let mut value: serde_json::Value = serde_json::from_str(&text).map_err(bad)?;
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
    }
}

/// The task a run was trained for.
pub fn read_task(run: &Path) -> Result<Task> {
    Ok(read_run_config(run)?.task)
}

/// The model, training and data configuration of a run.
pub fn read_config(run: &Path) -> Result<(ModelConfig, TrainConfig, serde_json::Value)> {
    let rc = read_run_config(run)?;
    Ok((rc.model, rc.train, rc.data))
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

pub(crate) fn clear_checkpoints(out: &Path) -> Result<()> {
    let dir = out.join("checkpoint");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|source| Error::Write { path: dir, source })?;
    }
    Ok(())
}

/// The newest complete checkpoint and the history up to it.
pub(crate) fn latest_checkpoint(out: &Path) -> Result<(PathBuf, Vec<EpochStats>)> {
    let (_, dir) = checkpoints(out)
        .pop()
        .ok_or_else(|| Error::input(out, "no checkpoint to resume from (checkpoint/epoch-N/ is written after every epoch)"))?;
    let state = dir.join("history.json");
    let text = std::fs::read_to_string(&state).map_err(|source| Error::Read { path: state.clone(), source })?;
    let history = serde_json::from_str(&text).map_err(|e| Error::input(&state, format!("not an aekit history: {e}")))?;
    Ok((dir, history))
}

/// Checkpoint and figures after an epoch. `model` is the training (autodiff) model.
pub(crate) fn write_epoch(
    out: &Path,
    model: &Model,
    optim: &burn::optim::ModuleOptimizer,
    task: &Task,
    split: &Split,
    device: &Device,
    history: &[EpochStats],
) -> Result<()> {
    let epoch = history.last().map(|s| s.epoch).unwrap_or(0);
    let root = out.join("checkpoint");
    crate::io::create_dir(&root)?;
    let werr = |path: &Path, source| Error::Write { path: path.to_path_buf(), source };
    let tmp = tempfile::Builder::new().prefix(".epoch-").tempdir_in(&root).map_err(|e| werr(&root, e))?;
    super::weights::save(model, &tmp.path().join("model.safetensors"))?;
    let opt = tmp.path().join("optimizer.bpk");
    optim.save(&opt).map_err(|e| werr(&opt, std::io::Error::other(e.to_string())))?;
    crate::io::write_json(&tmp.path().join("history.json"), &history)?;
    let done = root.join(format!("epoch-{epoch}"));
    if done.exists() {
        std::fs::remove_dir_all(&done).map_err(|e| werr(&done, e))?;
    }
    std::fs::rename(tmp.keep(), &done).map_err(|e| werr(&done, e))?;
    for (n, dir) in checkpoints(out) {
        if n != epoch {
            std::fs::remove_dir_all(&dir).map_err(|e| werr(&dir, e))?;
        }
    }

    let valid = model.valid();
    super::weights::save(&valid, &out.join("model.safetensors"))?;
    let mut csv = String::from("epoch,train_loss,val_loss,val_mse,train_seconds\n");
    for s in history {
        let _ = writeln!(csv, "{},{},{},{},{}", s.epoch, s.train_loss, s.val_loss, s.val_mse, s.train_seconds);
    }
    crate::io::write_bytes(&out.join("metrics.csv"), csv.as_bytes())?;
    loss_chart(history, &out.join("loss.png"))?;
    let grid = out.join(format!("reconstruction_{epoch}.png"));
    if task.is_restoration() {
        crate::tasks::restore::epoch_grid(&valid, task, &split.test, device, &format!("epoch {epoch}: test images, degraded, restored"), &grid)?;
    } else {
        reconstruction_grid(&valid, &split.test, device, &format!("epoch {epoch}: test inputs and reconstructions"), &grid)?;
    }
    if let Some(vae) = valid.variational() {
        // Like the PyTorch example: 64 decoded draws from the prior after every epoch (the same
        // draws each epoch, so the pictures show the decoder changing).
        let x = crate::tasks::generate::sample(vae, 64, 1.0, 0, device);
        crate::tasks::generate::write_samples(&x, split.test.shape(), &format!("epoch {epoch}: samples from the prior"), out, &format!("sample_{epoch}.png"), false)?;
    }
    Ok(())
}

/// Rebuilds a trained model from a run folder: the model from `config.json`, its weights from
/// `model.safetensors`.
pub fn load(run: &Path, device: &Device) -> Result<(Model, ModelConfig, TrainConfig)> {
    let (model_cfg, train, _) = read_config(run)?;
    let model = model_cfg.init(device)?;
    let model = super::weights::load(model, &run.join("model.safetensors"))?;
    Ok((model, model_cfg, train))
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
        let (model, train, data) = super::read_config(dir.path()).expect("an earlier run folder loads");
        assert_eq!(model.name(), "dense");
        let crate::models::ModelConfig::Dense(c) = model else { unreachable!() };
        assert!(c.latent_activation);
        assert_eq!(train.reduction, crate::train::Reduction::Mean);
        assert!(train.fused);
        assert_eq!(data["data"], "mnist-embedded");
    }
}
