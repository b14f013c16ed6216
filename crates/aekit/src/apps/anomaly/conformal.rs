//! The detector's state (`anomaly.json`) and split-conformal p-values.

use super::ScoreKind;

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
    /// For series: how windows are cut (absent for rows and images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<super::series::WindowSpec>,
    /// For the tail score: the training rows' reconstruction errors per column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residual_tails: Option<super::tails::ResidualTails>,
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

/// The empirical false-alarm rate of the p-value rule at one alpha.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AlphaCheck {
    pub alpha: f64,
    /// Fraction of held-out normal test samples with p <= alpha.
    pub false_alarm_rate: f64,
    pub n_normal: usize,
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
}
