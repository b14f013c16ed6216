//! Figures: ROC and precision-recall curves, and the heat map of the most and least anomalous
//! images.

use std::path::Path;

use super::sink::Shown;
use crate::data::SampleShape;
use crate::error::Result;
use crate::metrics::{self, CurvePoint};
use crate::viz::grid::Grid;
use crate::viz::plot::{LineChart, Series};

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

/// Maps an error in [0, 1] to a black-red-yellow-white ramp.
fn hot(v: f32) -> [f32; 3] {
    let v = v.clamp(0.0, 1.0) * 3.0;
    [v.min(1.0), (v - 1.0).clamp(0.0, 1.0), (v - 2.0).clamp(0.0, 1.0)]
}

/// The most and least anomalous samples: input, reconstruction and squared-error map (each map
/// scaled by the largest error in the figure).
pub(super) fn heatmap(top: &[Shown], bottom: &[Shown], shape: SampleShape, path: &Path) -> Result<()> {
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
