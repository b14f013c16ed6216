//! The run folder: `config.json` (model + training config), `model.safetensors`, `metrics.csv`,
//! `loss.png`, `reconstruction_EPOCH.png`, `report.json`. Every file is written atomically.

use std::fmt::Write as _;
use std::path::Path;

use burn::prelude::*;

use super::{loss_chart, reconstruction_grid, EpochStats, TrainConfig};
use crate::data::Split;
use crate::error::{Error, Result};
use crate::models::{Model, ModelConfig};

#[derive(serde::Serialize, serde::Deserialize)]
struct RunConfig {
    model: ModelConfig,
    train: TrainConfig,
}

pub(crate) fn write_config(out: &Path, model: &ModelConfig, train: &TrainConfig) -> Result<()> {
    crate::io::create_dir(out)?;
    crate::io::write_json(&out.join("config.json"), &RunConfig { model: model.clone(), train: train.clone() })
}

/// Checkpoint and figures after an epoch.
pub(crate) fn write_epoch(out: &Path, model: &Model, split: &Split, device: &Device, history: &[EpochStats]) -> Result<()> {
    super::weights::save(model, &out.join("model.safetensors"))?;
    let mut csv = String::from("epoch,train_loss,test_loss,test_mse,train_seconds\n");
    for s in history {
        let _ = writeln!(csv, "{},{},{},{},{}", s.epoch, s.train_loss, s.test_loss, s.test_mse, s.train_seconds);
    }
    crate::io::write_bytes(&out.join("metrics.csv"), csv.as_bytes())?;
    loss_chart(history, &out.join("loss.png"))?;
    let epoch = history.last().map(|s| s.epoch).unwrap_or(0);
    reconstruction_grid(model, &split.test, device, &format!("epoch {epoch}: test inputs and reconstructions"), &out.join(format!("reconstruction_{epoch}.png")))
}

/// Rebuilds a trained model from a run folder: the model from `config.json`, its weights from
/// `model.safetensors`.
pub fn load(run: &Path, device: &Device) -> Result<(Model, ModelConfig, TrainConfig)> {
    let cfg_path = run.join("config.json");
    let text = std::fs::read_to_string(&cfg_path).map_err(|source| Error::Read { path: cfg_path.clone(), source })?;
    let rc: RunConfig = serde_json::from_str(&text).map_err(|e| Error::input(&cfg_path, format!("not an aekit run config: {e}")))?;
    let model = rc.model.init(device)?;
    let model = super::weights::load(model, &run.join("model.safetensors"))?;
    Ok((model, rc.model, rc.train))
}
