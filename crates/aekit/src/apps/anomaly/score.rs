//! Scoring new data with a fitted detector ([`Detector`], [`score`]).

use std::path::{Path, PathBuf};

use burn::prelude::*;

use super::conformal::DetectorState;
use super::figures::{curves, heatmap};
use super::fit::check_score;
use super::sink::Sink;
use super::standardize::Standardizer;
use super::{ScoreKind, BATCH, STANDARDIZE_FILE, STATE_FILE};
use crate::data::{Dataset, SampleShape};
use crate::error::{Error, Result};
use crate::metrics;
use crate::train::run::Run;

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
    /// Opens a run written by [`fit`](fn@super::fit).
    pub fn open(run: &Path, device: &Device) -> Result<Self> {
        let path = run.join(STATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Read { path: path.clone(), source })?;
        let state: DetectorState =
            serde_json::from_str(&text).map_err(|e| Error::input(&path, format!("not an aekit anomaly detector (aekit anomaly fit writes it): {e}")))?;
        let trained = Run::open(run, device)?;
        check_score(&trained.model, state.score)?;
        let width = trained.config().input_shape().len();
        if state.score == ScoreKind::Tail && state.residual_tails.as_ref().map(|t| t.width()) != Some(width) {
            return Err(Error::input(&path, format!("the tail score needs residual_tails with {width} columns (aekit anomaly fit --score tail writes them)")));
        }
        if let Some(t) = &state.residual_tails {
            t.check().map_err(|why| Error::input(&path, why))?;
        }
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
    /// The labels that counted as normal (all others as anomalies), when the data had labels.
    pub normal_labels: Option<Vec<u32>>,
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
    /// Series: the window with the highest score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub most_anomalous_segment: Option<super::series::Segment>,
}

