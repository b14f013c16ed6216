//! `aekit anomaly fit` and `aekit anomaly score`: anomaly detection with an autoencoder trained
//! on normal data only.

use std::path::PathBuf;

use aekit::data::SampleShape;
use aekit::models::ModelConfig;
use aekit::apps::anomaly::{self, Detector, FitOptions, Input, Rule, ScoreKind};
use aekit::train::TrainConfig;
use anyhow::Result;

use crate::codes::{RunArgs, SplitArg};
use crate::common::DataArgs;
use crate::common::{DeviceArg, Progress};
use crate::model::ModelFlags;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Train a detector on normal data (images or CSV) into a run folder.
    Fit(FitArgs),
    /// Score data with a detector: scores.csv, report.json, ROC/PR curves, heat maps.
    Score(ScoreArgs),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ScoreArg {
    /// Reconstruction MSE per value.
    Mse,
    /// Reconstruction mean absolute error per value.
    Mae,
    /// Per column, how rare the absolute error is among the training rows' errors (-ln of the
    /// right-tail probability, summed over columns; ECOD's rule on the residuals).
    Tail,
    /// A VAE's negative ELBO (z at the posterior mean).
    Elbo,
    /// Images: squared error relative to the reconstruction's ink (the default for images).
    Relative,
}

/// The model and training options `anomaly fit` and `bench one-class` share.
#[derive(clap::Args, Debug)]
pub struct ModelOpts {
    /// The model (any of `aekit train`'s; default: dense for tables, conv for images,
    /// conv1d for series windows of a multiple of 4 rows). Sizes
    /// not given are derived from the data, the code always smaller than the input.
    #[arg(long, value_parser = crate::model::names())]
    pub model: Option<String>,
    #[command(flatten)]
    pub flags: ModelFlags,
    /// Anomaly score (default: elbo for VAEs, relative for images, tail for tables, mse for
    /// series windows).
    #[arg(long, value_enum)]
    pub score: Option<ScoreArg>,
    /// Default: 15 for tables, 20 for images and series windows.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Default: 64 for tables, 128 for images and series windows.
    #[arg(long)]
    pub batch_size: Option<usize>,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Adam's L2 weight decay.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Hold out this fraction of the normal training rows to validate on (early stopping);
    /// 0: validate on the calibration set (or the test set's normal part).
    #[arg(long, default_value_t = 0.0)]
    pub val_fraction: f64,
    /// Early stopping: stop after this many epochs without a better validation loss.
    #[arg(long)]
    pub patience: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

impl ModelOpts {
    /// The model for data of `input` (the library's registry: tables get identity outputs and
    /// MSE, VAEs refuse them).
    /// `series_channels`: the columns of a series' rows, when the samples are its windows.
    pub fn model_config(&self, input: SampleShape, series_channels: Option<usize>) -> Result<ModelConfig> {
        let default = match series_channels {
            Some(c) => anomaly::default_series_model(input.len() / c.max(1)),
            None => anomaly::default_model(input),
        };
        let name = self.model.as_deref().unwrap_or(default);
        let mut opts = anomaly::sized_options(input, name, &self.flags.options(None), series_channels.is_some());
        opts.series_channels = series_channels;
        Ok(aekit::models::registry::build(name, input, &opts)?)
    }

    /// The training settings for samples of `input` (`series`: windows of a series).
    pub fn train_config(&self, input: SampleShape, series: bool) -> TrainConfig {
        TrainConfig::new()
            .with_epochs(self.epochs.unwrap_or_else(|| anomaly::default_epochs(input, series)))
            .with_batch_size(self.batch_size.unwrap_or_else(|| anomaly::default_batch_size(input, series)))
            .with_lr(self.lr)
            .with_weight_decay(self.weight_decay)
            .with_val_fraction(self.val_fraction)
            .with_patience(self.patience)
            .with_seed(self.seed)
    }

