//! Quality measures, each with its definition.

/// Mean squared error over all values.
pub fn mse(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "mse of slices of different lengths");
    if a.is_empty() {
        return 0.0;
    }
    a.iter().zip(b).map(|(&x, &y)| ((x - y) as f64).powi(2)).sum::<f64>() / a.len() as f64
}

/// Peak signal-to-noise ratio in dB: 10 log10(peak^2 / mse). For pixels in [0, 1], peak = 1.
pub fn psnr_db(mse: f64, peak: f64) -> f64 {
    10.0 * (peak * peak / mse).log10()
}

/// PSNR of one image against its reference, in dB for pixel range [0, 1]; infinite MSE-free
/// pairs are capped at 100 dB so a mean over images stays finite.
pub fn psnr_image_db(restored: &[f32], clean: &[f32]) -> f64 {
    let m = mse(restored, clean);
    if m <= 1e-10 {
        100.0
    } else {
        psnr_db(m, 1.0)
    }
}

/// SSIM of Wang et al. (2004) for one image `[C, H, W]` with data range 1: an 11x11 Gaussian
/// window with sigma 1.5 (normalised), K1 = 0.01, K2 = 0.03, population (not sample) statistics,
/// averaged over the window positions that fit inside the image ("valid"), then over channels.
/// This equals scikit-image's `structural_similarity(a, b, data_range=1, gaussian_weights=True,
/// sigma=1.5, use_sample_covariance=False)`, whose mean skips the 5-pixel border. Images smaller
/// than 11 pixels a side use a window truncated to the image.
pub fn ssim(a: &[f32], b: &[f32], c: usize, h: usize, w: usize) -> f64 {
    assert_eq!(a.len(), b.len(), "ssim of images of different sizes");
    let r = 5usize.min((h.min(w).saturating_sub(1)) / 2);
    let k: Vec<f64> = (0..=2 * r).map(|i| (-((i as f64 - r as f64).powi(2)) / (2.0 * 1.5 * 1.5)).exp()).collect();
    let ks: f64 = k.iter().sum();
    let k: Vec<f64> = k.iter().map(|v| v / ks).collect();
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    let n = 2 * r + 1;
    let mut total = 0.0;
    for ch in 0..c {
        let (pa, pb) = (&a[ch * h * w..(ch + 1) * h * w], &b[ch * h * w..(ch + 1) * h * w]);
        let (mut sum, mut count) = (0.0, 0usize);
        for y in 0..=h - n {
            for x in 0..=w - n {
                let (mut ma, mut mb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
                for dy in 0..n {
                    for dx in 0..n {
                        let wgt = k[dy] * k[dx];
                        let (va, vb) = (pa[(y + dy) * w + x + dx] as f64, pb[(y + dy) * w + x + dx] as f64);
                        ma += wgt * va;
                        mb += wgt * vb;
                        saa += wgt * va * va;
                        sbb += wgt * vb * vb;
                        sab += wgt * va * vb;
                    }
                }
                let (va, vb, cov) = (saa - ma * ma, sbb - mb * mb, sab - ma * mb);
                sum += ((2.0 * ma * mb + c1) * (2.0 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
                count += 1;
            }
        }
        total += sum / count as f64;
    }
    total / c as f64
}

/// Area under the ROC curve of `scores` (higher = more likely positive) for `positive` labels:
/// the Mann-Whitney statistic P(score of a positive > score of a negative) + P(tie) / 2, from
/// average ranks, so tied scores count one half (as scikit-learn's `roc_auc_score`). `None`
/// when either class is empty.
pub fn auroc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), positive.len(), "auroc of slices of different lengths");
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let order = ascending(scores);
    // Sum of the positives' ranks (1-based), ties sharing their average rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg * order[i..=j].iter().filter(|&&k| positive[k]).count() as f64;
        i = j + 1;
    }
    let u = rank_sum - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos as f64 * n_neg as f64))
}

