//! The tail-probability score: how unusual each column's reconstruction error is among the
//! training rows' errors in that column, combined over columns.
//!
//! For column j, let e_j = |x_j - y_j| be a row's absolute reconstruction error and
//! G_j(e) = #{training rows with error >= e in column j}. The score is
//! sum_j -ln((1 + G_j(e_j)) / (n + 1)), the negative log of the empirical right-tail
//! probabilities as if the columns were independent. It is ECOD's rule (Li et al. 2022) applied
//! to the autoencoder's residuals instead of the raw values: every column is measured on its own
//! scale, so a column the model always reconstructs well counts when it is suddenly wrong, and a
//! column that is always noisy does not dominate (the MSE and the MAE weigh columns by their raw
//! error). On the table suite's validation parts it beats the MAE for every model seed tried
//! (NOTES.md, "Tables' score").
//!
//! Memory stays bounded: a column keeps at most [`MAX_POINTS`] order statistics of the training
//! errors (all of them when there are fewer rows), and counts between two kept ones are
//! interpolated linearly.

/// The most order statistics kept per column.
pub const MAX_POINTS: usize = 1024;

/// Per-column order statistics of the training rows' absolute reconstruction errors.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ResidualTails {
    /// Training rows the statistics summarize.
    pub n: usize,
    /// Per column, ascending: the errors of ranks round(k (n - 1) / (m - 1)), k = 0..m.
    pub columns: Vec<Vec<f32>>,
}

impl ResidualTails {
    /// Fits the statistics to `errors`, `n` rows of `p` absolute errors each (row-major).
    ///
    /// # Shapes
    /// `errors`: `[n * p]`
    pub fn fit(errors: &[f32], p: usize) -> Self {
        assert!(p > 0 && errors.len() % p == 0, "errors must be whole rows of {p} values");
        let n = errors.len() / p;
        let m = n.min(MAX_POINTS);
        let columns = (0..p)
            .map(|j| {
                let mut col: Vec<f32> = errors.iter().skip(j).step_by(p).copied().collect();
                col.sort_by(f32::total_cmp);
                (0..m).map(|k| col[rank(k, n, m).round() as usize]).collect()
            })
            .collect();
        ResidualTails { n, columns }
    }

    /// Checks statistics read from a file, which `fit` would never write otherwise: each
    /// column holds 1 to `min(n, MAX_POINTS)` finite, non-negative errors in ascending order.
    /// A hand-edited or truncated file would otherwise give wrong scores silently (the count
    /// interpolation assumes sorted columns). The message names the first bad column (from 0).
    pub fn check(&self) -> Result<(), String> {
        let most = self.n.min(MAX_POINTS);
        for (j, col) in self.columns.iter().enumerate() {
            if col.is_empty() || col.len() > most {
                return Err(format!("residual_tails.columns[{j}] holds {} values; expected 1 to {most} (n = {})", col.len(), self.n));
            }
            if let Some(k) = col.iter().position(|v| !v.is_finite() || *v < 0.0) {
                return Err(format!("residual_tails.columns[{j}][{k}] is {}; expected a finite error >= 0", col[k]));
            }
            if let Some(k) = col.windows(2).position(|w| w[1] < w[0]) {
                return Err(format!("residual_tails.columns[{j}] is not ascending at index {}: {} after {}", k + 1, col[k + 1], col[k]));
            }
        }
        Ok(())
    }

    /// The number of columns.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// The score of one row of `width()` absolute errors (see the module's doc).
    pub fn score(&self, errors: &[f32]) -> f64 {
        self.score_by(errors, |e| e)
    }

    /// The score of one row of `width()` squared errors.
    pub fn score_squared(&self, squared: &[f32]) -> f64 {
        self.score_by(squared, f32::sqrt)
    }

    fn score_by(&self, row: &[f32], abs: impl Fn(f32) -> f32) -> f64 {
        let n = self.n as f64;
        // The product of the tail probabilities, with one logarithm per ~30 columns instead of
        // one per column (each factor is at least 1 / (n + 1), so flushing below 1e-200 never
        // underflows a double).
        let (mut log_sum, mut product) = (0.0f64, 1.0f64);
        for (col, &v) in self.columns.iter().zip(row) {
            product *= (1.0 + n - self.count_below(col, abs(v))) / (n + 1.0);
            if product < 1e-200 {
                log_sum += product.ln();
                product = 1.0;
            }
        }
        -(log_sum + product.ln())
    }

