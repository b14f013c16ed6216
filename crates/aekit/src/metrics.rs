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
}
