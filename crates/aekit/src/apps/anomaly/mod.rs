//! Anomaly detection: an autoencoder trained on normal data only reconstructs anomalies badly,
//! so its reconstruction error (or a VAE's negative ELBO) is an anomaly score.
//!
//! `fit` trains on the normal samples and stores in the run folder, beside the usual training
//! files, `anomaly.json` (the score, the training scores for the contamination threshold, the
//! held-out calibration scores for conformal p-values) and, for tables, `standardize.json`
//! (column means and scales fitted on the training rows). `score` flags samples by one of three
//! rules and writes `scores.csv`, `report.json` and figures; CSV files are streamed in batches.
//!
//! Conformal p-values (split conformal, Vovk et al.; Bates et al. 2023): with n calibration
//! scores of normal data not used for training, p(s) = (1 + #{calibration scores >= s}) / (n + 1).
//! For a normal sample exchangeable with the calibration set, P(p <= alpha) <= alpha, so
//! flagging p <= alpha bounds the false-alarm rate by alpha.

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::prelude::*;

use crate::data::{Dataset, SampleShape, Split};
use crate::error::{Error, Result};
use crate::metrics::{self, CurvePoint};
use crate::models::{activate, Autoencoder, Model, ModelConfig};
use crate::train::run::Run;
use crate::train::{Observer, TrainConfig, TrainRequest};
use crate::viz::grid::Grid;
use crate::viz::plot::{LineChart, Series};

/// The detector's state in a run folder.
pub const STATE_FILE: &str = "anomaly.json";
/// Column statistics of a tabular run.
pub const STANDARDIZE_FILE: &str = "standardize.json";
/// The fit's report (false-alarm rates, held-out AUROC) in a run folder.
pub const FIT_REPORT_FILE: &str = "anomaly_report.json";
/// Rows per batch when scoring: memory is bounded by the batch, not by the input's length.
pub const BATCH: usize = 1000;

/// What the anomaly score is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreKind {
    /// Mean squared reconstruction error per value (pixel in [0, 1], or standardized column).
    Mse,
    /// A VAE's negative ELBO per sample in nats, with z at the posterior mean (deterministic):
    /// -log p(x|z=mu) + KL(q(z|x) || N(0, I)).
    NegElbo,
}

impl ScoreKind {
    pub fn describe(self) -> &'static str {
        match self {
            ScoreKind::Mse => "reconstruction MSE, mean per value (pixels in [0, 1], or standardized columns)",
            ScoreKind::NegElbo => "negative ELBO per sample in nats, z at the posterior mean: -log p(x|z) + KL(q(z|x) || N(0, I))",
        }
    }
}

/// Column statistics fitted on the training rows: z = (x - mean) / scale, with scale the
/// standard deviation (ddof 0), or 1 for a constant column (scikit-learn's `StandardScaler`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Standardizer {
    pub columns: Vec<String>,
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
}

impl Standardizer {
    /// Fits on the rows of a tabular dataset.
    pub fn fit(ds: &Dataset) -> Result<Self> {
        let SampleShape::Tabular { features } = ds.shape() else {
            return Err(Error::Shape(format!("standardization is for tables, the data has {}", ds.shape())));
        };
        let n = ds.len().max(1) as f64;
        let mut mean = vec![0.0f64; features];
        for row in ds.data().chunks_exact(features) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0f64; features];
        for row in ds.data().chunks_exact(features) {
            for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (v as f64 - m).powi(2);
            }
        }
        let scale = var.iter().map(|s| (s / n).sqrt()).map(|s| if s > 0.0 { s } else { 1.0 }).collect();
        let columns = ds.feature_names.clone().unwrap_or_else(|| (0..features).map(|j| format!("x{j}")).collect());
        Ok(Standardizer { columns, mean, scale })
    }

    /// Standardizes one row in place.
    pub fn apply(&self, row: &mut [f32]) {
        for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
            *v = ((*v as f64 - m) / s) as f32;
        }
    }

    /// A standardized copy of a dataset.
    pub fn apply_dataset(&self, ds: &Dataset) -> Result<Dataset> {
        let mut data = ds.data().to_vec();
        for row in data.chunks_exact_mut(ds.sample_len()) {
            self.apply(row);
        }
        let mut out = Dataset::new(data, ds.shape(), ds.labels().map(|l| l.to_vec()))?;
        out.feature_names = ds.feature_names.clone();
        out.class_names = ds.class_names.clone();
        Ok(out)
    }
}

/// What `anomaly.json` holds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DetectorState {
    pub score: ScoreKind,
    /// The default contamination fraction c; the default threshold is the (1 - c) quantile of
    /// the training scores (PyOD's rule: flag score > threshold).
    pub contamination: f64,
    pub threshold: f64,
    /// The default significance level for the p-value rule.
    pub alpha: f64,
    /// Labels that count as normal (the training data were filtered to them); other labels are
    /// anomalies when scored data carry labels.
    pub normal_labels: Option<Vec<u32>>,
    /// The CSV column that held labels at fit time (tables only).
    pub label_column: Option<String>,
    /// Scores of the training samples, ascending.
    pub train_scores: Vec<f64>,
    /// Scores of the held-out normal calibration samples, ascending (empty: no p-values).
    pub calibration_scores: Vec<f64>,
}

impl DetectorState {
    /// The split-conformal p-value of `score`; `None` without a calibration set.
    pub fn p_value(&self, score: f64) -> Option<f64> {
        conformal_p_value(&self.calibration_scores, score)
    }
}

