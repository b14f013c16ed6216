//! Options shared by subcommands: where data comes from, the device, and the progress bars.

use std::path::PathBuf;

use aekit::data::{self, DataSource, FolderOptions, LoadOptions, Locations, Split};
use aekit::device::Backend;
use aekit::train::{EpochEnd, Observer};
use anyhow::Result;

/// Saved in a run's `config.json` (field `data`), so `--resume` can load the same data again.
#[derive(clap::Args, Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DataArgs {
    /// A built-in dataset (mnist, fashion-mnist, mnist-embedded), an image folder, a CSV file or
    /// an IDX file.
    #[arg(long)]
    pub data: Option<String>,
    /// Folder holding built-in datasets (e.g. DIR/mnist/); searched before $AEKIT_DATA and the cache.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// A separate test set, of any kind --data takes (a built-in dataset gives its test part,
    /// any other source all its samples); the --data source then trains whole unless
    /// --test-fraction says otherwise.
    #[arg(long)]
    pub test_data: Option<String>,
    /// Table column holding time stamps (series): not a feature; echoed in scores.csv.
    #[arg(long)]
    pub time_column: Option<String>,
    /// CSV column that holds integer labels.
    #[arg(long)]
    pub label_column: Option<String>,
    /// Resize images of a folder to WIDTHxHEIGHT.
    #[arg(long, value_parser = parse_size)]
    pub resize: Option<(u32, u32)>,
    /// Force 1 (grey) or 3 (RGB) channels for image folders.
    #[arg(long)]
    pub image_channels: Option<usize>,
    /// Train on random PxP crops, drawn afresh every epoch (with random flips and rotations),
    /// from images of any size kept at 8 bits: no --resize needed. Validation and test images
    /// become fixed PxP crops (up to 16 per image).
    #[arg(long, conflicts_with = "resize")]
    pub patch_size: Option<usize>,
    /// With --patch-size: crops per training image per epoch (default: an epoch of about 8
    /// million pixels of crops, 20 million for --task denoise without --model or with a photo
    /// model, spread evenly over the images, at least 1 and at most two per PxP area per image
    /// and 8 million pixels).
    #[arg(long, requires = "patch_size")]
    pub patches_per_image: Option<usize>,
    /// With --patch-size: the probability that a training crop's colours are changed before
    /// the noise (a random exposure gain, colour saturation and per-channel black level,
    /// clipped to [0, 1]), so that the network sees channels saturated at 0 or 1 where clipped
    /// noise is biased (default: 0.5 for --task denoise without --model or with a photo model,
    /// else 0).
    #[arg(long, requires = "patch_size")]
    pub tone_augment: Option<f32>,
    /// The default epoch's pixels of crops, when a task's photo defaults set it (not an
    /// option; saved with the run so that `--resume` draws the same crops).
    #[arg(skip)]
    #[serde(default)]
    pub epoch_pixels: Option<usize>,
    /// Fraction held out as test set for sources without one (CSV, folders, IDX files; default
    /// 0.2, and 0 for `anomaly fit`, which trains on every normal row).
    #[arg(long)]
    pub test_fraction: Option<f64>,
    /// Use only the first N training samples.
    #[arg(long)]
    pub train_samples: Option<usize>,
    /// Use only the first N test samples.
    #[arg(long)]
    pub test_samples: Option<usize>,
    /// Binarize pixels stochastically (each pixel is 1 with probability equal to its value),
    /// with this seed; train and test get different streams.
    #[arg(long)]
    pub binarize: Option<u64>,
    /// Never use the network.
    #[arg(long)]
    pub offline: bool,
    /// Fail instead of falling back to the embedded MNIST subset.
    #[arg(long)]
    pub no_fallback: bool,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(|| format!("{s:?}: expected WIDTHxHEIGHT, e.g. 28x28"))?;
    let p = |v: &str| v.parse::<u32>().ok().filter(|&n| n > 0).ok_or_else(|| format!("{s:?}: {v:?} is not a positive integer"));
    Ok((p(w)?, p(h)?))
}

impl DataArgs {
    /// The `--data` value, which every command but `train --resume` requires.
    pub fn name(&self) -> Result<&str> {
        self.data.as_deref().ok_or_else(|| anyhow::Error::new(aekit::Error::InvalidArgument { name: "data", msg: "--data is required".into() }))
    }

    /// What a run's `config.json` records of the data (field `data`): the name, and these
    /// options, so `--resume` can load the same data again.
    pub fn describe(&self) -> Result<serde_json::Value> {
        Ok(serde_json::json!({ "data": self.name()?, "args": self }))
    }

