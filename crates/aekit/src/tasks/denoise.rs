//! Denoising: the input is a corrupted image (see [`crate::data::degrade::Corruption`]), the
//! target the clean one. Corruption is drawn afresh for every batch of every epoch. Baselines:
//! a 3x3 median filter and the best Gaussian blur.

use crate::data::degrade::{corrupt, gaussian_blur, median3x3, Corruption};
use crate::data::{Dataset, SampleShape};
use crate::error::{Error, Result};
use crate::models::ModelConfig;

use super::task::image_dims;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DenoiseTask {
    /// Applied in order to every image.
    pub noise: Vec<Corruption>,
}

/// The Gaussian blur widths searched for the blur baseline.
pub const BLUR_SIGMAS: [f64; 14] = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.7, 2.0, 2.5, 3.0];

impl DenoiseTask {
    pub fn new(noise: Vec<Corruption>) -> Result<Self> {
        if noise.is_empty() {
            return Err(Error::arg("noise", "the denoise task needs at least one corruption, e.g. gaussian:0.5"));
        }
        for c in &noise {
            c.validate()?;
        }
        Ok(DenoiseTask { noise })
    }

    pub fn check(&self, model: &ModelConfig, shape: SampleShape) -> Result<()> {
        image_dims(shape, "the denoise task")?;
        if let ModelConfig::Restore(c) = model {
            if c.upscale != 1 {
                return Err(Error::arg("model", format!("the denoise task needs a model whose output has its input's size; {} upscales by {}", c.arch.name(), c.upscale)));
            }
        }
        Ok(())
    }

    /// # Shapes
    /// `clean`: `[B, C·H·W]` → `[B, C·H·W]`
    pub fn degrade(&self, clean: &[f32], shape: SampleShape, rng: &mut impl rand::Rng) -> Vec<f32> {
        let dims = shape.dims();
        let mut x = clean.to_vec();
        corrupt(&mut x, dims[1], dims[2], shape.len(), &self.noise, rng);
        x
    }

    pub fn describe(&self) -> String {
        let list: Vec<String> = self.noise.iter().map(|c| c.spec()).collect();
        format!("denoising, corruption {} (Gaussian noise clipped to [0, 1])", list.join(" then "))
    }

    /// Classical baselines on degraded images `[N, P]`: the 3x3 median, and the Gaussian blur
    /// whose sigma (from [`BLUR_SIGMAS`]) gives the best mean PSNR on `held_out` (clean images
    /// corrupted with a fixed seed), never on the evaluated images. Each entry: name, restored.
    pub fn baselines(&self, degraded: &[f32], shape: SampleShape, held_out: &Dataset) -> Vec<(String, Vec<f32>)> {
        let (c, h, w) = (shape.dims()[0], shape.dims()[1], shape.dims()[2]);
        let p = shape.len();
        let median: Vec<f32> = degraded.chunks_exact(p).flat_map(|img| median3x3(img, c, h, w)).collect();
        let noisy_ho = self.degrade(held_out.data(), shape, &mut crate::rng::stream(super::task::EVAL_SEED, 1));
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
}