/// (1 + #{calibration >= s}) / (n + 1) for `calibration` sorted ascending; `None` when empty.
pub fn conformal_p_value(calibration: &[f64], s: f64) -> Option<f64> {
    if calibration.is_empty() {
        return None;
    }
    let below = calibration.partition_point(|&c| c < s);
    Some((1 + calibration.len() - below) as f64 / (calibration.len() + 1) as f64)
}

/// How `fit` prepares data and thresholds.
#[derive(Debug, Clone)]
pub struct FitOptions {
    /// Default: the negative ELBO for VAEs, MSE otherwise.
    pub score: Option<ScoreKind>,
    pub contamination: f64,
    pub alpha: f64,
    /// Fraction of the normal training samples held out (seeded) for conformal calibration;
    /// 0 trains on all of them and gives no p-values.
    pub calibration_fraction: f64,
    /// Keep only samples with these labels as normal data (e.g. one MNIST digit).
    pub normal_labels: Option<Vec<u32>>,
    pub label_column: Option<String>,
    pub seed: u64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions { score: None, contamination: 0.1, alpha: 0.05, calibration_fraction: 0.2, normal_labels: None, label_column: None, seed: 0 }
    }
}

/// The empirical false-alarm rate of the p-value rule at one alpha.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AlphaCheck {
    pub alpha: f64,
    /// Fraction of held-out normal test samples with p <= alpha.
    pub false_alarm_rate: f64,
    pub n_normal: usize,
}

/// What `fit` writes to `anomaly_report.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FitReport {
    pub model: String,
    pub score: String,
    pub normal_labels: Option<Vec<u32>>,
    pub n_train: usize,
    pub n_calibration: usize,
    /// Normal and anomalous samples of the test part of the data.
    pub n_test_normal: usize,
    pub n_test_anomalous: usize,
    pub contamination: f64,
    /// The (1 - contamination) quantile of the training scores.
    pub threshold: f64,
    /// Fraction of normal test samples with score > threshold.
    pub test_false_alarm_rate_at_threshold: Option<f64>,
    /// The p-value rule's false-alarm rate on normal test samples, next to alpha.
    pub conformal: Vec<AlphaCheck>,
    /// Area under the ROC curve on the test part (anomalies = labels not normal), in [0, 1].
    pub test_auroc: Option<f64>,
    /// Average precision (scikit-learn's `average_precision_score`) on the test part.
    pub test_auprc: Option<f64>,
    pub train_seconds: f64,
}

fn keep_labels(ds: &Dataset, normal: &[u32], what: &str) -> Result<(Dataset, Vec<bool>)> {
    let labels = ds.labels().ok_or_else(|| Error::arg("normal labels", format!("the {what} data have no labels to select normal samples by")))?;
    let anomalous: Vec<bool> = labels.iter().map(|l| !normal.contains(l)).collect();
    let idx: Vec<usize> = (0..ds.len()).filter(|&i| !anomalous[i]).collect();
    Ok((ds.select(&idx), anomalous))
}