fn ascending(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    order
}

/// Cumulative (true positives, false positives, threshold) at each distinct score, highest
/// threshold first: flagging every sample with score >= threshold.
fn cumulative_counts(scores: &[f64], positive: &[bool]) -> Vec<(usize, usize, f64)> {
    let mut order = ascending(scores);
    order.reverse();
    let (mut tp, mut fp) = (0, 0);
    let mut out = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        if positive[i] {
            tp += 1;
        } else {
            fp += 1;
        }
        if k + 1 == order.len() || scores[order[k + 1]] != scores[i] {
            out.push((tp, fp, scores[i]));
        }
    }
    out
}

/// A point of a ROC or precision-recall curve at one threshold (flag score >= threshold).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CurvePoint {
    pub threshold: f64,
    /// False-positive rate (ROC) or recall (precision-recall).
    pub x: f64,
    /// True-positive rate (ROC) or precision (precision-recall).
    pub y: f64,
}

/// The ROC curve: (0, 0), then (false-positive rate, true-positive rate) at every distinct
/// score from the highest down; scikit-learn's `roc_curve(drop_intermediate=False)`. `None`
/// when either class is empty.
pub fn roc_curve(scores: &[f64], positive: &[bool]) -> Option<Vec<CurvePoint>> {
    assert_eq!(scores.len(), positive.len(), "roc_curve of slices of different lengths");
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut pts = vec![CurvePoint { threshold: f64::INFINITY, x: 0.0, y: 0.0 }];
    pts.extend(
        cumulative_counts(scores, positive)
            .into_iter()
            .map(|(tp, fp, t)| CurvePoint { threshold: t, x: fp as f64 / n_neg as f64, y: tp as f64 / n_pos as f64 }),
    );
    Some(pts)
}

/// The precision-recall curve: (recall, precision) at every distinct score from the highest
/// down (scikit-learn's `precision_recall_curve`, in the opposite order and without its final
/// (0, 1) point). `None` without positives.
pub fn precision_recall_curve(scores: &[f64], positive: &[bool]) -> Option<Vec<CurvePoint>> {
    assert_eq!(scores.len(), positive.len(), "precision_recall_curve of slices of different lengths");
    let n_pos = positive.iter().filter(|&&p| p).count();
    if n_pos == 0 {
        return None;
    }
    Some(
        cumulative_counts(scores, positive)
            .into_iter()
            .map(|(tp, fp, t)| CurvePoint { threshold: t, x: tp as f64 / n_pos as f64, y: tp as f64 / (tp + fp) as f64 })
            .collect(),
    )
}

/// Average precision, Σ_n (R_n - R_{n-1}) P_n over the distinct thresholds (scikit-learn's
/// `average_precision_score`: a step-wise area, not the trapezoidal one). `None` without
/// positives.
pub fn average_precision(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let pr = precision_recall_curve(scores, positive)?;
    let mut prev = 0.0;
    let mut ap = 0.0;
    for p in pr {
        ap += (p.x - prev) * p.y;
        prev = p.x;
    }
    Some(ap)
}

