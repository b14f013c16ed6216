//! Classical baselines for restoration, each scored beside the model: for denoising a 3x3
//! median filter and the best Gaussian blur (its width chosen on held-out training images),
//! for super-resolution nearest and bicubic upscaling.

use crate::data::degrade::{gaussian_blur, median3x3, upscale_bicubic, upscale_nearest};
use crate::data::{Dataset, SampleShape};
use crate::train::objective::{Denoise, Superres, EVAL_SEED};

/// The Gaussian blur widths searched for the blur baseline.
pub const BLUR_SIGMAS: [f64; 14] = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.7, 2.0, 2.5, 3.0];

/// Denoising baselines on degraded images `[N, P]`: the 3x3 median, and the Gaussian blur whose
/// sigma (from [`BLUR_SIGMAS`]) gives the best mean PSNR on `held_out` (clean images corrupted
/// with a fixed seed), never on the evaluated images. Each entry: name, restored.
pub fn denoise(d: &Denoise, degraded: &[f32], shape: SampleShape, held_out: &Dataset) -> Vec<(String, Vec<f32>)> {
    let (c, h, w) = (shape.dims()[0], shape.dims()[1], shape.dims()[2]);
    let p = shape.len();
    let median: Vec<f32> = degraded.chunks_exact(p).flat_map(|img| median3x3(img, c, h, w)).collect();
    let noisy_ho = d.degrade(held_out.data(), shape, &mut crate::rng::stream(EVAL_SEED, 1));
    let score = |sigma: f64| -> f64 {
        let n = held_out.len().max(1) as f64;
        noisy_ho
            .chunks_exact(p)
            .zip(held_out.data().chunks_exact(p))
            .map(|(x, y)| crate::metrics::psnr_image_db(&gaussian_blur(x, c, h, w, sigma), y))
            .sum::<f64>()
            / n
    };
    let (sigma, _) = BLUR_SIGMAS.iter().map(|&s| (s, score(s))).fold((BLUR_SIGMAS[0], f64::NEG_INFINITY), |b, s| if s.1 > b.1 { s } else { b });
    let blur: Vec<f32> = degraded.chunks_exact(p).flat_map(|img| gaussian_blur(img, c, h, w, sigma)).collect();
    vec![
        ("3x3 median filter (edges replicated)".to_string(), median),
        (format!("Gaussian blur, sigma {sigma} (best of {} widths on {} held-out training images)", BLUR_SIGMAS.len(), held_out.len()), blur),
    ]
}

/// Super-resolution baselines on low-resolution images `[N, C·h·w]`: nearest and bicubic
/// upscaling.
pub fn superres(s: &Superres, low: &[f32], shape: SampleShape) -> Vec<(String, Vec<f32>)> {
    vec![
        ("nearest upscaling".to_string(), s.upscale_with(low, shape, upscale_nearest)),
        ("bicubic upscaling (Keys a = -0.5, PIL's; image crate CatmullRom)".to_string(), s.upscale_with(low, shape, upscale_bicubic)),
    ]
}