/// Trains a detector on the normal samples of `split.train` and writes the run folder `out`
/// (training files, `anomaly.json`, `standardize.json` for tables, `anomaly_report.json`, and
/// `roc.png`/`pr.png` when the test part holds anomalies). Tabular data are standardized with
/// statistics of the training rows; the request's model must take them (identity output for
/// tables).
pub fn fit(request: &TrainRequest, split: &Split, opts: &FitOptions, device: &Device, out: &Path, observer: &mut dyn Observer) -> Result<FitReport> {
    let model_cfg = &request.model;
    if !(opts.contamination > 0.0 && opts.contamination < 1.0) {
        return Err(Error::arg("contamination", format!("{}: expected a fraction in (0, 1), e.g. 0.1", opts.contamination)));
    }
    if !(opts.alpha > 0.0 && opts.alpha < 1.0) {
        return Err(Error::arg("alpha", format!("{}: expected a level in (0, 1), e.g. 0.05", opts.alpha)));
    }
    if !(0.0..1.0).contains(&opts.calibration_fraction) {
        return Err(Error::arg("calibration fraction", format!("{}: expected 0 (no p-values) or a fraction in (0, 1)", opts.calibration_fraction)));
    }
    let variational = model_cfg.is_variational();
    let score = opts.score.unwrap_or(if variational { ScoreKind::NegElbo } else { ScoreKind::Mse });
    if score == ScoreKind::NegElbo && !variational {
        return Err(Error::arg("score", format!("the negative ELBO needs a VAE (--model vae or conv-vae), not {}; use the MSE score", model_cfg.name())));
    }
    let (train, test, test_anomalous) = match &opts.normal_labels {
        Some(normal) => {
            let (train, _) = keep_labels(&split.train, normal, "training")?;
            let (_, anomalous) = keep_labels(&split.test, normal, "test")?;
            (train, split.test.clone(), anomalous)
        }
        None => (split.train.clone(), split.test.clone(), vec![false; split.test.len()]),
    };
    if train.len() < 2 {
        return Err(Error::arg("normal labels", format!("{} normal training samples: too few to train on", train.len())));
    }
    let standardizer = match train.shape() {
        SampleShape::Tabular { .. } => Some(Standardizer::fit(&train)?),
        SampleShape::Image { .. } => None,
    };
    let (train, test) = match &standardizer {
        Some(s) => (s.apply_dataset(&train)?, s.apply_dataset(&test)?),
        None => (train, test),
    };
    let (fit_set, calibration) = if opts.calibration_fraction > 0.0 {
        let s = train.split(opts.calibration_fraction, opts.seed)?;
        (s.train, Some(s.test))
    } else {
        (train, None)
    };
    let normal_idx: Vec<usize> = (0..test.len()).filter(|&i| !test_anomalous[i]).collect();
    let test_normal = test.select(&normal_idx);
    // Validation during training uses normal data only: the test's normal part, else the
    // calibration set, else the training set itself.
    let val = match (&calibration, test_normal.is_empty()) {
        (_, false) => test_normal.clone(),
        (Some(c), true) => c.clone(),
        (None, true) => fit_set.clone(),
    };
    let fitted = crate::apps::train_run(request, &Split { train: fit_set.clone(), test: val }, device, out, observer)?;
    let (model, train_report) = (fitted.model, fitted.report);
    check_score(&model, score)?;

    let mut train_scores = scores(&model, score, &fit_set, device);
    train_scores.sort_by(f64::total_cmp);
    let threshold = metrics::quantile(&train_scores, 1.0 - opts.contamination).expect("at least 2 training samples");
    let mut calibration_scores = calibration.as_ref().map(|c| scores(&model, score, c, device)).unwrap_or_default();
    calibration_scores.sort_by(f64::total_cmp);
    let state = DetectorState {
        score,
        contamination: opts.contamination,
        threshold,
        alpha: opts.alpha,
        normal_labels: opts.normal_labels.clone(),
        label_column: opts.label_column.clone(),
        train_scores,
        calibration_scores,
    };

    let test_scores = scores(&model, score, &test, device);
    let normal_scores: Vec<f64> = normal_idx.iter().map(|&i| test_scores[i]).collect();
    let rate = |flag: &dyn Fn(f64) -> bool| {
        (!normal_scores.is_empty()).then(|| normal_scores.iter().filter(|&&s| flag(s)).count() as f64 / normal_scores.len() as f64)
    };
    let mut alphas = vec![0.01, 0.05, 0.1, 0.2];
    if !alphas.contains(&opts.alpha) {
        alphas.push(opts.alpha);
        alphas.sort_by(f64::total_cmp);
    }
    let conformal = if state.calibration_scores.is_empty() || normal_scores.is_empty() {
        Vec::new()
    } else {
        alphas
            .iter()
            .map(|&a| AlphaCheck {
                alpha: a,
                false_alarm_rate: rate(&|s| state.p_value(s).is_some_and(|p| p <= a)).unwrap_or(0.0),
                n_normal: normal_scores.len(),
            })
            .collect()
    };
    crate::io::create_dir(out)?;
    if test_anomalous.iter().any(|&a| a) && !normal_scores.is_empty() {
        curves(&test_scores, &test_anomalous, "held-out test set", out)?;
    }
    let report = FitReport {
        model: model_cfg.name().to_string(),
        score: score.describe().to_string(),
        normal_labels: opts.normal_labels.clone(),
        n_train: fit_set.len(),
        n_calibration: state.calibration_scores.len(),
        n_test_normal: normal_scores.len(),
        n_test_anomalous: test.len() - normal_scores.len(),
        contamination: opts.contamination,
        threshold,
        test_false_alarm_rate_at_threshold: rate(&|s| s > threshold),
        conformal,
        test_auroc: metrics::auroc(&test_scores, &test_anomalous),
        test_auprc: metrics::average_precision(&test_scores, &test_anomalous).filter(|_| !normal_scores.is_empty()),
        train_seconds: train_report.train_seconds,
    };
    if let Some(s) = &standardizer {
        crate::io::write_json(&out.join(STANDARDIZE_FILE), s)?;
    }
    crate::io::write_json(&out.join(STATE_FILE), &state)?;
    crate::io::write_json(&out.join(FIT_REPORT_FILE), &report)?;
    Ok(report)
}

fn check_score(model: &Model, score: ScoreKind) -> Result<()> {
    if score == ScoreKind::NegElbo && model.variational().is_none() {
        return Err(Error::arg("score", "the negative ELBO needs a VAE (--model vae or conv-vae); use the MSE score"));
    }
    Ok(())
}

/// Scores, reconstructions and squared errors of one batch.
///
/// # Shapes
/// `x`: `[B, P]` → scores `[B]`, reconstructions and squared errors `[B * P]` (data space)
fn score_batch(model: &Model, kind: ScoreKind, x: Tensor<2>) -> (Vec<f64>, Vec<f32>, Vec<f32>) {
    let [b, p] = x.dims();
    let input = to_vec(x.clone());
    let recon = to_vec(activate(model.decode(model.encode(x.clone())), model.output()));
    let sq: Vec<f32> = recon.iter().zip(&input).map(|(r, v)| (r - v) * (r - v)).collect();
    let s: Vec<f64> = match (kind, model.variational()) {
        (ScoreKind::NegElbo, Some(vae)) => {
            let parts = vae.elbo_parts(x, None);
            let rec: Vec<f32> = to_vec(parts.reconstruction);
            let kl: Vec<f32> = to_vec(parts.kl);
            rec.iter().zip(&kl).map(|(r, k)| *r as f64 + *k as f64).collect()
        }
        _ => sq.chunks_exact(p).map(|r| r.iter().map(|&e| e as f64).sum::<f64>() / p as f64).collect(),
    };
    debug_assert_eq!(s.len(), b);
    (s, recon, sq)
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap_or_default()
}