    /// Loads the data, printing where it came from unless `quiet`.
    pub fn load(&self, seed: u64, quiet: bool) -> Result<Split> {
        let src = DataSource::parse(self.name()?)?;
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let opts = LoadOptions {
            locations: Locations {
                data_dir: self.data_dir.clone(),
                env_dir: env("AEKIT_DATA").map(PathBuf::from),
                cache_dir: aekit::io::cache_dir(),
                mirrors: env("AEKIT_MIRROR").map(|m| m.to_string_lossy().split(',').map(String::from).collect()),
                offline: self.offline,
                no_fallback: self.no_fallback,
            },
            label_column: self.label_column.clone(),
            time_column: self.time_column.clone(),
            folder: FolderOptions { resize: self.resize, channels: self.image_channels },
            test_fraction: self.test_fraction.unwrap_or(if self.test_data.is_some() { 0.0 } else { 0.2 }),
            seed,
            patches: self.patch_size.map(|size| data::PatchOptions {
                epoch_pixels: self.epoch_pixels.unwrap_or(data::patches::EPOCH_PIXELS),
                tone: self.tone_augment.unwrap_or(0.0),
                ..data::PatchOptions::new(size, self.patches_per_image)
            }),
        };
        if self.patch_size.is_some() && self.binarize.is_some() {
            return Err(aekit::Error::InvalidArgument { name: "binarize", msg: "cannot be combined with --patch-size".into() }.into());
        }
        let mut bar = Bar::new(quiet);
        let (mut split, mut origin) = data::load(&src, &opts, &mut bar)?;
        if let Some(t) = &self.test_data {
            let channels = match split.train.shape() {
                data::SampleShape::Image { channels, .. } => Some(channels),
                data::SampleShape::Tabular { .. } => None,
            };
            let test_opts = LoadOptions { test_fraction: 0.0, folder: FolderOptions { channels, ..opts.folder }, patches: None, ..opts };
            let (test, test_origin) = match opts.patches {
                // Photos of any size: fixed crops of the patch size, as a test/ folder gives.
                Some(p) => {
                    let (train, test, _) = data::load_images(&DataSource::parse(t)?, &test_opts, &mut bar)?;
                    let set = test.unwrap_or(train);
                    let n = set.len();
                    (data::eval_crops(&set, p.size, seed)?, format!("{t}: {n} images"))
                }
                None => {
                    let (test_split, test_origin) = data::load(&DataSource::parse(t)?, &test_opts, &mut bar)?;
                    (if test_split.test.is_empty() { test_split.train } else { test_split.test }, test_origin)
                }
            };
            data::check_test_set(&split.train, &test, std::path::Path::new(t))?;
            split.test = test;
            origin = format!("{origin}; test set: {test_origin} ({} samples)", split.test.len());
        }
        if let Some(n) = self.train_samples {
            split.train = split.train.head(n);
            if let Some(p) = split.patches.take() {
                let keep: Vec<usize> = (0..n.min(p.set.len())).collect();
                split.patches = Some(data::Patches::new(p.set.select(&keep), p.options)?);
            }
        }
        if let Some(n) = self.test_samples {
            split.test = split.test.head(n);
        }
        if let Some(seed) = self.binarize {
            split.train = split.train.binarized(seed);
            split.test = split.test.binarized(seed ^ 0x7e57);
            split.val = split.val.map(|v| v.binarized(seed ^ 0x7a1));
        }
        if !quiet {
            eprintln!("data: {origin}");
        }
        Ok(split)
    }
}

/// A download progress bar (indicatif), hidden when quiet.
pub struct Bar {
    quiet: bool,
    bar: Option<indicatif::ProgressBar>,
}

impl Bar {
    pub fn new(quiet: bool) -> Self {
        Bar { quiet, bar: None }
    }
}

impl data::Progress for Bar {
    fn start(&mut self, label: &str, total: Option<u64>) {
        if self.quiet {
            return;
        }
        let bar = match total {
            Some(t) => indicatif::ProgressBar::new(t),
            None => indicatif::ProgressBar::new_spinner(),
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:32} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(label.to_string());
        self.bar = Some(bar);
    }
    fn advance(&mut self, bytes: u64) {
        if let Some(b) = &self.bar {
            b.inc(bytes);
        }
    }
    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish();
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum DeviceArg {
    Cpu,
    Wgpu,
    Cuda,
}

impl DeviceArg {
    pub fn backend(self) -> Backend {
        match self {
            DeviceArg::Cpu => Backend::Cpu,
            DeviceArg::Wgpu => Backend::Wgpu,
            DeviceArg::Cuda => Backend::Cuda,
        }
    }

    /// The device, with a line on stderr naming the GPU adapter (and warning when it is a
    /// software driver, which trains far slower than the CPU backend).
    pub fn device(self) -> aekit::Result<aekit::device::Device> {
        let device = self.backend().device()?;
        #[cfg(feature = "wgpu")]
        if let (DeviceArg::Wgpu, Some(a)) = (self, aekit::device::wgpu::adapter()) {
            let soft = if a.software { " - a software driver running on the CPU: expect it to be much slower than --device cpu" } else { "" };
            eprintln!("wgpu: {} ({}){soft}", a.name, a.api);
        }
        Ok(device)
    }
}

/// One progress bar per epoch and a summary line after it.
pub struct Progress {
    quiet: bool,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Progress { quiet, bar: None }
    }
}

impl Observer for Progress {
    fn epoch_start(&mut self, epoch: usize, epochs: usize, samples: usize) {
        if self.quiet {
            return;
        }
        let bar = indicatif::ProgressBar::new(samples as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("epoch {prefix} {bar:30} {pos}/{len} {per_sec} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_prefix(format!("{epoch}/{epochs}"));
        self.bar = Some(bar);
    }
    fn batch(&mut self, done: usize, running: f64) {
        if let Some(b) = &self.bar {
            b.set_position(done as u64);
            b.set_message(format!("loss {running:.5}"));
        }
    }
    fn epoch_end(&mut self, end: &EpochEnd<'_>) -> aekit::Result<()> {
        let s = end.stats();
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        if !self.quiet {
            eprintln!(
                "epoch {:>3}: train loss {:.5}, validation loss {:.5}, validation MSE/pixel {:.5}, {:.1} s",
                s.epoch, s.train_loss, s.val_loss, s.val_mse, s.seconds
            );
        }
        Ok(())
    }
}
