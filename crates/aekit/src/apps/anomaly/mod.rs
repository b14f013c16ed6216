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

mod conformal;
mod defaults;
mod figures;
mod fit;
mod score;
mod series;
mod sink;
mod standardize;
mod tails;

use std::path::Path;

use burn::prelude::*;

pub use conformal::{conformal_p_value, AlphaCheck, DetectorState};
pub use defaults::{default_batch_size, default_epochs, default_model, default_series_model, sized_options};
pub use figures::curves;
pub use fit::{fit, scores, FitOptions, FitReport};
pub(crate) use fit::score_batch;
pub use score::{score, ColumnRank, Detector, Input, Rule, ScoreReport};
pub use series::{windows, PointScore, Segment, WindowSpec};
pub use standardize::Standardizer;
pub use tails::ResidualTails;
use crate::data::Split;
use crate::error::Result;
use crate::models::ModelConfig;
use crate::train::{Observer, TrainConfig, TrainRequest};

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
    /// Mean absolute reconstruction error per value (standardized columns). Unlike the MSE, one
    /// badly reconstructed column does not outweigh many moderately wrong ones, so a row that is
    /// a little off in many columns ranks as anomalous too (NOTES.md, anomaly detection).
    Mae,
    /// Per column, the right-tail probability of the absolute reconstruction error among the
    /// training rows' errors in that column; the score is the sum over columns of -ln of it
    /// (ECOD's rule on the residuals, [`ResidualTails`]). Each column is judged on its own scale.
    Tail,
    /// A VAE's negative ELBO per sample in nats, with z at the posterior mean (deterministic):
    /// -log p(x|z=mu) + KL(q(z|x) || N(0, I)).
    NegElbo,
    /// Images in [0, 1]: the summed squared reconstruction error over the reconstruction's total
    /// intensity + 1. Plain MSE grows with the amount of ink, so it ranks thin shapes as normal
    /// and thick normal ones as anomalous; relative to the ink it does not (the default for
    /// images, chosen on validation data: NOTES.md, anomaly detection).
    RelativeError,
}

impl ScoreKind {
    pub fn describe(self) -> &'static str {
        match self {
            ScoreKind::Mse => "reconstruction MSE, mean per value (pixels in [0, 1], or standardized columns)",
            ScoreKind::Mae => "reconstruction mean absolute error per value (pixels in [0, 1], or standardized columns)",
            ScoreKind::Tail => "sum over columns of -ln(right-tail probability of the absolute reconstruction error among the training rows' errors in that column)",
            ScoreKind::NegElbo => "negative ELBO per sample in nats, z at the posterior mean: -log p(x|z) + KL(q(z|x) || N(0, I))",
            ScoreKind::RelativeError => "summed squared reconstruction error over (the reconstruction's summed intensity + 1), pixels in [0, 1]",
        }
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
                 to calibrate p-values); its squared reconstruction error relative to the reconstruction's ink scores the {} embedded test images, where every \
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