/// The anomaly score of every sample of an (already standardized) dataset.
pub fn scores(model: &Model, kind: ScoreKind, ds: &Dataset, device: &Device) -> Vec<f64> {
    let idx: Vec<usize> = (0..ds.len()).collect();
    idx.chunks(BATCH).flat_map(|c| score_batch(model, kind, crate::data::batch_tensor(ds, c, device)).0).collect()
}

/// Writes `roc.png` and `pr.png` for scores against known anomalies.
pub fn curves(scores: &[f64], anomalous: &[bool], what: &str, out: &Path) -> Result<()> {
    let (Some(roc), Some(pr), Some(auc), Some(ap)) = (
        metrics::roc_curve(scores, anomalous),
        metrics::precision_recall_curve(scores, anomalous),
        metrics::auroc(scores, anomalous),
        metrics::average_precision(scores, anomalous),
    ) else {
        return Ok(());
    };
    let pts = |c: &[CurvePoint]| thin(c.iter().map(|p| (p.x, p.y)).collect());
    LineChart {
        title: format!("ROC, {what}: AUROC {auc:.4}"),
        x_label: "false-positive rate (normal samples flagged)".into(),
        y_label: "true-positive rate (anomalies flagged)".into(),
        series: vec![
            Series { name: "detector".into(), points: pts(&roc) },
            Series { name: "chance".into(), points: vec![(0.0, 0.0), (1.0, 1.0)] },
        ],
        markers: vec![],
        y_range: Some((0.0, 1.0)),
    }
    .save_png(&out.join("roc.png"))?;
    let base = anomalous.iter().filter(|&&a| a).count() as f64 / anomalous.len() as f64;
    let mut pr_pts = vec![(0.0, pr.first().map(|p| p.y).unwrap_or(1.0))];
    pr_pts.extend(pts(&pr));
    LineChart {
        title: format!("Precision-recall, {what}: average precision {ap:.4}"),
        x_label: "recall (anomalies flagged)".into(),
        y_label: "precision".into(),
        series: vec![
            Series { name: "detector".into(), points: pr_pts },
            Series { name: "chance (anomaly fraction)".into(), points: vec![(0.0, base), (1.0, base)] },
        ],
        markers: vec![],
        y_range: Some((0.0, 1.0)),
    }
    .save_png(&out.join("pr.png"))
}

/// At most ~2000 points of a curve, always keeping both ends (a chart needs no more).
fn thin(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let step = points.len().div_ceil(2000).max(1);
    let last = points.len().saturating_sub(1);
    points.into_iter().enumerate().filter(|(i, _)| i % step == 0 || *i == last).map(|(_, p)| p).collect()
}

/// A trained detector: the model and `anomaly.json` (and `standardize.json` for tables).
pub struct Detector {
    pub run: Run,
    pub state: DetectorState,
    pub standardizer: Option<Standardizer>,
}

/// Which samples `score` flags.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// Score above the (1 - c) quantile of the training scores.
    Contamination(f64),
    /// Score above this value.
    Threshold(f64),
    /// Conformal p-value <= alpha.
    Alpha(f64),
}

impl Detector {
    /// Opens a run written by [`fit`].
    pub fn open(run: &Path, device: &Device) -> Result<Self> {
        let path = run.join(STATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Read { path: path.clone(), source })?;
        let state: DetectorState =
            serde_json::from_str(&text).map_err(|e| Error::input(&path, format!("not an aekit anomaly detector (aekit anomaly fit writes it): {e}")))?;
        let trained = Run::open(run, device)?;
        check_score(&trained.model, state.score)?;
        let sp = run.join(STANDARDIZE_FILE);
        let standardizer = match trained.config().input_shape() {
            SampleShape::Tabular { .. } => {
                let text = std::fs::read_to_string(&sp).map_err(|source| Error::Read { path: sp.clone(), source })?;
                Some(serde_json::from_str(&text).map_err(|e| Error::input(&sp, format!("not aekit column statistics: {e}")))?)
            }
            SampleShape::Image { .. } => None,
        };
        Ok(Detector { run: trained, state, standardizer })
    }

    /// The threshold a rule flags above (`None` for the p-value rule), checking the rule.
    fn threshold(&self, rule: Rule) -> Result<Option<f64>> {
        match rule {
            Rule::Contamination(c) => {
                if !(c > 0.0 && c < 1.0) {
                    return Err(Error::arg("contamination", format!("{c}: expected a fraction in (0, 1)")));
                }
                Ok(metrics::quantile(&self.state.train_scores, 1.0 - c))
            }
            Rule::Threshold(t) if t.is_finite() => Ok(Some(t)),
            Rule::Threshold(t) => Err(Error::arg("threshold", format!("{t}: expected a finite number"))),
            Rule::Alpha(a) => {
                if !(a > 0.0 && a < 1.0) {
                    return Err(Error::arg("alpha", format!("{a}: expected a level in (0, 1)")));
                }
                if self.state.calibration_scores.is_empty() {
                    return Err(Error::arg("alpha", "this run has no calibration set (it was fitted with --calibration-fraction 0), so no p-values"));
                }
                Ok(None)
            }
        }
    }
}

/// One column's share of the reconstruction error (tables).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ColumnRank {
    pub column: String,
    /// Mean squared error of this column over all scored rows (standardized units).
    pub mean_squared_error: f64,
    /// The same over the flagged rows (0 when none is flagged).
    pub mean_squared_error_flagged: f64,
}

