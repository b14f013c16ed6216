//! Super-resolution: the clean image downscaled by `scale` (area or bicubic) is the degraded
//! image; the model either takes it bicubic-upscaled back to full size and restores detail
//! (SRCNN-style, `input = upscaled`) or takes the low-resolution image and upsamples itself
//! (`input = low_res`, the `subpixel` model).

use crate::data::degrade::{downscale, upscale_bicubic, upscale_nearest, Downscale};
use crate::data::SampleShape;
use crate::error::{Error, Result};
use crate::models::ModelConfig;

use super::image_dims;

/// What the model is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SrInput {
    /// The low-resolution image upscaled back with bicubic interpolation (same size as the target).
    Upscaled,
    /// The low-resolution image itself; the model upsamples.
    LowRes,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Superres {
    pub scale: usize,
    pub downscale: Downscale,
    pub input: SrInput,
}

impl Superres {
    /// The task for `model`: low-resolution input for models that upsample themselves.
    pub fn for_model(scale: usize, downscale: Downscale, model: &ModelConfig) -> Result<Self> {
        if !(2..=4).contains(&scale) {
            return Err(Error::arg("scale", format!("{scale}: expected 2, 3 or 4")));
        }
        // A model that upsamples takes the low-resolution image; the others its bicubic
        // upscaling.
        let input = if model.upscale() > 1 { SrInput::LowRes } else { SrInput::Upscaled };
        Ok(Superres { scale, downscale, input })
    }

    pub fn check(&self, model: &ModelConfig, shape: SampleShape) -> Result<()> {
        let (_, h, w) = image_dims(shape, "the superres task")?;
        let s = self.scale;
        if h % s != 0 || w % s != 0 {
            return Err(Error::Shape(format!("super-resolution by {s} needs image sides divisible by {s}; the data is {h}x{w}")));
        }
        match (self.input, model.upscale()) {
            (SrInput::Upscaled, 1) => Ok(()),
            (SrInput::LowRes, u) if u == s => Ok(()),
            (_, u) => Err(Error::arg("scale", format!("the model upsamples by {u}, the task by {s}"))),
        }
    }

    pub fn low_res_shape(&self, shape: SampleShape) -> SampleShape {
        let d = shape.dims();
        SampleShape::Image { channels: d[0], height: d[1] / self.scale, width: d[2] / self.scale }
    }

    pub fn input_shape(&self, shape: SampleShape) -> SampleShape {
        match self.input {
            SrInput::Upscaled => shape,
            SrInput::LowRes => self.low_res_shape(shape),
        }
    }

    /// The low-resolution images of clean images `[B, C·H·W]` → `[B, C·(H/s)·(W/s)]`.
    pub fn low_res(&self, clean: &[f32], shape: SampleShape) -> Vec<f32> {
        let d = shape.dims();
        // In parallel over images (no randomness): resizing is the data pipeline's largest cost.
        use rayon::prelude::*;
        clean.par_chunks_exact(shape.len()).map(|img| downscale(img, d[0], d[1], d[2], self.scale, self.downscale)).collect::<Vec<_>>().concat()
    }

    /// Low-resolution images `[B, C·h·w]` as the model's input.
    pub fn prepare(&self, low: &[f32], shape: SampleShape) -> Vec<f32> {
        match self.input {
            SrInput::LowRes => low.to_vec(),
            SrInput::Upscaled => self.upscale_with(low, shape, upscale_bicubic),
        }
    }

    /// # Shapes
    /// `clean`: `[B, C·H·W]` → `[B, P_in]`
    pub fn degrade(&self, clean: &[f32], shape: SampleShape) -> Vec<f32> {
        self.prepare(&self.low_res(clean, shape), shape)
    }

    /// Low-resolution images `[N, C·h·w]` upscaled by `f` to full size.
    pub fn upscale_with(&self, low: &[f32], shape: SampleShape, f: fn(&[f32], usize, usize, usize, usize) -> Vec<f32>) -> Vec<f32> {
        let l = self.low_res_shape(shape);
        let d = l.dims();
        use rayon::prelude::*;
        low.par_chunks_exact(l.len()).map(|img| f(img, d[0], d[1], d[2], self.scale)).collect::<Vec<_>>().concat()
    }

    /// Model inputs shown at full size: low-resolution ones by nearest upscaling.
    pub fn display(&self, input: &[f32], shape: SampleShape) -> Vec<f32> {
        match self.input {
            SrInput::Upscaled => input.to_vec(),
            SrInput::LowRes => self.upscale_with(input, shape, upscale_nearest),
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "super-resolution x{}, {} downscaling; the model takes {}",
            self.scale,
            self.downscale.name(),
            match self.input {
                SrInput::Upscaled => "the bicubic-upscaled image (a = -0.5)",
                SrInput::LowRes => "the low-resolution image and upsamples it",
            }
        )
    }
}
