//! Denoising: the input is a corrupted image (see [`crate::data::degrade::Corruption`]), the
//! target the clean one. Corruption is drawn afresh for every batch of every epoch.

use crate::data::degrade::{corrupt, Corruption};
use crate::data::SampleShape;
use crate::error::{Error, Result};
use crate::models::ModelConfig;

use super::image_dims;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Denoise {
    /// Applied in order to every image.
    pub noise: Vec<Corruption>,
}

impl Denoise {
    pub fn new(noise: Vec<Corruption>) -> Result<Self> {
        if noise.is_empty() {
            return Err(Error::arg("noise", "the denoise task needs at least one corruption, e.g. gaussian:0.5"));
        }
        for c in &noise {
            c.validate()?;
        }
        Ok(Denoise { noise })
    }

    pub fn check(&self, model: &ModelConfig, shape: SampleShape) -> Result<()> {
        image_dims(shape, "the denoise task")?;
        if model.upscale() != 1 {
            return Err(Error::arg("model", format!("the denoise task needs a model whose output has its input's size; {} upscales by {}", model.name(), model.upscale())));
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
}