/// What `score` writes to `report.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScoreReport {
    pub n: usize,
    pub score: String,
    /// The flagging rule in words.
    pub rule: String,
    pub threshold: Option<f64>,
    pub alpha: Option<f64>,
    pub n_flagged: usize,
    pub flagged_fraction: f64,
    pub n_normal: Option<usize>,
    pub n_anomalous: Option<usize>,
    /// Fraction of known-normal samples flagged (under the p-value rule: compare with alpha).
    pub false_alarm_rate: Option<f64>,
    /// Fraction of known anomalies flagged.
    pub detection_rate: Option<f64>,
    /// Area under the ROC curve (anomaly = positive), in [0, 1].
    pub auroc: Option<f64>,
    /// Average precision (scikit-learn's `average_precision_score`), in [0, 1].
    pub auprc: Option<f64>,
    /// Tables: columns by their mean squared reconstruction error, largest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<ColumnRank>>,
    /// Figures written beside the scores.
    pub figures: Vec<String>,
}

/// A sample kept for the heat-map figure.
struct Shown {
    score: f64,
    input: Vec<f32>,
    recon: Vec<f32>,
    err: Vec<f32>,
}

/// Consumes scored batches: writes rows, keeps what the report and figures need (bounded: the
/// labelled scores for AUROC, 8 + 8 images, per-column sums).
struct Sink<'a> {
    det: &'a Detector,
    threshold: Option<f64>,
    alpha: Option<f64>,
    normal: Option<Vec<u32>>,
    columns: Option<&'a [String]>,
    n: usize,
    flagged: usize,
    truth: Vec<(f64, bool, bool)>,
    top: Vec<Shown>,
    bottom: Vec<Shown>,
    col_all: Vec<f64>,
    col_flagged: Vec<f64>,
    labelled: bool,
}

const SHOWN: usize = 8;

impl Sink<'_> {
    fn header(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let mut h = String::from("index,score,p_value,flag");
        if self.labelled {
            h.push_str(",label");
            if self.normal.is_some() {
                h.push_str(",anomalous");
            }
        }
        if self.columns.is_some() {
            h.push_str(",top_columns");
        }
        writeln!(w, "{h}")
    }

    /// `x`: the batch's standardized rows `[B * P]`, as the model saw them.
    fn batch(&mut self, w: &mut dyn Write, x: Vec<f32>, b: usize, labels: Option<&[u32]>, device: &Device) -> std::io::Result<()> {
        let p = x.len() / b.max(1);
        let t = Tensor::<2>::from_data(TensorData::new(x.clone(), [b, p]), device);
        let (s, recon, sq) = score_batch(&self.det.run.model, self.det.state.score, t);
        if self.col_all.is_empty() && self.columns.is_some() {
            self.col_all = vec![0.0; p];
            self.col_flagged = vec![0.0; p];
        }
        for (i, &score) in s.iter().enumerate() {
            let pv = self.det.state.p_value(score);
            let flag = match (self.threshold, self.alpha) {
                (Some(t), _) => score > t,
                (None, Some(a)) => pv.is_some_and(|p| p <= a),
                (None, None) => false,
            };
            self.flagged += flag as usize;
            let err = &sq[i * p..(i + 1) * p];
            let mut line = format!("{},{score},{},{}", self.n, pv.map(|v| v.to_string()).unwrap_or_default(), flag as u8);
            if let Some(l) = labels {
                line.push_str(&format!(",{}", l[i]));
                if let Some(normal) = &self.normal {
                    let anomalous = !normal.contains(&l[i]);
                    line.push_str(&format!(",{}", anomalous as u8));
                    self.truth.push((score, anomalous, flag));
                }
            }
            if let Some(cols) = self.columns {
                let mut order: Vec<usize> = (0..p).collect();
                order.sort_by(|&a, &c| err[c].total_cmp(&err[a]));
                let top: Vec<&str> = order.iter().take(3).map(|&j| cols[j].as_str()).collect();
                line.push_str(&format!(",{}", csv_cell(&top.join(";"))));
                for (j, e) in err.iter().enumerate() {
                    self.col_all[j] += *e as f64;
                    if flag {
                        self.col_flagged[j] += *e as f64;
                    }
                }
            }
            writeln!(w, "{line}")?;
            if self.columns.is_none() {
                let shown = || Shown { score, input: x[i * p..(i + 1) * p].to_vec(), recon: recon[i * p..(i + 1) * p].to_vec(), err: err.to_vec() };
                keep(&mut self.top, score, true, shown);
                keep(&mut self.bottom, score, false, shown);
            }
            self.n += 1;
        }
        Ok(())
    }
}