/// The q-quantile (q in [0, 1]) of `values` with linear interpolation between order statistics,
/// numpy's default `percentile` rule (what PyOD's contamination threshold uses).
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssim_matches_scikit_image() {
        // Reference from scikit-image 0.26.0 in the bench venv:
        //   import numpy as np; from skimage.metrics import structural_similarity as ssim
        //   a = ((np.arange(28 * 28).reshape(28, 28) * 37) % 101 / 100).astype(np.float32)
        //   b = np.clip(a + 0.1 * np.sin(np.arange(28 * 28).reshape(28, 28).astype(np.float32)), 0, 1).astype(np.float32)
        //   ssim(a, b, data_range=1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
        let a: Vec<f32> = (0..28 * 28).map(|i| ((i * 37) % 101) as f32 / 100.0).collect();
        let b: Vec<f32> = a.iter().enumerate().map(|(i, &v)| (v + 0.1 * (i as f32).sin()).clamp(0.0, 1.0)).collect();
        let s = ssim(&a, &b, 1, 28, 28);
        assert!((s - SKIMAGE_REFERENCE).abs() < 1e-4, "{s} vs {SKIMAGE_REFERENCE}");
        assert!((ssim(&a, &a, 1, 28, 28) - 1.0).abs() < 1e-12);
    }

    const SKIMAGE_REFERENCE: f64 = 0.9724312181825991;
    // Reference values from scikit-learn 1.9.1 and numpy (~/.cache/aekit-bench/torch-venv):
    //   s = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.4]; y = [0, 0, 1, 1, 1, 0, 0, 1]
    //   roc_auc_score(y, s) = 0.625; average_precision_score(y, s) = 0.5916666666666667
    //   roc_curve(y, s, drop_intermediate=False): fpr [0, .25, .25, .5, .5, .75, 1],
    //     tpr [0, 0, .25, .75, 1, 1, 1], thresholds [inf, .9, .8, .4, .35, .2, .1]
    //   precision_recall_curve(y, s): precision [.5, .5714, .6667, .6, .5, 0, 1],
    //     recall [1, 1, 1, .75, .25, 0, 0], thresholds [.1, .2, .35, .4, .8, .9]
    //   np.percentile(s, 90) = 0.83, np.percentile(s, 75) = 0.5
    const S: [f64; 8] = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.4];
    const Y: [bool; 8] = [false, false, true, true, true, false, false, true];

    #[test]
    fn auroc_and_average_precision_match_scikit_learn_with_ties() {
        assert!((auroc(&S, &Y).unwrap() - 0.625).abs() < 1e-12);
        assert!((average_precision(&S, &Y).unwrap() - 0.5916666666666667).abs() < 1e-12);
        assert_eq!(auroc(&S, &[true; 8]), None);
        assert_eq!(average_precision(&S, &[false; 8]), None);
        // Perfect separation and perfect inversion.
        let y = [false, false, true, true];
        assert_eq!(auroc(&[1.0, 2.0, 3.0, 4.0], &y), Some(1.0));
        assert_eq!(auroc(&[4.0, 3.0, 2.0, 1.0], &y), Some(0.0));
        assert_eq!(auroc(&[1.0; 4], &y), Some(0.5));
    }

    #[test]
    fn curves_match_scikit_learn() {
        let roc = roc_curve(&S, &Y).unwrap();
        let fpr: Vec<f64> = roc.iter().map(|p| p.x).collect();
        let tpr: Vec<f64> = roc.iter().map(|p| p.y).collect();
        let thr: Vec<f64> = roc.iter().map(|p| p.threshold).collect();
        assert_eq!(fpr, [0.0, 0.25, 0.25, 0.5, 0.5, 0.75, 1.0]);
        assert_eq!(tpr, [0.0, 0.0, 0.25, 0.75, 1.0, 1.0, 1.0]);
        assert_eq!(thr, [f64::INFINITY, 0.9, 0.8, 0.4, 0.35, 0.2, 0.1]);
        let pr = precision_recall_curve(&S, &Y).unwrap();
        let want_p = [0.0, 0.5, 0.6, 2.0 / 3.0, 4.0 / 7.0, 0.5];
        let want_r = [0.0, 0.25, 0.75, 1.0, 1.0, 1.0];
        for (i, p) in pr.iter().enumerate() {
            assert!((p.y - want_p[i]).abs() < 1e-12 && (p.x - want_r[i]).abs() < 1e-12, "point {i}: {p:?}");
        }
    }

    #[test]
    fn quantile_matches_numpy_linear_rule() {
        assert!((quantile(&S, 0.9).unwrap() - 0.83).abs() < 1e-12);
        assert!((quantile(&S, 0.75).unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(quantile(&S, 1.0), Some(0.9));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
