//! Time series: a detector trained on windows of consecutive rows, and scoring that gives every
//! time point a score, streamed so memory does not grow with the series.
//!
//! A window of `size` rows of C columns is one sample of `size · C` features (row after row).
//! `fit` trains on windows starting every `stride` rows, and calibrates p-values on the last
//! windows (the windows sharing rows with them left out of training). Scoring takes every window
//! (stride 1) and gives a time point the sum of the scores of the windows that cover it over the
//! window length, the windows the first and last `size - 1` points lack counted at the training
//! windows' median (`PointScore::Shrunk`; the plain mean, `Window`, let an end point seen by one
//! or two windows outscore the anomaly). Thresholds, p-values and AUROC then apply to point
//! scores; the training and calibration scores they use are window scores, of the same scale but
//! not exchangeable with point scores (overlapping windows share rows), so the p-value rule's
//! guarantee does not carry over exactly.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::Path;

use burn::prelude::*;

use super::fit::score_batch;
use super::score::Detector;
use super::BATCH;
use crate::data::table::RowSource;
use crate::data::{Dataset, SampleShape};
use crate::error::{Error, Result};

/// How a time point's score comes from the windows that cover it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointScore {
    /// The mean of the covering windows' scores (detectors saved before this choice existed).
    /// The first and last points average few windows, so their scores are the noisiest.
    #[default]
    Window,
    /// The same sum over the covering windows, divided by the window length as if the windows
    /// missing at the series' ends had the training windows' median score: an end point seen
    /// by one window cannot outscore an interior point seen by all of its windows by chance.
    Shrunk,
}

/// How a series detector cuts its windows; saved in `anomaly.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WindowSpec {
    /// Rows per window.
    pub size: usize,
    /// Rows between the starts of consecutive training windows (scoring uses every start).
    pub stride: usize,
    /// The column holding time stamps, echoed in `scores.csv` (not a feature).
    pub time_column: Option<String>,
    /// How point scores are formed (absent in detectors saved before it existed: `window`).
    #[serde(default)]
    pub point_score: PointScore,
}

impl WindowSpec {
    /// Windows of `size` rows, training windows every `stride` rows, shrunk point scores.
    pub fn new(size: usize, stride: usize, time_column: Option<String>) -> Result<Self> {
        if size < 2 {
            return Err(Error::arg("window", format!("{size}: expected at least 2 rows")));
        }
        if stride == 0 || stride > size {
            return Err(Error::arg("stride", format!("{stride}: expected 1 to the window ({size})")));
        }
        Ok(WindowSpec { size, stride, time_column, point_score: PointScore::Shrunk })
    }

    pub fn with_point_score(mut self, p: PointScore) -> Self {
        self.point_score = p;
        self
    }
}

/// The windows `[n_windows, size · C]` of a series `[n, C]` (rows in time order), starting every
/// `stride` rows; feature `COLUMN@k` is COLUMN at offset k. `source` names the series in errors.
pub fn windows(series: &Dataset, spec: &WindowSpec, source: &Path) -> Result<Dataset> {
    let SampleShape::Tabular { features: c } = series.shape() else {
        return Err(Error::input(source, "a series is a table of rows in time order, not images"));
    };
    let n = series.len();
    if n < spec.size {
        return Err(Error::input(source, format!("the series has {n} rows, fewer than the window of {}", spec.size)));
    }
    let mut data = Vec::with_capacity((n - spec.size) / spec.stride * spec.size * c + spec.size * c);
    for start in (0..=n - spec.size).step_by(spec.stride) {
        data.extend_from_slice(&series.data()[start * c..(start + spec.size) * c]);
    }
    let mut ds = Dataset::new(data, SampleShape::Tabular { features: spec.size * c }, None)?;
    let names = series.feature_names.clone().unwrap_or_else(|| (0..c).map(|j| format!("x{j}")).collect());
    ds.feature_names = Some((0..spec.size).flat_map(|k| names.iter().map(move |name| format!("{name}@{k}"))).collect());
    Ok(ds)
}

/// The most anomalous stretch of a scored series: the window with the highest score.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Segment {
    /// First and last time point (0-based row indices) of the window.
    pub start: usize,
    pub end: usize,
    /// Their time stamps, when the series has a time column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// The window's score.
    pub score: f64,
}

/// What the series scorer gives the report.
pub(super) struct SeriesScores {
    pub n: usize,
    pub flagged: usize,
    /// (point score, anomalous, flagged) for labelled points.
    pub truth: Vec<(f64, bool, bool)>,
    pub segment: Option<Segment>,
    /// At most ~4000 (index, score) points for the figure.
    pub curve: Vec<(f64, f64)>,
}