/// Keeps the `SHOWN` highest (or lowest) scores seen, ordered best first.
fn keep(v: &mut Vec<Shown>, score: f64, highest: bool, make: impl FnOnce() -> Shown) {
    let better = |a: f64, b: f64| if highest { a > b } else { a < b };
    if v.len() < SHOWN || v.last().is_some_and(|l| better(score, l.score)) {
        let pos = v.iter().position(|s| better(score, s.score)).unwrap_or(v.len());
        v.insert(pos, make());
        v.truncate(SHOWN);
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Where the samples to score come from.
pub enum Input<'a> {
    /// Samples in memory (images, or table rows in the data's own units).
    Dataset(&'a Dataset),
    /// A CSV file, streamed in batches of [`BATCH`] rows; its header must hold the training
    /// columns (and optionally the fit's label column).
    Csv(&'a Path),
}

/// Scores `input` with the detector, flags by `rule`, and writes `out_csv` (index, score,
/// p_value, flag, and label, anomalous when known; `top_columns` for tables) and, in the
/// same folder, `report.json`, `roc.png` and `pr.png` (when labels say which samples are
/// anomalous) and `heatmap.png` (images: the most and least anomalous inputs, their
/// reconstructions and per-pixel squared errors). `normal` overrides the run's normal labels.
pub fn score(det: &Detector, input: Input, rule: Rule, normal: Option<Vec<u32>>, out_csv: &Path, device: &Device) -> Result<ScoreReport> {
    let threshold = det.threshold(rule)?;
    let alpha = match rule {
        Rule::Alpha(a) => Some(a),
        _ => None,
    };
    let normal = normal.or_else(|| det.state.normal_labels.clone());
    let columns = det.standardizer.as_ref().map(|s| s.columns.as_slice());
    let mut sink = Sink {
        det,
        threshold,
        alpha,
        normal,
        columns,
        n: 0,
        flagged: 0,
        truth: Vec::new(),
        top: Vec::new(),
        bottom: Vec::new(),
        col_all: Vec::new(),
        col_flagged: Vec::new(),
        labelled: false,
    };
    let mut failure: Option<Error> = None;
    let written = match input {
        Input::Dataset(ds) => {
            det.run.config().check_data(ds.shape())?;
            sink.labelled = ds.labels().is_some();
            crate::io::write_atomic(out_csv, |w| {
                sink.header(w)?;
                let p = ds.sample_len();
                for start in (0..ds.len()).step_by(BATCH) {
                    let end = (start + BATCH).min(ds.len());
                    let mut x = ds.data()[start * p..end * p].to_vec();
                    if let Some(s) = &det.standardizer {
                        x.chunks_exact_mut(p).for_each(|r| s.apply(r));
                    }
                    sink.batch(w, x, end - start, ds.labels().map(|l| &l[start..end]), device)?;
                }
                Ok(())
            })
        }
        Input::Csv(path) => {
            let Some(std) = &det.standardizer else {
                return Err(Error::input(path, format!("this run's model takes {}, not CSV rows", det.run.config().input_shape())));
            };
            let mut reader = CsvBatches::open(path, std, det.state.label_column.as_deref())?;
            sink.labelled = reader.label_idx.is_some();
            crate::io::write_atomic(out_csv, |w| {
                sink.header(w)?;
                loop {
                    match reader.next_batch(BATCH) {
                        Ok(Some((mut x, labels))) => {
                            let b = x.len() / std.columns.len();
                            x.chunks_exact_mut(std.columns.len()).for_each(|r| std.apply(r));
                            sink.batch(w, x, b, labels.as_deref(), device)?;
                        }
                        Ok(None) => return Ok(()),
                        Err(e) => {
                            failure = Some(e);
                            return Err(std::io::Error::other("bad input"));
                        }
                    }
                }
            })
        }
    };
    if let Some(e) = failure {
        return Err(e);
    }
    written?;
    if sink.n == 0 {
        return Err(Error::arg("data", "no samples to score"));
    }
    let dir = match out_csv.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut figures = Vec::new();
    let (mut auroc, mut auprc, mut far, mut det_rate, mut n_normal, mut n_anom) = (None, None, None, None, None, None);
    if !sink.truth.is_empty() {
        let s: Vec<f64> = sink.truth.iter().map(|t| t.0).collect();
        let a: Vec<bool> = sink.truth.iter().map(|t| t.1).collect();
        let na = a.iter().filter(|&&x| x).count();
        let nn = a.len() - na;
        let flagged_of = |want: bool| sink.truth.iter().filter(|t| t.1 == want && t.2).count() as f64;
        n_normal = Some(nn);
        n_anom = Some(na);
        far = (nn > 0).then(|| flagged_of(false) / nn as f64);
        det_rate = (na > 0).then(|| flagged_of(true) / na as f64);
        auroc = metrics::auroc(&s, &a);
        auprc = if nn > 0 { metrics::average_precision(&s, &a) } else { None };
        if auroc.is_some() {
            curves(&s, &a, "scored data", &dir)?;
            figures.extend(["roc.png".to_string(), "pr.png".to_string()]);
        }
    }
    if let SampleShape::Image { .. } = det.run.config().input_shape() {
        heatmap(&sink.top, &sink.bottom, det.run.config().input_shape(), &dir.join("heatmap.png"))?;
        figures.push("heatmap.png".into());
    }
    let columns = columns.map(|cols| {
        let n = sink.n as f64;
        let nf = sink.flagged.max(1) as f64;
        let mut ranks: Vec<ColumnRank> = cols
            .iter()
            .enumerate()
            .map(|(j, c)| ColumnRank {
                column: c.clone(),
                mean_squared_error: sink.col_all.get(j).copied().unwrap_or(0.0) / n,
                mean_squared_error_flagged: sink.col_flagged.get(j).copied().unwrap_or(0.0) / nf,
            })
            .collect();
        ranks.sort_by(|a, b| b.mean_squared_error.total_cmp(&a.mean_squared_error));
        ranks
    });
    let rule_text = match rule {
        Rule::Contamination(c) => format!("score > the {:.4} quantile of the training scores (contamination {c})", 1.0 - c),
        Rule::Threshold(t) => format!("score > {t} (explicit threshold)"),
        Rule::Alpha(a) => format!("conformal p-value <= {a} ({} calibration scores of normal data)", det.state.calibration_scores.len()),
    };
    let report = ScoreReport {
        n: sink.n,
        score: det.state.score.describe().to_string(),
        rule: rule_text,
        threshold,
        alpha,
        n_flagged: sink.flagged,
        flagged_fraction: sink.flagged as f64 / sink.n as f64,
        n_normal,
        n_anomalous: n_anom,
        false_alarm_rate: far,
        detection_rate: det_rate,
        auroc,
        auprc,
        columns,
        figures,
    };
    crate::io::write_json(&dir.join("report.json"), &report)?;
    Ok(report)
}

/// Maps an error in [0, 1] to a black-red-yellow-white ramp.
fn hot(v: f32) -> [f32; 3] {
    let v = v.clamp(0.0, 1.0) * 3.0;
    [v.min(1.0), (v - 1.0).clamp(0.0, 1.0), (v - 2.0).clamp(0.0, 1.0)]
}

/// The most and least anomalous samples: input, reconstruction and squared-error map (each map
/// scaled by the largest error in the figure).
fn heatmap(top: &[Shown], bottom: &[Shown], shape: SampleShape, path: &Path) -> Result<()> {
    let SampleShape::Image { channels, height, width } = shape else { return Ok(()) };
    let plane = height * width;
    let rgb = |img: &[f32]| -> Vec<f32> { (0..3).flat_map(|c| img[(if channels == 1 { 0 } else { c }) * plane..][..plane].to_vec()).collect() };
    let err_plane = |e: &[f32]| -> Vec<f32> { (0..plane).map(|i| (0..channels).map(|c| e[c * plane + i]).sum::<f32>() / channels as f32).collect() };
    let max = top.iter().chain(bottom).flat_map(|s| err_plane(&s.err)).fold(f32::MIN_POSITIVE, f32::max);
    let heat = |e: &[f32]| -> Vec<f32> {
        let m: Vec<[f32; 3]> = err_plane(e).iter().map(|&v| hot(v / max)).collect();
        (0..3).flat_map(|c| m.iter().map(move |px| px[c])).collect()
    };
    let mut g = Grid::new(SampleShape::Image { channels: 3, height, width }, 2)?
        .title(format!("most and least anomalous; error white = {max:.3}"));
    for (name, set) in [("most", top), ("least", bottom)] {
        let inputs: Vec<Vec<f32>> = set.iter().map(|s| rgb(&s.input)).collect();
        let recons: Vec<Vec<f32>> = set.iter().map(|s| rgb(&s.recon)).collect();
        let errs: Vec<Vec<f32>> = set.iter().map(|s| heat(&s.err)).collect();
        g.row(Some(format!("{name}: input")), inputs.iter().map(|v| v.as_slice()));
        g.row(Some("output".into()), recons.iter().map(|v| v.as_slice()));
        g.row(Some("error".into()), errs.iter().map(|v| v.as_slice()));
    }
    g.save_png(path)
}

/// A CSV file read in batches of rows, checked against the training columns.
struct CsvBatches<'a> {
    path: &'a Path,
    rdr: csv::Reader<std::fs::File>,
    /// For each file column: the feature it is, or None for the label column.
    feature_of: Vec<Option<usize>>,
    label_idx: Option<usize>,
    n_features: usize,
    headers: Vec<String>,
    row: usize,
    record: csv::StringRecord,
}

impl<'a> CsvBatches<'a> {
    fn open(path: &'a Path, std: &Standardizer, label_column: Option<&str>) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
        let mut rdr = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(file);
        let headers: Vec<String> =
            rdr.headers().map_err(|e| Error::input(path, format!("malformed CSV: {e}")))?.iter().map(|h| h.trim().to_string()).collect();
        let label_idx = label_column.and_then(|l| headers.iter().position(|h| h == l));
        let features: Vec<&String> = headers.iter().enumerate().filter(|(j, _)| Some(*j) != label_idx).map(|(_, h)| h).collect();
        if features.len() != std.columns.len() || features.iter().zip(&std.columns).any(|(a, b)| *a != b) {
            let label = label_column.map(|l| format!(" (and optionally the label column {l:?})")).unwrap_or_default();
            return Err(Error::input(
                path,
                format!("the header has columns {features:?}; the detector was trained on {:?}{label}, in that order", std.columns),
            ));
        }
        let mut k = 0;
        let feature_of = (0..headers.len())
            .map(|j| {
                (Some(j) != label_idx).then(|| {
                    k += 1;
                    k - 1
                })
            })
            .collect();
        Ok(CsvBatches { path, rdr, feature_of, label_idx, n_features: std.columns.len(), headers, row: 0, record: csv::StringRecord::new() })
    }

    /// Up to `n` rows `[b * F]` and their labels; `None` at the end of the file.
    #[allow(clippy::type_complexity)]
    fn next_batch(&mut self, n: usize) -> Result<Option<(Vec<f32>, Option<Vec<u32>>)>> {
        let path = self.path;
        let mut x = Vec::with_capacity(n * self.n_features);
        let mut labels = self.label_idx.map(|_| Vec::with_capacity(n));
        let mut b = 0;
        while b < n && self.rdr.read_record(&mut self.record).map_err(|e| Error::input(path, format!("malformed CSV: {e}")))? {
            self.row += 1;
            let (row, line) = (self.row, self.record.position().map(|p| p.line()).unwrap_or(0));
            if self.record.len() != self.headers.len() {
                return Err(Error::input(path, format!("row {row} (line {line}) has {} fields, expected {} as in the header", self.record.len(), self.headers.len())));
            }
            let start = x.len();
            x.resize(start + self.n_features, 0.0);
            for (j, cell) in self.record.iter().enumerate() {
                let cell = cell.trim();
                match self.feature_of[j] {
                    None => {
                        let v: u32 = cell.parse().map_err(|_| {
                            Error::input(path, format!("row {row} (line {line}), label column {:?}: {cell:?} is not a non-negative integer", self.headers[j]))
                        })?;
                        if let Some(l) = labels.as_mut() {
                            l.push(v);
                        }
                    }
                    Some(f) => {
                        let v: f32 = cell
                            .parse()
                            .ok()
                            .filter(|v: &f32| v.is_finite())
                            .ok_or_else(|| Error::input(path, format!("row {row} (line {line}), column {:?}: {cell:?} is not a finite number", self.headers[j])))?;
                        x[start + f] = v;
                    }
                }
            }
            b += 1;
        }
        if b == 0 {
            if self.row == 0 {
                return Err(Error::input(path, "no data rows after the header"));
            }
            return Ok(None);
        }
        Ok(Some((x, labels)))
    }
}

/// The demo page's section: a dense detector trained on the embedded training images of
/// `digit` only, then the embedded test set scored with the conformal rule at alpha = 0.05.
pub fn demo_section(split: &Split, digit: u32, device: &Device, out: &Path, observer: &mut dyn Observer) -> Result<crate::viz::html::Section> {
    use crate::viz::html::{Block, Section};
    let dir = out.join("anomaly");
    let cfg = ModelConfig::Dense(crate::models::dense::DenseAeConfig::new(split.train.shape()).with_hidden(vec![64]).with_latent(8));
    let opts = FitOptions { normal_labels: Some(vec![digit]), ..FitOptions::default() };
    let request = TrainRequest::new(cfg, TrainConfig::new().with_epochs(20).with_batch_size(32)).with_data(serde_json::json!({ "data": "mnist-embedded" }));
    let fr = fit(&request, split, &opts, device, &dir.join("run"), observer)?;
    let det = Detector::open(&dir.join("run"), device)?;
    let r = score(&det, Input::Dataset(&split.test), Rule::Alpha(0.05), None, &dir.join("scores.csv"), device)?;
    let pct = |v: Option<f64>| v.map(|x| format!("{:.1}%", 100.0 * x)).unwrap_or_else(|| "-".into());
    Ok(Section {
        title: "Anomaly detection".into(),
        blocks: vec![
            Block::Text(format!(
                "A dense autoencoder (784-64-8) trained only on the {} embedded training images of digit {digit} (another {} held out \
                 to calibrate p-values); its reconstruction error (MSE per pixel) scores the {} embedded test images, where every \
                 other digit counts as an anomaly. AUROC {:.4}, average precision {:.4}. Flagging conformal p-values <= 0.05 \
                 flagged {} images: {} of the normal ones (false-alarm rate; the guarantee is at most 5% on exchangeable normal \
                 data) and {} of the anomalies.",
                fr.n_train,
                fr.n_calibration,
                r.n,
                r.auroc.unwrap_or(f64::NAN),
                r.auprc.unwrap_or(f64::NAN),
                r.n_flagged,
                pct(r.false_alarm_rate),
                pct(r.detection_rate)
            )),
            Block::Figure { src: "anomaly/roc.png".into(), caption: format!("ROC curve, normal = digit {digit}.") },
            Block::Figure { src: "anomaly/pr.png".into(), caption: "Precision-recall curve (anomalies are the positives).".into() },
            Block::Figure {
                src: "anomaly/heatmap.png".into(),
                caption: "The 8 most and 8 least anomalous test images, their reconstructions and per-pixel squared errors.".into(),
            },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conformal_p_values_count_calibration_scores_at_or_above() {
        let cal = [1.0, 2.0, 2.0, 3.0];
        assert_eq!(conformal_p_value(&cal, 0.5), Some(1.0));
        assert_eq!(conformal_p_value(&cal, 2.0), Some(4.0 / 5.0));
        assert_eq!(conformal_p_value(&cal, 2.5), Some(2.0 / 5.0));
        assert_eq!(conformal_p_value(&cal, 9.0), Some(1.0 / 5.0));
        assert_eq!(conformal_p_value(&[], 1.0), None);
    }

    #[test]
    fn standardizer_matches_population_statistics() {
        let mut ds = Dataset::new(vec![1.0, 5.0, 3.0, 5.0, 5.0, 5.0], SampleShape::Tabular { features: 2 }, None).unwrap();
        ds.feature_names = Some(vec!["a".into(), "b".into()]);
        let s = Standardizer::fit(&ds).unwrap();
        assert_eq!(s.mean, vec![3.0, 5.0]);
        assert!((s.scale[0] - (8.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(s.scale[1], 1.0, "a constant column keeps scale 1");
        let z = s.apply_dataset(&ds).unwrap();
        assert!((z.data()[0] as f64 + 2.0 / (8.0f64 / 3.0).sqrt()).abs() < 1e-6);
        assert_eq!(z.data()[1], 0.0);
    }
}