    pub fn score_kind(&self) -> Option<ScoreKind> {
        self.score.map(|s| match s {
            ScoreArg::Mse => ScoreKind::Mse,
            ScoreArg::Mae => ScoreKind::Mae,
            ScoreArg::Tail => ScoreKind::Tail,
            ScoreArg::Elbo => ScoreKind::NegElbo,
            ScoreArg::Relative => ScoreKind::RelativeError,
        })
    }
}

#[derive(clap::Args, Debug)]
pub struct FitArgs {
    #[command(flatten)]
    pub model: ModelOpts,
    /// Normal data: images or a CSV table. Every row of a table trains (or calibrates) unless
    /// --test-fraction holds a seeded part out as a test set.
    #[command(flatten)]
    pub data: DataArgs,
    /// Run folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Train only on samples with these labels (e.g. one MNIST digit); others are anomalies.
    #[arg(long, value_delimiter = ',')]
    pub normal_labels: Option<Vec<u32>>,
    /// Default contamination fraction c: flag scores above the (1 - c) quantile of training scores.
    #[arg(long, default_value_t = 0.1)]
    pub contamination: f64,
    /// Default significance level of the conformal p-value rule.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Fraction of the normal training data held out to calibrate p-values (0: none).
    #[arg(long, default_value_t = 0.2)]
    pub calibration_fraction: f64,
    /// Series: train on windows of this many consecutive rows (a table in time order); `score`
    /// then gives every time point a score.
    #[arg(long)]
    pub window: Option<usize>,
    /// Series: rows between the starts of training windows (default 1).
    #[arg(long, requires = "window")]
    pub stride: Option<usize>,
    /// Series: a time point's score is the sum of its covering windows' scores over the window
    /// length, windows missing at the ends counted at the training median (`shrunk`, the
    /// default, chosen on validation series: bench/series/validate.py), or their mean (`window`).
    #[arg(long, requires = "window", value_enum)]
    pub point_score: Option<PointScoreArg>,
}

#[derive(clap::Args, Debug)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub on: RunArgs,
    /// Data to score: a CSV file (streamed in batches, scored whole) or images (see --split).
    #[command(flatten)]
    pub data: DataArgs,
    /// The scores CSV; report.json and figures go to the same folder.
    #[arg(long)]
    pub out: PathBuf,
    /// For image datasets: which part to score.
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    /// Flag scores above the (1 - C) quantile of the training scores (default: the run's).
    #[arg(long, conflicts_with_all = ["threshold", "alpha"])]
    pub contamination: Option<f64>,
    /// Flag scores above this value.
    #[arg(long, conflicts_with = "alpha")]
    pub threshold: Option<f64>,
    /// Flag conformal p-values <= ALPHA (false-alarm rate at most ALPHA on normal data).
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Labels that are normal (default: the run's --normal-labels); others count as anomalies.
    #[arg(long, value_delimiter = ',')]
    pub normal_labels: Option<Vec<u32>>,
}

pub fn run(c: Command) -> Result<()> {
    match c {
        Command::Fit(a) => fit(a),
        Command::Score(a) => score(a),
    }
}

fn fit(a: FitArgs) -> Result<()> {
    let m = &a.model;
    let device = m.device.device()?;
    // A table of normal rows trains whole unless a test split is asked for.
    let mut data = a.data.clone();
    data.test_fraction.get_or_insert(0.0);
    let mut split = data.load(m.seed, m.quiet)?;
    let mut series_channels = None;
    let window = match a.window {
        None => None,
        Some(size) => {
            if a.normal_labels.is_some() || a.data.test_fraction.is_some() {
                return Err(anyhow::Error::new(aekit::Error::InvalidArgument {
                    name: "window",
                    msg: "a series trains on its windows in time order: --normal-labels and --test-fraction do not apply (score a separate test series)".into(),
                }));
            }
            let mut spec = anomaly::WindowSpec::new(size, a.stride.unwrap_or(1), data.time_column.clone())?;
            if let Some(p) = a.point_score {
                spec = spec.with_point_score(match p {
                    PointScoreArg::Shrunk => anomaly::PointScore::Shrunk,
                    PointScoreArg::Window => anomaly::PointScore::Window,
                });
            }
            series_channels = Some(split.train.sample_len());
            split.train = anomaly::windows(&split.train, &spec, std::path::Path::new(data.name()?))?;
            split.test = split.train.head(0);
            Some(spec)
        }
    };
    let model_cfg = m.model_config(split.train.shape(), series_channels)?;
    let opts = FitOptions {
        score: m.score_kind(),
        contamination: a.contamination,
        alpha: a.alpha,
        calibration_fraction: a.calibration_fraction,
        normal_labels: a.normal_labels.clone(),
        label_column: a.data.label_column.clone(),
        seed: m.seed,
        window,
        checkpoints: Default::default(),
    };
    let request = aekit::train::TrainRequest::new(model_cfg, m.train_config(split.train.shape(), opts.window.is_some())).with_data(data.describe()?);
    let r = anomaly::fit(&request, &split, &opts, &device, &a.out, &mut Progress::new(m.quiet))?;
    if !m.quiet {
        println!("{} trained on {} normal samples; score: {}", r.model, r.n_train, r.score);
        println!("threshold {:.6} (the {:.3} quantile of the training scores)", r.threshold, 1.0 - r.contamination);
        if let Some(f) = r.test_false_alarm_rate_at_threshold {
            println!("normal test samples above it: {:.4} (expected about {})", f, r.contamination);
        }
        for c in &r.conformal {
            println!("alpha {:.2}: false-alarm rate {:.4} on {} normal test samples", c.alpha, c.false_alarm_rate, c.n_normal);
        }
        if let (Some(auc), Some(ap)) = (r.test_auroc, r.test_auprc) {
            println!("test: AUROC {auc:.4}, average precision {ap:.4} ({} normal, {} anomalous)", r.n_test_normal, r.n_test_anomalous);
        }
        println!("wrote {}", a.out.display());
    }
    Ok(())
}

fn score(a: ScoreArgs) -> Result<()> {
    let device = a.on.device.device()?;
    let det = Detector::open(&a.on.run, &device)?;
    let rule = match (a.threshold, a.alpha, a.contamination) {
        (Some(t), _, _) => Rule::Threshold(t),
        (None, Some(al), _) => Rule::Alpha(al),
        (None, None, c) => Rule::Contamination(c.unwrap_or(det.state.contamination)),
    };
    let name = a.data.name()?;
    let csv = std::path::Path::new(name);
    let r = if csv.is_file() && aekit::data::table::is_table(csv) {
        let input = Input::Table { path: csv, label_column: a.data.label_column.as_deref(), time_column: a.data.time_column.as_deref() };
        anomaly::score(&det, input, rule, a.normal_labels.clone(), &a.out, &device)?
    } else {
        let ds = a.split.pick(a.data.load(0, a.on.quiet)?);
        anomaly::score(&det, Input::Dataset(&ds), rule, a.normal_labels.clone(), &a.out, &device)?
    };
    if !a.on.quiet {
        println!("{} samples scored, {} flagged ({:.4}): {}", r.n, r.n_flagged, r.flagged_fraction, r.rule);
        if let Some(f) = r.false_alarm_rate {
            let vs = r.alpha.map(|al| format!(" (alpha {al})")).unwrap_or_default();
            println!("false-alarm rate on normal samples {f:.4}{vs}");
        }
        if let (Some(auc), Some(ap)) = (r.auroc, r.auprc) {
            println!("AUROC {auc:.4}, average precision {ap:.4}");
        }
        println!("wrote {}", a.out.display());
    }
    Ok(())
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum PointScoreArg {
    Shrunk,
    Window,
}
