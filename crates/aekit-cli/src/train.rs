//! `aekit train`

use std::path::PathBuf;

use aekit::device::Backend;
use aekit::loss::Loss;
use aekit::models::conv::ConvAeConfig;
use aekit::models::conv_vae::ConvVaeConfig;
use aekit::models::dense::DenseAeConfig;
use aekit::models::linear::LinearAeConfig;
use aekit::models::sparse::SparseAeConfig;
use aekit::models::vae::{Likelihood, VaeConfig};
use aekit::models::restore::RestoreNetConfig;
use aekit::models::{Activation, ModelConfig, Output};
use aekit::train::{EpochStats, Observer, Reduction, TrainConfig};
use aekit::tasks::task::Task;
use anyhow::Result;

use crate::common::DataArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, value_enum, required_unless_present = "resume")]
    pub model: Option<ModelArg>,
    /// Continue the interrupted run in this folder from its last checkpoint (model, optimizer,
    /// data and settings from its config.json; --epochs may extend it).
    #[arg(long, conflicts_with = "model")]
    pub resume: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
    /// Run folder for config.json, model.safetensors, metrics.csv, figures and report.json.
    #[arg(long, required_unless_present = "resume")]
    pub out: Option<PathBuf>,
    /// Latent size (linear, dense; for conv it adds a dense bottleneck).
    #[arg(long)]
    pub latent: Option<usize>,
    /// Dense hidden sizes, comma-separated (default 128,64).
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// Conv channels per stride-2 layer, comma-separated (default 32,64; dae 32,32; srcnn and
    /// subpixel 64,32: one per hidden convolution).
    #[arg(long, value_delimiter = ',')]
    pub channels: Option<Vec<usize>>,
    /// srcnn, subpixel: kernel size of each convolution, the output one included (default
    /// srcnn 9,5,5; subpixel 5,3,3).
    #[arg(long, value_delimiter = ',')]
    pub kernels: Option<Vec<usize>>,
    /// What to train for: reconstruction (input = target), denoise (corrupted input, clean
    /// target) or superres (downscaled input, original target).
    #[arg(long, value_enum, default_value_t = TaskArg::Reconstruct)]
    pub task: TaskArg,
    /// denoise: corruptions applied in order, drawn afresh every epoch: gaussian:SIGMA (clipped
    /// to [0, 1]), salt-pepper:RATE, mask:RATE, block:SIZE (one zeroed square), shift:PIXELS (random
    /// translation by up to PIXELS each way), comma-separated.
    #[arg(long, default_value = "gaussian:0.5")]
    pub noise: String,
    /// superres: the scale factor (2, 3 or 4).
    #[arg(long, default_value_t = 2)]
    pub scale: usize,
    /// superres: how the low-resolution images are made.
    #[arg(long, value_enum, default_value_t = DownscaleArg::Area)]
    pub downscale: DownscaleArg,
    #[arg(long, value_enum)]
    pub activation: Option<ActivationArg>,
    /// Dense and sparse models: no activation on the latent code (by default it gets the hidden
    /// layers' activation, as in the Keras tutorial; ReLU codes can have dead units).
    #[arg(long)]
    pub linear_latent: bool,
    /// Reconstruction loss (dense default bce, conv default mse; linear is always mse).
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
    /// Output activation (default sigmoid; linear is always identity).
    #[arg(long, value_enum)]
    pub output: Option<OutputArg>,
    /// VAE: weight of the KL term (beta-VAE); 1 is the ELBO.
    #[arg(long)]
    pub beta: Option<f64>,
    /// VAE: the decoder's likelihood.
    #[arg(long, value_enum)]
    pub likelihood: Option<LikelihoodArg>,
    /// VAE with Gaussian likelihood: a fixed standard deviation (default: learned).
    #[arg(long)]
    pub sigma: Option<f64>,
    /// Weight of the sparse model's L1 penalty on the code.
    #[arg(long)]
    pub l1: Option<f64>,
    /// Epochs (default 10; with --resume, the new total).
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Adam learning rate (default 1e-3; with --resume it overrides the run's).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Hold out this fraction of the training set for validation (default: validate on the test set).
    #[arg(long, default_value_t = 0.0)]
    pub val_fraction: f64,
    /// Early stopping: stop after this many epochs without a better validation loss.
    #[arg(long)]
    pub patience: Option<usize>,
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Adam's epsilon (PyTorch's and Keras's 1e-8 by default).
    #[arg(long, default_value_t = 1e-8)]
    pub adam_epsilon: f64,
    /// How a batch's losses form the objective Adam steps on: the mean (default) or the sum
    /// (default for vae-mnist, as the PyTorch example). Reported losses are means either way.
    #[arg(long, value_enum)]
    pub reduction: Option<ReductionArg>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Use Burn's plain operations only, not aekit's fused CPU kernels (same numbers, slower).
    #[arg(long)]
    pub no_fused: bool,
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ModelArg {
    Linear,
    Dense,
    Conv,
    Sparse,
    /// Variational autoencoder (dense; --hidden, --latent, --beta, --likelihood).
    Vae,
    /// The PyTorch example's VAE exactly: 784-400-(20, 20)-400-784, Bernoulli likelihood.
    VaeMnist,
    /// Convolutional VAE (--channels, --latent, --beta, --likelihood).
    ConvVae,
    /// Burda et al.'s one-stochastic-layer VAE: 784-200-200 tanh, 50 latent, Bernoulli (use
    /// with --binarize).
    VaeLarge,
    /// Restoration: the Keras denoising tutorial's conv autoencoder (3x3 convs + max pooling,
    /// transposed convs back; --channels, default 32,32). Fully convolutional.
    Dae,
    /// Restoration: SRCNN (same size in and out; for superres it takes the bicubic-upscaled
    /// image; --channels 64,32 --kernels 9,5,5 by default).
    Srcnn,
    /// Super-resolution: convolutions on the low-resolution image and a pixel shuffle by
    /// --scale (ESPCN; --channels 64,32 --kernels 5,3,3 by default).
    Subpixel,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskArg {
    Reconstruct,
    Denoise,
    Superres,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum DownscaleArg {
    /// Mean of each s x s block.
    Area,
    /// Antialiased bicubic (a = -0.5, PIL's).
    Bicubic,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ReductionArg {
    Mean,
    Sum,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum LikelihoodArg {
    Bernoulli,
    Gaussian,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ActivationArg {
    Relu,
    Sigmoid,
    Tanh,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum LossArg {
    Mse,
    Bce,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum OutputArg {
    Sigmoid,
    Identity,
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
}

fn model_config(a: &Args, model: ModelArg, input: aekit::data::SampleShape) -> ModelConfig {
    let activation = a.activation.map(|x| match x {
        ActivationArg::Relu => Activation::Relu,
        ActivationArg::Sigmoid => Activation::Sigmoid,
        ActivationArg::Tanh => Activation::Tanh,
    });
    let loss = a.loss.map(|l| match l {
        LossArg::Mse => Loss::Mse,
        LossArg::Bce => Loss::Bce,
    });
    let output = a.output.map(|o| match o {
        OutputArg::Sigmoid => Output::Sigmoid,
        OutputArg::Identity => Output::Identity,
    });
    let likelihood = match a.likelihood {
        Some(LikelihoodArg::Gaussian) => Likelihood::Gaussian { sigma: a.sigma },
        _ => Likelihood::Bernoulli,
    };
    let dense = || {
        let mut c = DenseAeConfig::new(input);
        if let Some(h) = &a.hidden {
            c.hidden = h.clone();
        }
        c.latent = a.latent.unwrap_or(c.latent);
        c.activation = activation.unwrap_or(c.activation);
        c.latent_activation &= !a.linear_latent;
        c.loss = loss.unwrap_or(c.loss);
        c.output = output.unwrap_or(c.output);
        c
    };
    match model {
        ModelArg::Linear => ModelConfig::Linear(LinearAeConfig::new(input, a.latent.unwrap_or(32))),
        ModelArg::Dense => ModelConfig::Dense(dense()),
        ModelArg::VaeMnist => ModelConfig::Vae(VaeConfig::mnist_preset(input)),
        ModelArg::VaeLarge => ModelConfig::Vae(VaeConfig::large_preset(input)),
        ModelArg::Vae => {
            let mut c = VaeConfig::new(input);
            if let Some(h) = &a.hidden {
                c.hidden = h.clone();
            }
            c.latent = a.latent.unwrap_or(c.latent);
            c.activation = activation.unwrap_or(c.activation);
            c.beta = a.beta.unwrap_or(c.beta);
            c.likelihood = likelihood;
            ModelConfig::Vae(c)
        }
        ModelArg::ConvVae => {
            let mut c = ConvVaeConfig::new(input);
            if let Some(ch) = &a.channels {
                c.channels = ch.clone();
            }
            c.latent = a.latent.unwrap_or(c.latent);
            c.activation = activation.unwrap_or(c.activation);
            c.beta = a.beta.unwrap_or(c.beta);
            c.likelihood = likelihood;
            ModelConfig::ConvVae(c)
        }
        ModelArg::Sparse => {
            let mut c = SparseAeConfig::new(dense());
            c.l1 = a.l1.unwrap_or(c.l1);
            ModelConfig::Sparse(c)
        }
        ModelArg::Dae | ModelArg::Srcnn | ModelArg::Subpixel => {
            let mut c = match model {
                ModelArg::Dae => RestoreNetConfig::dae(input),
                ModelArg::Srcnn => RestoreNetConfig::srcnn(input),
                _ => RestoreNetConfig::subpixel(input, a.scale),
            };
            if let Some(ch) = &a.channels {
                c.channels = ch.clone();
            }
            if let Some(k) = &a.kernels {
                c.kernels = k.clone();
            }
            c.loss = loss.unwrap_or(c.loss);
            c.output = output.unwrap_or(c.output);
            ModelConfig::Restore(c)
        }
        ModelArg::Conv => {
            let mut c = ConvAeConfig::new(input);
            if let Some(ch) = &a.channels {
                c.channels = ch.clone();
            }
            c.latent = a.latent;
            c.activation = activation.unwrap_or(c.activation);
            c.loss = loss.unwrap_or(c.loss);
            c.output = output.unwrap_or(c.output);
            ModelConfig::Conv(c)
        }
    }
}

fn task(a: &Args, model: &ModelConfig) -> Result<Task> {
    use aekit::data::degrade::{Corruption, Downscale};
    Ok(match a.task {
        TaskArg::Reconstruct => Task::Reconstruct,
        TaskArg::Denoise => Task::Denoise(aekit::tasks::denoise::DenoiseTask::new(Corruption::parse_list(&a.noise)?)?),
        TaskArg::Superres => {
            let d = match a.downscale {
                DownscaleArg::Area => Downscale::Area,
                DownscaleArg::Bicubic => Downscale::Bicubic,
            };
            Task::Superres(aekit::tasks::superres::SuperresTask::for_model(a.scale, d, model)?)
        }
    })
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
    fn epoch_end(&mut self, s: &EpochStats) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        if !self.quiet {
            eprintln!(
                "epoch {:>3}: train loss {:.5}, validation loss {:.5}, validation MSE/pixel {:.5}, {:.1} s",
                s.epoch, s.train_loss, s.val_loss, s.val_mse, s.seconds
            );
        }
    }
}

pub fn run(a: Args) -> Result<()> {
    let device = a.device.backend().device()?;
    let mut progress = Progress::new(a.quiet);
    let (out, report) = match (&a.resume, a.model) {
        (Some(run), _) => {
            // The data of the interrupted run, unless --data names other data.
            let data: DataArgs = match &a.data.data {
                Some(_) => a.data.clone(),
                None => {
                    let (_, _, data) = aekit::train::run::read_config(run)?;
                    let saved = data.get("args").cloned().unwrap_or_default();
                    serde_json::from_value(saved).map_err(|e| {
                        anyhow::Error::new(aekit::Error::InvalidArgument {
                            name: "resume",
                            msg: format!("{}: no data settings to resume with ({e}); pass --data", run.join("config.json").display()),
                        })
                    })?
                }
            };
            let split = data.load(a.seed, a.quiet)?;
            let (_, report) = if aekit::train::run::read_task(run)?.is_restoration() {
                aekit::tasks::restore::resume(run, &split, &device, a.epochs, a.lr, &mut progress)?
            } else {
                aekit::tasks::reconstruct::resume(run, &split, &device, a.epochs, a.lr, &mut progress)?
            };
            (run.clone(), report)
        }
        (None, Some(model)) => {
            let out = a.out.clone().expect("clap requires --out without --resume");
            let split = a.data.load(a.seed, a.quiet)?;
            let model_cfg = model_config(&a, model, split.train.shape());
            let mut cfg = TrainConfig::new()
                .with_batch_size(a.batch_size)
                .with_weight_decay(a.weight_decay)
                .with_adam_epsilon(a.adam_epsilon)
                .with_seed(a.seed)
                .with_val_fraction(a.val_fraction)
                .with_patience(a.patience)
                .with_fused(!a.no_fused)
                .with_reduction(match (a.reduction, model) {
                    (Some(ReductionArg::Sum), _) | (None, ModelArg::VaeMnist) => Reduction::Sum,
                    _ => Reduction::Mean,
                });
            cfg.epochs = a.epochs.unwrap_or(cfg.epochs);
            cfg.lr = a.lr.unwrap_or(cfg.lr);
            let data = serde_json::json!({ "data": a.data.name()?, "args": a.data });
            let task = task(&a, &model_cfg)?;
            let (_, report) = match task {
                Task::Reconstruct => aekit::tasks::reconstruct::run(&model_cfg, &cfg, &split, &data, &device, &out, &mut progress)?,
                _ => aekit::tasks::restore::run(&model_cfg, &cfg, &task, &split, &data, &device, &out, &mut progress)?,
            };
            (out, report)
        }
        (None, None) => unreachable!("clap requires --model or --resume"),
    };
    if !a.quiet {
        println!(
            "{}: test MSE/pixel {:.5} (PSNR {:.2} dB, pixels in [0, 1]), test loss {:.5} ({}){}",
            report.model,
            report.test_mse,
            report.test_psnr_db,
            report.test_loss,
            report.loss,
            report.test_bce.map(|b| format!(", test BCE/pixel {b:.5}")).unwrap_or_default()
        );
        if report.stopped_early {
            println!("stopped early after epoch {} (best validation loss at epoch {})", report.epochs.len(), report.best_epoch);
        }
        if let Some(extra) = &report.extra {
            println!("{}", serde_json::to_string_pretty(extra)?);
        }
        println!("wrote {}", out.display());
    }
    Ok(())
}