/// A point's score from the sum of its `count` covering windows' scores (`typical`: the training
/// windows' median, standing for the windows a point at the series' ends lacks).
fn point_score(kind: PointScore, sum: f64, count: u32, size: usize, typical: f64) -> f64 {
    match kind {
        PointScore::Window => sum / count.max(1) as f64,
        PointScore::Shrunk => (sum + (size as f64 - count as f64) * typical) / size as f64,
    }
}

/// A time point waiting for the windows that cover it.
struct Pending {
    sum: f64,
    count: u32,
    time: Option<String>,
    label: Option<u32>,
}

/// Scores every time point of `src` (rows in time order) and writes `scores.csv` rows to `w`:
/// index, time (with a time column), score, p_value, flag, and label, anomalous with labels.
/// `flag(score, p_value)` decides a flag; `normal` lists the normal labels.
pub(super) fn score_points(
    det: &Detector,
    src: &mut dyn RowSource,
    flag: &dyn Fn(f64, Option<f64>) -> bool,
    normal: &[u32],
    w: &mut dyn std::io::Write,
    device: &Device,
) -> Result<SeriesScores> {
    let spec = det.state.window.as_ref().expect("a series detector");
    let scaler = det.standardizer.as_ref().ok_or_else(|| Error::input(src.path(), "this run has no column statistics"))?;
    let (size, c) = (spec.size, src.feature_names().len());
    let path = src.path().to_path_buf();
    let io = |e: std::io::Error| Error::Write { path: path.clone(), source: e };
    let mut header = String::from("index");
    let timed = src.has_times();
    if timed {
        header.push_str(",time");
    }
    header.push_str(",score,p_value,flag");
    if src.has_labels() {
        header.push_str(",label,anomalous");
    }
    writeln!(w, "{header}").map_err(io)?;

    let mut out = SeriesScores { n: 0, flagged: 0, truth: Vec::new(), segment: None, curve: Vec::new() };
    let mut curve_step = 1usize;
    // The last `size` rows, flat: a window is this buffer in order.
    let mut rows: VecDeque<f32> = VecDeque::with_capacity(size * c);
    let mut pending: VecDeque<Pending> = VecDeque::new();
    let mut next_out = 0usize; // index of pending.front()
    let mut seen = 0usize;
    // Windows formed and not yet scored: their start and standardized values.
    let mut starts: Vec<usize> = Vec::new();
    let mut batch: Vec<f32> = Vec::new();

    // Shrunk: the training windows' median stands for the windows missing at the ends.
    let typical = det.state.train_scores.get(det.state.train_scores.len() / 2).copied().unwrap_or(0.0);
    let mut emit = |p: Pending, index: usize, out: &mut SeriesScores, w: &mut dyn std::io::Write| -> Result<()> {
        let score = point_score(spec.point_score, p.sum, p.count, size, typical);
        let pv = det.state.p_value(score);
        let flagged = flag(score, pv);
        out.flagged += flagged as usize;
        let mut line = index.to_string();
        if timed {
            let _ = write!(line, ",{}", p.time.as_deref().unwrap_or(""));
        }
        let _ = write!(line, ",{score},{},{}", pv.map(|v| v.to_string()).unwrap_or_default(), flagged as u8);
        if let Some(l) = p.label {
            let anomalous = !normal.contains(&l);
            let _ = write!(line, ",{l},{}", anomalous as u8);
            out.truth.push((score, anomalous, flagged));
        }
        writeln!(w, "{line}").map_err(io)?;
        if index % curve_step == 0 {
            out.curve.push((index as f64, score));
            if out.curve.len() > 4000 {
                curve_step *= 2;
                out.curve.retain(|&(x, _)| (x as usize) % curve_step == 0);
            }
        }
        out.n += 1;
        Ok(())
    };

    // Scores the formed windows, adds each score to the points it covers, and writes the points
    // no later window covers (all points up to the last scored start; at the end, all).
    let mut flush = |starts: &mut Vec<usize>, batch: &mut Vec<f32>, pending: &mut VecDeque<Pending>, next_out: &mut usize, out: &mut SeriesScores, w: &mut dyn std::io::Write, last: bool| -> Result<()> {
        if !starts.is_empty() {
            let t = Tensor::<2>::from_data(TensorData::new(std::mem::take(batch), [starts.len(), size * c]), device);
            let (scores, _, _) = score_batch(&det.run.model, det.state.score, det.state.residual_tails.as_ref(), t);
            for (&s, &v) in starts.iter().zip(&scores) {
                for p in s..s + size {
                    let e = &mut pending[p - *next_out];
                    e.sum += v;
                    e.count += 1;
                }
                if out.segment.as_ref().is_none_or(|g| v > g.score) {
                    let time = |p: usize| pending[p - *next_out].time.clone();
                    out.segment = Some(Segment { start: s, end: s + size - 1, start_time: time(s), end_time: time(s + size - 1), score: v });
                }
            }
        }
        let done = if last { usize::MAX } else { starts.last().map(|&s| s + 1).unwrap_or(*next_out) };
        starts.clear();
        while *next_out < done {
            let Some(p) = pending.pop_front() else { break };
            emit(p, *next_out, out, &mut *w)?;
            *next_out += 1;
        }
        Ok(())
    };

    while let Some(b) = src.next_batch(BATCH)? {
        for i in 0..b.n_rows {
            if rows.len() == size * c {
                rows.drain(..c);
            }
            rows.extend(&b.rows[i * c..(i + 1) * c]);
            pending.push_back(Pending {
                sum: 0.0,
                count: 0,
                time: b.times.as_ref().map(|t| t[i].clone()),
                label: b.labels.as_ref().map(|l| l[i]),
            });
            seen += 1;
            if rows.len() == size * c {
                let mut win: Vec<f32> = rows.iter().copied().collect();
                scaler.apply(&mut win);
                batch.extend(win);
                starts.push(seen - size);
                if starts.len() == BATCH {
                    flush(&mut starts, &mut batch, &mut pending, &mut next_out, &mut out, &mut *w, false)?;
                }
            }
        }
    }
    if seen < size {
        return Err(Error::input(&path, format!("the series has {seen} rows, fewer than the window of {size}")));
    }
    flush(&mut starts, &mut batch, &mut pending, &mut next_out, &mut out, &mut *w, true)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_consecutive_rows_named_by_offset() {
        let mut ds = Dataset::new((0..12).map(|v| v as f32).collect(), SampleShape::Tabular { features: 2 }, None).unwrap();
        ds.feature_names = Some(vec!["a".into(), "b".into()]);
        let w = windows(&ds, &WindowSpec::new(3, 2, None).unwrap(), Path::new("s.csv")).unwrap();
        // Rows (0,1) (2,3) (4,5) (6,7) (8,9) (10,11): windows start at rows 0 and 2.
        assert_eq!(w.len(), 2);
        assert_eq!(w.sample(1), &[4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        assert_eq!(w.feature_names.as_deref().unwrap()[..3], ["a@0", "b@0", "a@1"].map(String::from));
        let e = windows(&ds, &WindowSpec::new(7, 1, None).unwrap(), Path::new("s.csv")).unwrap_err().to_string();
        assert!(e.contains("s.csv") && e.contains("6 rows, fewer than the window of 7"), "{e}");
        assert!(WindowSpec::new(1, 1, None).is_err() && WindowSpec::new(4, 5, None).is_err());
    }

    #[test]
    fn shrunk_point_scores_keep_one_end_window_from_dominating() {
        // Window of 4, training median 1. An end point seen by one window scoring 3 against an
        // interior point whose 4 windows score 2 each: the mean ranks the end point first, the
        // shrunk score the interior point (3 + 3·1)/4 = 1.5 < 2.
        let (end, inner) = (point_score(PointScore::Window, 3.0, 1, 4, 1.0), point_score(PointScore::Window, 8.0, 4, 4, 1.0));
        assert!(end > inner);
        let (end, inner) = (point_score(PointScore::Shrunk, 3.0, 1, 4, 1.0), point_score(PointScore::Shrunk, 8.0, 4, 4, 1.0));
        assert_eq!((end, inner), (1.5, 2.0));
        // Fully covered points: shrunk is the mean.
        assert_eq!(point_score(PointScore::Shrunk, 10.0, 4, 4, 99.0), point_score(PointScore::Window, 10.0, 4, 4, 0.0));
        // Detectors saved before the choice existed keep the mean.
        let old: WindowSpec = serde_json::from_str(r#"{"size": 8, "stride": 1, "time_column": null}"#).unwrap();
        assert_eq!(old.point_score, PointScore::Window);
        assert_eq!(WindowSpec::new(8, 1, None).unwrap().point_score, PointScore::Shrunk);
    }
}