    /// Estimated #{training errors < e} in one column: exact when every error is kept.
    fn count_below(&self, col: &[f32], e: f32) -> f64 {
        let m = col.len();
        let j = col.partition_point(|&v| v < e);
        if j == 0 {
            return 0.0;
        }
        if j == m {
            return self.n as f64;
        }
        // col[j - 1] < e <= col[j]: the rows up to rank(j - 1) are below, and a share of the
        // rows between the two kept ranks, in proportion to where e lies between their errors.
        let (lo, hi) = (rank(j - 1, self.n, m), rank(j, self.n, m));
        let gap = col[j] - col[j - 1];
        let frac = if gap > 0.0 { ((e - col[j - 1]) / gap) as f64 } else { 0.0 };
        lo + 1.0 + frac * (hi - lo - 1.0).max(0.0)
    }
}

/// The (fractional) rank of the k-th of m kept order statistics among n.
fn rank(k: usize, n: usize, m: usize) -> f64 {
    if m <= 1 {
        0.0
    } else {
        k as f64 * (n - 1) as f64 / (m - 1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_sets_count_exactly() {
        // Two columns, four rows: column 0 errors 0.1, 0.2, 0.3, 0.4; column 1 all 1.0.
        let errors = [0.4, 1.0, 0.1, 1.0, 0.3, 1.0, 0.2, 1.0];
        let t = ResidualTails::fit(&errors, 2);
        assert_eq!(t.n, 4);
        assert_eq!(t.columns[0], vec![0.1, 0.2, 0.3, 0.4]);
        let s = |e0: f32, e1: f32| t.score(&[e0, e1]);
        // e0 = 0.25: 2 of 4 training errors are >= it, so -ln(3/5); e1 = 1.0: all 4, -ln(5/5).
        assert!((s(0.25, 1.0) - -(3.0f64 / 5.0).ln()).abs() < 1e-12);
        // Beyond every training error the tail probability is 1 / (n + 1) per column.
        assert!((s(9.0, 9.0) - 2.0 * (5.0f64).ln()).abs() < 1e-12);
        assert_eq!(s(0.0, 0.0), 0.0);
        // Larger errors never score lower.
        assert!(s(0.35, 1.0) > s(0.25, 1.0));
        // Squared errors give the same score as their square roots.
        assert_eq!(t.score_squared(&[0.0625, 1.0]), t.score(&[0.25, 1.0]));
    }

    #[test]
    fn check_accepts_what_fit_writes_and_names_what_is_wrong() {
        let t = ResidualTails::fit(&[0.4, 1.0, 0.1, 1.0, 0.3, 1.0, 0.2, 1.0], 2);
        assert_eq!(t.check(), Ok(()));
        let bad = |edit: fn(&mut ResidualTails)| {
            let mut b = t.clone();
            edit(&mut b);
            b.check().unwrap_err()
        };
        assert_eq!(bad(|b| b.columns[1].clear()), "residual_tails.columns[1] holds 0 values; expected 1 to 4 (n = 4)");
        assert_eq!(bad(|b| b.n = 3), "residual_tails.columns[0] holds 4 values; expected 1 to 3 (n = 3)");
        assert_eq!(bad(|b| b.columns[0][2] = f32::NAN), "residual_tails.columns[0][2] is NaN; expected a finite error >= 0");
        assert_eq!(bad(|b| b.columns[0][0] = -0.5), "residual_tails.columns[0][0] is -0.5; expected a finite error >= 0");
        assert_eq!(bad(|b| b.columns[0].swap(1, 2)), "residual_tails.columns[0] is not ascending at index 2: 0.2 after 0.3");
    }

    #[test]
    fn wide_rows_do_not_underflow() {
        // 1000 columns of 4 training rows, a row beyond all of them: 1000 ln 5, although the
        // product of the tail probabilities (5^-1000) is far below the smallest double.
        let errors = vec![1.0f32; 4 * 1000];
        let t = ResidualTails::fit(&errors, 1000);
        let s = t.score(&vec![2.0; 1000]);
        assert!((s - 1000.0 * 5f64.ln()).abs() < 1e-9, "{s}");
    }

    #[test]
    fn large_sets_keep_bounded_quantiles_close_to_exact() {
        // 10,000 rows of one column, errors 0, 1, ..., 9999 shuffled by a stride: the kept
        // quantiles must estimate the tail count within one kept rank's spacing (~10 rows).
        let n = 10_000usize;
        let errors: Vec<f32> = (0..n).map(|i| ((i * 7919) % n) as f32).collect();
        let t = ResidualTails::fit(&errors, 1);
        assert_eq!(t.columns[0].len(), MAX_POINTS);
        for e in [0.5f32, 17.3, 2500.0, 9990.5] {
            let exact = (e.ceil() as f64).min(n as f64);
            let est = t.count_below(&t.columns[0], e);
            assert!((est - exact).abs() <= 10.0, "e {e}: estimated {est} below, exactly {exact}");
        }
    }
}
