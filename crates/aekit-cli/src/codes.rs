//! `aekit reconstruct`, `aekit encode`, `aekit decode`: using a trained run.

use std::path::PathBuf;

use aekit::apps::codes;
use aekit::train::run::Run;
use anyhow::Result;

use crate::common::DataArgs;
use crate::common::DeviceArg;

/// The options every command that uses a trained run shares.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// A run folder written by `aekit train`.
    #[arg(long)]
    pub run: PathBuf,
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

impl RunArgs {
    /// The device, and the run's model loaded onto it.
    pub fn open(&self) -> Result<(aekit::device::Device, Run)> {
        let device = self.device.device()?;
        let t = Run::open(&self.run, &device)?;
        Ok((device, t))
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default)]
pub enum SplitArg {
    Train,
    #[default]
    Test,
}

/// A trained run and the data to use it on: what most commands that use a run take.
#[derive(clap::Args, Debug)]
pub struct RunData {
    #[command(flatten)]
    pub on: RunArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Which part of the data to use.
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
}

impl RunData {
    /// The device, the run's model loaded onto it, and the chosen part of the data.
    pub fn open(&self) -> Result<(aekit::device::Device, Run, aekit::data::Dataset)> {
        let (device, t) = self.on.open()?;
        let ds = self.split.pick(self.data.load(0, self.on.quiet)?);
        Ok((device, t, ds))
    }

    pub fn quiet(&self) -> bool {
        self.on.quiet
    }
}

#[derive(clap::Args, Debug)]
pub struct ReconstructArgs {
    #[command(flatten)]
    pub with: RunData,
    #[arg(long)]
    pub out: PathBuf,
    /// Samples shown in reconstruction.png.
    #[arg(long, default_value_t = 8)]
    pub n: usize,
}

#[derive(clap::Args, Debug)]
pub struct EncodeArgs {
    #[command(flatten)]
    pub with: RunData,
    /// latents.csv or latents.npy (labels, when known, in a `label` column or NAME_labels.npy).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct DecodeArgs {
    #[command(flatten)]
    pub on: RunArgs,
    /// Latent vectors: a .csv (columns z0.., an optional label column is ignored) or a .npy [N, L].
    #[arg(long)]
    pub latents: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
}

impl SplitArg {
    /// The chosen part of a split.
    pub fn pick(self, split: aekit::data::Split) -> aekit::data::Dataset {
        match self {
            SplitArg::Train => split.train,
            SplitArg::Test => split.test,
        }
    }
}

pub fn reconstruct(a: ReconstructArgs) -> Result<()> {
    let (device, t, ds) = a.with.open()?;
    let r = codes::reconstruct(&t, &ds, &device, a.n, &a.out)?;
    if !a.with.quiet() {
        let bce = r.bce.map(|b| format!(", BCE/pixel {b:.5}")).unwrap_or_default();
        println!("{} samples: MSE/pixel {:.5} (PSNR {:.2} dB, pixels in [0, 1]){bce}", r.n, r.mse, r.psnr_db);
        println!("wrote {}", a.out.display());
    }
    Ok(())
}

pub fn encode(a: EncodeArgs) -> Result<()> {
    aekit::data::latents::Format::from_path(&a.out)?;
    let (device, t, ds) = a.with.open()?;
    let z = t.encode(&ds, &device)?;
    aekit::data::latents::write(&a.out, &z)?;
    if !a.with.quiet() {
        println!("wrote {} latent vectors of size {} to {}", z.len(), z.dim, a.out.display());
    }
    Ok(())
}

pub fn decode(a: DecodeArgs) -> Result<()> {
    let (device, t) = a.on.open()?;
    let n = codes::decode_to_files(&t, &a.latents, &device, &a.out)?;
    if !a.on.quiet {
        println!("decoded {n} latent vectors into {}", a.out.display());
    }
    Ok(())
}
