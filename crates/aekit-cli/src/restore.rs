//! `aekit denoise`, `aekit upscale`.

use std::path::PathBuf;

use aekit::apps::restore::{self, Apply};
use anyhow::Result;

use crate::codes::RunArgs;

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
    let written = restore::restore_files(&t, what, &a.input, &a.out, a.tile.max(8), &device)?;
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
