//! Applications, built on the trainer (`crate::train`), never the reverse. Each returns a
//! serializable report and can describe itself as a section of the demo's HTML page.

pub mod anomaly;
pub mod codes;
pub mod endpoint;
pub mod features;
pub mod generate;
pub mod one_class;
pub mod pca_compression;
pub mod reconstruct;
pub mod restore;

use std::path::Path;

use burn::prelude::*;

use crate::data::Split;
use crate::error::Result;
use crate::train::run::{self, Run};
use crate::train::{Fitted, Observer, TrainRequest};

/// What `aekit train` does: trains `request` into the run folder `dir`, then adds the figures
/// of its objective to the report (reconstruction: the PCA comparison, a VAE's ELBO;
/// restoration: PSNR and SSIM against classical baselines, `eval/`) and writes `report.json`.
pub fn train_run(request: &TrainRequest, split: &Split, device: &Device, dir: &Path, observer: &mut dyn Observer) -> Result<Fitted> {
    train_run_with(request, split, device, dir, observer, run::Checkpoints::EveryEpoch)
}

/// [`train_run`], writing the run folder during training `when` asked.
pub fn train_run_with(
    request: &TrainRequest,
    split: &Split,
    device: &Device,
    dir: &Path,
    observer: &mut dyn Observer,
    when: run::Checkpoints,
) -> Result<Fitted> {
    let fitted = run::train_with(request, split, device, dir, observer, when)?;
    finish(request, fitted, split, device, dir)
}

/// [`train_run`] continued from the last checkpoint of `dir`; `request` is the run's own
/// (read once by the caller, `--epochs`/`--lr` applied).
pub fn resume_run(request: &TrainRequest, split: &Split, device: &Device, dir: &Path, observer: &mut dyn Observer) -> Result<Fitted> {
    let fitted = run::resume(request, split, device, dir, observer)?;
    finish(request, fitted, split, device, dir)
}

fn finish(request: &TrainRequest, fitted: Fitted, split: &Split, device: &Device, dir: &Path) -> Result<Fitted> {
    let Fitted { model, mut report } = fitted;
    let model = if request.objective.is_restoration() {
        let run = Run::from_fitted(request.clone(), model, dir);
        restore::finish(&run, &mut report, split, device)?;
        run.model
    } else {
        reconstruct::finish(&model, &mut report, split, device)?;
        model
    };
    crate::io::write_json(&dir.join("report.json"), &report)?;
    Ok(Fitted { model, report })
}
