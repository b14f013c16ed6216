//! `aekit train`

use std::path::PathBuf;

use aekit::apps::restore::{photo_defaults, photo_defaults_for, PhotoDefaults};
use aekit::models::ModelConfig;
use aekit::train::objective::{Denoise, Objective, Superres};
use aekit::train::run::ResumeOptions;
use aekit::train::{LrSchedule, Reduction, TrainConfig, TrainRequest};
use anyhow::Result;

use crate::common::{DataArgs, DeviceArg, Progress};
use crate::model::ModelFlags;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The model (see the list below; presets such as vae-mnist bring their own settings).
    /// Without it, --task denoise trains dncnn and --task superres vdsr, with batch size 16, a
    /// cosine learning rate and (superres) bicubic downscaling unless given: the photo defaults,
    /// which the photo models (dncnn, vdsr, unet) also keep when named.
    #[arg(long, value_parser = crate::model::names())]
    pub model: Option<String>,
    /// Continue the interrupted run in this folder from its last checkpoint (model, optimizer,
    /// data and settings from its config.json; --epochs may extend it).
    #[arg(long, conflicts_with = "model")]
    pub resume: Option<PathBuf>,
    #[command(flatten)]
    pub model_flags: ModelFlags,
    #[command(flatten)]
    pub data: DataArgs,
    /// Run folder for config.json, model.safetensors, metrics.csv, figures and report.json.
    #[arg(long, required_unless_present = "resume")]
    pub out: Option<PathBuf>,
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
    /// (default area; bicubic with the photo defaults, i.e. without --model).
    #[arg(long, value_enum)]
    pub downscale: Option<DownscaleArg>,
    /// Epochs (default 10; with --resume, the new total).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Samples per step (default 128; 16 with the photo defaults, i.e. without --model).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Adam learning rate (default 1e-3; with --resume it overrides the run's).
    #[arg(long)]
    pub lr: Option<f64>,
    /// How the learning rate changes: constant (default) or cosine (annealed to 0 over all
    /// steps; default with the photo defaults, i.e. without --model).
    #[arg(long, value_enum)]
    pub lr_schedule: Option<LrScheduleArg>,
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
pub enum LrScheduleArg {
    Constant,
    Cosine,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ReductionArg {
    Mean,
    Sum,
}








fn objective(a: &Args, model: &ModelConfig, photo: Option<PhotoDefaults>) -> Result<Objective> {
    use aekit::data::degrade::{Corruption, Downscale};
    Ok(match a.task {
        TaskArg::Reconstruct => Objective::Reconstruct,
        TaskArg::Denoise => Objective::Denoise(Denoise::new(Corruption::parse_list(&a.noise)?)?),
        TaskArg::Superres => {
            let d = match (a.downscale, photo) {
                (Some(DownscaleArg::Area), _) => Downscale::Area,
                (Some(DownscaleArg::Bicubic), _) => Downscale::Bicubic,
                (None, Some(p)) => p.downscale,
                (None, None) => Downscale::Area,
            };
            Objective::Superres(Superres::for_model(a.scale, d, model)?)
        }
    })
}




fn task_name(t: TaskArg) -> &'static str {
    match t {
        TaskArg::Reconstruct => "reconstruct",
        TaskArg::Denoise => "denoise",
        TaskArg::Superres => "superres",
    }
}

pub fn run(a: Args) -> Result<()> {
    let device = a.device.device()?;
    let mut progress = Progress::new(a.quiet);
    let (out, report) = match (&a.resume, &a.model) {
        (Some(run), _) => {
            // config.json is read once: the request (model, settings, objective) and the data.
            let resume = ResumeOptions { epochs: a.epochs, lr: a.lr };
            let request = resume.apply(aekit::train::run::read_request(run)?);
            // The data of the interrupted run, unless --data names other data.
            let saved = request.data.get("args").cloned().unwrap_or_default();
            let data: DataArgs = match &a.data.data {
                // Other data, the run's epoch size (the photo defaults set it at the start).
                Some(_) => DataArgs {
                    epoch_pixels: saved.get("epoch_pixels").and_then(|v| v.as_u64()).map(|v| v as usize),
                    tone_augment: a.data.tone_augment.or(saved.get("tone_augment").and_then(|v| v.as_f64()).map(|v| v as f32)),
                    ..a.data.clone()
                },
                None => {
                    serde_json::from_value(saved).map_err(|e| {
                        anyhow::Error::new(aekit::Error::InvalidArgument {
                            name: "resume",
                            msg: format!("{}: no data settings to resume with ({e}); pass --data", run.join("config.json").display()),
                        })
                    })?
                }
            };
            let split = data.load(a.seed, a.quiet)?;
            (run.clone(), aekit::apps::resume_run(&request, &split, &device, run, &mut progress)?.report)
        }
        (None, model) => {
            let out = a.out.clone().expect("clap requires --out without --resume");
            let photo = match model {
                Some(m) => photo_defaults_for(task_name(a.task), m),
                None => Some(photo_defaults(task_name(a.task)).ok_or_else(|| {
                    anyhow::Error::new(aekit::Error::InvalidArgument { name: "model", msg: "--model is required for --task reconstruct (e.g. --model conv)".into() })
                })?),
            };
            let model = model.as_deref().or(photo.map(|p| p.model)).expect("one of the two");
            let mut data = a.data.clone();
            data.epoch_pixels = photo.map(|p| p.epoch_pixels);
            if data.patch_size.is_some() {
                data.tone_augment = data.tone_augment.or(photo.map(|p| p.tone));
            }
            let split = data.load(a.seed, a.quiet)?;
            let preset = aekit::models::registry::find(model)?;
            let model_cfg = a.model_flags.build(model, split.train.shape(), Some(a.scale))?;
            let mut cfg = TrainConfig::new()
                .with_batch_size(a.batch_size.or(photo.map(|p| p.batch_size)).unwrap_or(128))
                .with_weight_decay(a.weight_decay)
                .with_adam_epsilon(a.adam_epsilon)
                .with_seed(a.seed)
                .with_val_fraction(a.val_fraction)
                .with_patience(a.patience)
                .with_fused(!a.no_fused)
                .with_lr_schedule(match (a.lr_schedule, photo) {
                    (Some(LrScheduleArg::Constant), _) | (None, None) => LrSchedule::Constant,
                    (Some(LrScheduleArg::Cosine), _) => LrSchedule::Cosine,
                    (None, Some(p)) => p.lr_schedule,
                })
                .with_reduction(match a.reduction {
                    Some(ReductionArg::Sum) => Reduction::Sum,
                    Some(ReductionArg::Mean) => Reduction::Mean,
                    None => preset.reduction,
                });
            cfg.epochs = a.epochs.unwrap_or(cfg.epochs);
            cfg.lr = a.lr.unwrap_or(cfg.lr);
            let objective = objective(&a, &model_cfg, photo)?;
            let request = TrainRequest::new(model_cfg, cfg).with_objective(objective).with_data(data.describe()?);
            (out.clone(), aekit::apps::train_run(&request, &split, &device, &out, &mut progress)?.report)
        }
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
