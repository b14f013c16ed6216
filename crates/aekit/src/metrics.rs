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
