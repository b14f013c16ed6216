//! `aekit denoise`, `aekit upscale`, and `aekit eval` for restoration runs.

use std::path::PathBuf;

use aekit::tasks::restore::{self, Apply};
use anyhow::Result;

use crate::codes::RunArgs;
use crate::generate::EvalArgs;

#[derive(clap::Args, Debug)]
pub struct DenoiseArgs {
    #[command(flatten)]
    pub on: RunArgs,
    /// An image (PNG, JPEG, BMP) or a folder of images, of any size.
    #[arg(long)]
    pub input: PathBuf,
    /// Folder for the restored images (NAME.png for each input).
    #[arg(long)]
    pub out: PathBuf,
    /// Largest tile side (input pixels) a fully convolutional model runs on at once; larger
    /// images are cut into overlapping tiles whose borders are cropped, so there are no seams.
    #[arg(long, default_value_t = 256)]
    pub tile: usize,
}

#[derive(clap::Args, Debug)]
pub struct UpscaleArgs {
    #[command(flatten)]
    pub args: DenoiseArgs,
    /// Check that the run upscales by this factor (an error otherwise).
    #[arg(long)]
    pub scale: Option<usize>,
}

fn apply(a: &DenoiseArgs, what: Apply) -> Result<()> {
    let (device, t) = a.on.open()?;
    let task = aekit::train::run::read_task(&a.on.run)?;
    let written = restore::restore_files(&t, &task, what, &a.input, &a.out, a.tile.max(8), &device)?;
    if !a.on.quiet {
        println!("wrote {} image(s) to {}", written.len(), a.out.display());
    }
    Ok(())
}

pub fn denoise(a: DenoiseArgs) -> Result<()> {
    apply(&a, Apply::Denoise)
}

pub fn upscale(a: UpscaleArgs) -> Result<()> {
    apply(&a.args, Apply::Upscale(a.scale))
}

/// `aekit eval` on a denoise or superres run: PSNR/SSIM of the degraded input, the baselines and
/// the model on the test set; `--out` is a folder (default RUN/eval) for report.json and
/// comparison.png.
pub fn eval(a: EvalArgs, task: aekit::tasks::task::Task) -> Result<()> {
    let (device, t) = a.on.open()?;
    let split = a.data.load(0, a.on.quiet)?;
    let held_out = split.train.head(restore::HELD_OUT);
    let ds = a.split.pick(split);
    let out = a.out.clone().unwrap_or_else(|| a.on.run.join("eval"));
    let r = restore::evaluate(&t, &task, &ds, &held_out, &device, 8, &out)?;
    println!("{} on {} images: mean PSNR (dB, pixels in [0, 1]) / mean SSIM (Gaussian 11x11, sigma 1.5)", r.task, r.n);
    println!("  {:<70} {:>7.2} {:>7.4}", "degraded", r.psnr_degraded, r.ssim_degraded);
    for b in &r.baselines {
        println!("  {:<70} {:>7.2} {:>7.4}", b.name, b.psnr, b.ssim);
    }
    println!("  {:<70} {:>7.2} {:>7.4}", "model", r.psnr_model, r.ssim_model);
    if !a.on.quiet {
        println!("wrote {}", out.display());
    }
    Ok(())
}
