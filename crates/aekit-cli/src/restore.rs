//! `aekit denoise`, `aekit upscale`.

use std::path::PathBuf;

use aekit::apps::restore::{self, Apply};
use anyhow::Result;

use crate::common::DeviceArg;

/// The built-in model names, with their help lines.
fn builtin_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(restore::builtin::BUILTIN.iter().map(|m| clap::builder::PossibleValue::new(m.name).help(m.help)))
}

#[derive(clap::Args, Debug)]
pub struct DenoiseArgs {
    /// A run folder written by `aekit train`.
    #[arg(long, required_unless_present = "model")]
    pub run: Option<PathBuf>,
    /// A model shipped with aekit instead of a run (no training needed).
    #[arg(long, conflicts_with = "run", value_parser = builtin_names())]
    pub model: Option<String>,
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
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
    /// Average the restorations of the 8 flips and rotations of each image (8x the arithmetic,
    /// ~4x the time; fully convolutional models only).
    #[arg(long)]
    pub self_ensemble: bool,
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
    let device = a.device.device()?;
    let t = match (&a.run, &a.model) {
        (Some(run), _) => aekit::train::run::Run::open(run, &device)?,
        (None, Some(name)) => restore::builtin::open(name, &device)?,
        (None, None) => unreachable!("clap requires --run or --model"),
    };
    let written = restore::restore_files(&t, what, &a.input, &a.out, restore::RestoreOptions { tile: a.tile.max(8), self_ensemble: a.self_ensemble }, &device)?;
    if !a.quiet {
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