/// Where the samples to score come from.
pub enum Input<'a> {
    /// Samples in memory (images, or table rows in the data's own units).
    Dataset(&'a Dataset),
    /// A CSV or Parquet table, streamed in batches of [`BATCH`] rows; it must hold the training
    /// columns and, optionally, the label column: `label_column` when given (whatever `fit`
    /// saw), else the fit's.
    Table { path: &'a Path, label_column: Option<&'a str>, time_column: Option<&'a str> },
}

/// Scores `input` with the detector, flags by `rule`, and writes `out_csv` (index, score,
/// p_value, flag, and label, anomalous when known; `top_columns` for tables) and, in the
/// same folder, `report.json`, `roc.png` and `pr.png` (when labels say which samples are
/// anomalous) and `heatmap.png` (images: the most and least anomalous inputs, their
/// reconstructions and per-pixel squared errors). `normal` overrides the run's normal labels;
/// with labels and no normal labels from either, label 0 is normal (PyOD's and ODDS's
/// convention: 1 marks an anomaly).
pub fn score(det: &Detector, input: Input, rule: Rule, normal: Option<Vec<u32>>, out_csv: &Path, device: &Device) -> Result<ScoreReport> {
    let threshold = det.threshold(rule)?;
    let alpha = match rule {
        Rule::Alpha(a) => Some(a),
        _ => None,
    };
    let normal = normal.or_else(|| det.state.normal_labels.clone());
    if det.state.window.is_some() {
        let Input::Table { path, label_column, time_column } = input else {
            return Err(Error::arg("data", "this detector scores series: give a CSV or Parquet table of rows in time order"));
        };
        return score_series(det, (path, label_column, time_column), (threshold, alpha), normal, out_csv, device);
    }
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
            if sink.labelled && sink.normal.is_none() {
                sink.normal = Some(vec![0]);
            }
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
        Input::Table { path, label_column, .. } => {
            let Some(std) = &det.standardizer else {
                return Err(Error::input(path, format!("this run's model takes {}, not table rows", det.run.config().input_shape())));
            };
            let label_column = label_column.or(det.state.label_column.as_deref());
            let mut reader = crate::data::table::open(path, label_column, false)?;
            if reader.feature_names() != std.columns.as_slice() {
                let label = label_column.map(|l| format!(" (and optionally the label column {l:?})")).unwrap_or_default();
                return Err(Error::input(
                    path,
                    format!(
                        "the header has columns {:?}; the detector was trained on {:?}{label}, in that order",
                        reader.feature_names(),
                        std.columns
                    ),
                ));
            }
            sink.labelled = reader.has_labels();
            if sink.labelled && sink.normal.is_none() {
                sink.normal = Some(vec![0]);
            }
            crate::io::write_atomic(out_csv, |w| {
                sink.header(w)?;
                loop {
                    match reader.next_batch(BATCH) {
                        Ok(Some(batch)) => {
                            let mut x = batch.rows;
                            x.chunks_exact_mut(std.columns.len()).for_each(|r| std.apply(r));
                            sink.batch(w, x, batch.n_rows, batch.labels.as_deref(), device)?;
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
    let dir = out_dir(out_csv);
    let mut figures = Vec::new();
    let t = Truth::judge(&sink.truth, "scored data", &dir, &mut figures)?;
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
        normal_labels: if sink.labelled { sink.normal.clone() } else { None },
        n_normal: t.n_normal,
        n_anomalous: t.n_anomalous,
        false_alarm_rate: t.false_alarm_rate,
        detection_rate: t.detection_rate,
        auroc: t.auroc,
        auprc: t.auprc,
        columns,
        figures,
        most_anomalous_segment: None,
    };
    crate::io::write_json(&dir.join("report.json"), &report)?;
    Ok(report)
}

/// [`score`] for a series detector: every time point of the table at `input` (path, label
/// column, time column: the fit's when not given) gets a score (see [`super::series`]);
/// `flags` are the rule's threshold and alpha.
fn score_series(
    det: &Detector,
    (path, label_column, time_column): (&Path, Option<&str>, Option<&str>),
    (threshold, alpha): (Option<f64>, Option<f64>),
    normal: Option<Vec<u32>>,
    out_csv: &Path,
    device: &Device,
) -> Result<ScoreReport> {
    let spec = det.state.window.as_ref().expect("checked by the caller");
    let std = det.standardizer.as_ref().ok_or_else(|| Error::input(path, "this series run has no column statistics"))?;
    let label_column = label_column.or(det.state.label_column.as_deref());
    let time_column = time_column.or(spec.time_column.as_deref());
    let mut src = crate::data::table::open_with_time(path, label_column, false, time_column)?;
    // The detector's columns are the windows' (`COLUMN@k`); the series' are those at offset 0.
    let columns: Vec<String> = std.columns[..std.columns.len() / spec.size].iter().map(|c| c.trim_end_matches("@0").to_string()).collect();
    if src.feature_names() != columns.as_slice() {
        return Err(Error::input(
            path,
            format!("the series has columns {:?}; the detector was trained on {columns:?}, in that order", src.feature_names()),
        ));
    }
    let normal = normal.unwrap_or_else(|| vec![0]);
    let flag = |score: f64, p: Option<f64>| match (threshold, alpha) {
        (Some(t), _) => score > t,
        (None, Some(a)) => p.is_some_and(|p| p <= a),
        (None, None) => false,
    };
    let mut failure = None;
    let mut scored = None;
    let written = crate::io::write_atomic(out_csv, |w| match super::series::score_points(det, src.as_mut(), &flag, &normal, w, device) {
        Ok(s) => {
            scored = Some(s);
            Ok(())
        }
        Err(e) => {
            failure = Some(e);
            Err(std::io::Error::other("bad input"))
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    written?;
    let s = scored.expect("written");
    let dir = out_dir(out_csv);
    let mut figures = Vec::new();
    let t = Truth::judge(&s.truth, "scored series (time points)", &dir, &mut figures)?;
    crate::viz::plot::LineChart {
        title: format!("anomaly score per time point ({} points)", s.n),
        x_label: "time point".into(),
        y_label: "score".into(),
        series: vec![crate::viz::plot::Series { name: "score".into(), points: s.curve.clone() }],
        markers: vec![],
        y_range: None,
    }
    .save_png(&dir.join("series.png"))?;
    figures.push("series.png".into());
    let labelled = !s.truth.is_empty();
    let report = ScoreReport {
        n: s.n,
        score: format!("{}; a time point's score is the mean over the windows of {} rows that cover it", det.state.score.describe(), spec.size),
        rule: match (threshold, alpha) {
            (Some(t), _) => format!("point score > {t}"),
            (None, Some(a)) => format!("conformal p-value of the point score <= {a} (calibrated on window scores)"),
            (None, None) => "none".into(),
        },
        threshold,
        alpha,
        n_flagged: s.flagged,
        flagged_fraction: s.flagged as f64 / s.n.max(1) as f64,
        normal_labels: labelled.then(|| normal.clone()),
        n_normal: t.n_normal,
        n_anomalous: t.n_anomalous,
        false_alarm_rate: t.false_alarm_rate,
        detection_rate: t.detection_rate,
        auroc: t.auroc,
        auprc: t.auprc,
        columns: None,
        figures,
        most_anomalous_segment: s.segment,
    };
    crate::io::write_json(&dir.join("report.json"), &report)?;
    Ok(report)
}

/// The folder `report.json` and the figures go to: the scores file's.
fn out_dir(out_csv: &Path) -> PathBuf {
    match out_csv.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// What labelled scores say; every field is `None` without labels.
#[derive(Default)]
struct Truth {
    n_normal: Option<usize>,
    n_anomalous: Option<usize>,
    false_alarm_rate: Option<f64>,
    detection_rate: Option<f64>,
    auroc: Option<f64>,
    auprc: Option<f64>,
}

impl Truth {
    /// Counts, rates and areas of (score, anomalous, flagged) triples, and `roc.png`/`pr.png`
    /// in `dir` (added to `figures`) when both classes are present.
    fn judge(truth: &[(f64, bool, bool)], what: &str, dir: &Path, figures: &mut Vec<String>) -> Result<Self> {
        if truth.is_empty() {
            return Ok(Truth::default());
        }
        let s: Vec<f64> = truth.iter().map(|t| t.0).collect();
        let a: Vec<bool> = truth.iter().map(|t| t.1).collect();
        let na = a.iter().filter(|&&x| x).count();
        let nn = a.len() - na;
        let flagged_of = |want: bool| truth.iter().filter(|t| t.1 == want && t.2).count() as f64;
        let auroc = metrics::auroc(&s, &a);
        if auroc.is_some() {
            curves(&s, &a, what, dir)?;
            figures.extend(["roc.png".to_string(), "pr.png".to_string()]);
        }
        Ok(Truth {
            n_normal: Some(nn),
            n_anomalous: Some(na),
            false_alarm_rate: (nn > 0).then(|| flagged_of(false) / nn as f64),
            detection_rate: (na > 0).then(|| flagged_of(true) / na as f64),
            auroc,
            auprc: if nn > 0 { metrics::average_precision(&s, &a) } else { None },
        })
    }
}
