//! The scored-batch sink of [`score`](fn@super::score): writes the rows of `scores.csv` and
//! keeps what the report and figures need.

use std::io::Write;

use burn::prelude::*;

use super::fit::score_batch;
use super::score::Detector;

/// A sample kept for the heat-map figure.
pub(super) struct Shown {
    score: f64,
    pub(super) input: Vec<f32>,
    pub(super) recon: Vec<f32>,
    pub(super) err: Vec<f32>,
}

/// Consumes scored batches: writes rows, keeps what the report and figures need (bounded: the
/// labelled scores for AUROC, 8 + 8 images, per-column sums).
pub(super) struct Sink<'a> {
    pub(super) det: &'a Detector,
    pub(super) threshold: Option<f64>,
    pub(super) alpha: Option<f64>,
    pub(super) normal: Option<Vec<u32>>,
    pub(super) columns: Option<&'a [String]>,
    pub(super) n: usize,
    pub(super) flagged: usize,
    pub(super) truth: Vec<(f64, bool, bool)>,
    pub(super) top: Vec<Shown>,
    pub(super) bottom: Vec<Shown>,
    pub(super) col_all: Vec<f64>,
    pub(super) col_flagged: Vec<f64>,
    pub(super) labelled: bool,
}

const SHOWN: usize = 8;

impl Sink<'_> {
    pub(super) fn header(&self, w: &mut dyn Write) -> std::io::Result<()> {
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
    pub(super) fn batch(&mut self, w: &mut dyn Write, x: Vec<f32>, b: usize, labels: Option<&[u32]>, device: &Device) -> std::io::Result<()> {
        let p = x.len() / b.max(1);
        let t = Tensor::<2>::from_data(TensorData::new(x.clone(), [b, p]), device);
        let (s, recon, sq) = score_batch(&self.det.run.model, self.det.state.score, self.det.state.residual_tails.as_ref(), t);
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
