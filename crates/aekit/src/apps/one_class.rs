//! The one-class benchmark of Ruff et al. (2018), "Deep One-Class Classification" (ICML): for
//! each digit d, train on the training images of d only, score the whole test set, and report
//! the AUROC with d as the normal class. Each digit is an [`anomaly::fit()`] run in
//! `OUT/digit-d/`; the report gathers every digit finished in `OUT`, so a long benchmark can
//! run in chunks of digits.

use std::path::Path;

use burn::prelude::*;

use crate::data::Split;
use crate::error::{Error, Result};
use crate::apps::anomaly::{self, FitOptions, FitReport, ScoreKind};
use crate::train::{Observer, TrainRequest};

/// One-Class Deep SVDD's MNIST AUROC per digit in percent (Ruff et al. 2018, Table 1).
pub const DEEP_SVDD: [f64; 10] = [98.0, 99.7, 91.7, 91.9, 94.9, 88.5, 98.3, 94.6, 93.9, 96.5];

/// One digit's result.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DigitResult {
    pub digit: u32,
    /// 100 x area under the ROC curve on the whole test set, anomalies = the other digits.
    pub auroc: f64,
    /// 100 x average precision, same scores.
    pub auprc: f64,
    /// One-Class Deep SVDD's published AUROC (percent) for this digit.
    pub deep_svdd_auroc: f64,
    pub n_train: usize,
    pub model: String,
    pub score: String,
    pub epochs: usize,
    pub train_seconds: f64,
}

/// `report.json` of the benchmark.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub protocol: String,
    pub auroc_unit: String,
    pub digits: Vec<DigitResult>,
    /// Mean AUROC (percent) over the digits present.
    pub mean_auroc: f64,
    /// Deep SVDD's mean over the same digits.
    pub deep_svdd_mean_auroc: f64,
    pub complete: bool,
}

/// What to run: the detector's training request (model, settings, data description), its
/// score, and the digits.
pub struct OneClass {
    pub request: TrainRequest,
    /// The anomaly score (default: the model's, see [`anomaly::FitOptions::score`]).
    pub score: Option<ScoreKind>,
    pub digits: Vec<u32>,
}

/// Runs the digits of `bench` (each into `out/digit-d/`) and writes `out/report.json` over
/// every digit finished in `out`. `split` must be labelled MNIST-like data.
pub fn run(bench: &OneClass, split: &Split, device: &Device, out: &Path, observer: &mut dyn FnMut(u32) -> Box<dyn Observer>) -> Result<Report> {
    let OneClass { request, score, digits } = bench;
    let (score, train_cfg) = (*score, &request.train);
    if split.train.labels().is_none() || split.test.labels().is_none() {
        return Err(Error::arg("data", "the one-class benchmark needs labelled data (mnist)"));
    }
    if let Some(d) = digits.iter().find(|&&d| d > 9) {
        return Err(Error::arg("digits", format!("{d}: expected digits 0-9")));
    }
    for &d in digits {
        let opts = FitOptions { score, calibration_fraction: 0.0, normal_labels: Some(vec![d]), seed: train_cfg.seed, ..FitOptions::default() };
        let mut obs = observer(d);
        let r = anomaly::fit(request, split, &opts, device, &out.join(format!("digit-{d}")), obs.as_mut())?;
        let result = DigitResult {
            digit: d,
            auroc: 100.0 * r.test_auroc.unwrap_or(f64::NAN),
            auprc: 100.0 * r.test_auprc.unwrap_or(f64::NAN),
            deep_svdd_auroc: DEEP_SVDD[d as usize],
            n_train: r.n_train,
            model: r.model.clone(),
            score: r.score.clone(),
            epochs: train_cfg.epochs,
            train_seconds: r.train_seconds,
        };
        crate::io::write_json(&out.join(format!("digit-{d}")).join("one_class.json"), &result)?;
    }
    let report = gather(out)?;
    crate::io::write_json(&out.join("report.json"), &report)?;
    Ok(report)
}

/// The report over every `digit-d/one_class.json` in `out`.
pub fn gather(out: &Path) -> Result<Report> {
    let mut digits = Vec::new();
    for d in 0..10u32 {
        let p = out.join(format!("digit-{d}")).join("one_class.json");
        if let Ok(text) = std::fs::read_to_string(&p) {
            digits.push(serde_json::from_str::<DigitResult>(&text).map_err(|e| Error::input(&p, format!("not a one-class result: {e}")))?);
        }
    }
    let mean = |f: &dyn Fn(&DigitResult) -> f64| digits.iter().map(f).sum::<f64>() / digits.len().max(1) as f64;
    Ok(Report {
        protocol: "Ruff et al. 2018: train on the training images of one digit, score the whole test set, normal = that digit".into(),
        auroc_unit: "percent (100 x area under the ROC curve; average precision likewise)".into(),
        mean_auroc: mean(&|r| r.auroc),
        deep_svdd_mean_auroc: mean(&|r| r.deep_svdd_auroc),
        complete: digits.len() == 10,
        digits,
    })
}

/// The full fit report of one digit (threshold, false-alarm rate, average precision).
pub fn digit_report(out: &Path, digit: u32) -> Result<FitReport> {
    let p = out.join(format!("digit-{digit}")).join(anomaly::FIT_REPORT_FILE);
    let text = std::fs::read_to_string(&p).map_err(|source| Error::Read { path: p.clone(), source })?;
    serde_json::from_str(&text).map_err(|e| Error::input(&p, format!("not an anomaly report: {e}")))
}
