//! `unet`: a small residual U-Net for photo denoising (after DRUNet, Zhang et al. 2021, without
//! its residual blocks): 3x3 conv + ReLU at full, half and quarter resolution, stride-2
//! convolutions down, 2x2 stride-2 transposed convolutions up, skips added (not concatenated),
//! and a global skip, so the network predicts the negative of the noise.
//!
//! Why not only DnCNN: at the same training time on two cores, the U-Net sees context ~4x
//! further away (receptive radius ~40 pixels against DnCNN depth 8's 9) for about half the
//! arithmetic per pixel, because most of its layers run on a quarter or a sixteenth of the
//! pixels. Measured on the validation photo (NOTES.md, "Photos: the U-Net default").
//!
//! Inputs must have sides divisible by 4 (two halvings); tiled restoration pads to that.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Initializer, PaddingConfig2d};
use burn::prelude::*;

use super::{ImageRestorer, ModelSpec};
use crate::data::SampleShape;
use crate::error::{Error, Result};
use crate::fused::{conv2d, conv2d_relu, conv_transpose2d_relu};

/// Halvings of the resolution: inputs' sides must be multiples of 2^LEVELS.
const HALVINGS: usize = 2;

#[derive(Config, Debug)]
pub struct UNetConfig {
    /// The clean image shape of the training data (the network runs on any size whose sides
    /// are multiples of 4).
    pub input: SampleShape,
    /// Channels at full resolution; 2x at half, 4x at quarter resolution.
    #[config(default = 32)]
    pub features: usize,
    /// 3x3 convolutions at quarter resolution after the downsampling one.
    #[config(default = 2)]
    pub bottom: usize,
}

impl UNetConfig {
    pub fn init(&self, device: &Device) -> UNet {
        let c = self.input.dims()[0];
        let w = self.features;
        // He initialisation (std sqrt(2 / fan_in)) for every layer followed by a ReLU; see
        // residual.rs for why Burn's default does not train deep ReLU stacks quickly.
        let he = Initializer::KaimingNormal { gain: std::f64::consts::SQRT_2, fan_out_only: false };
        let conv = |i: usize, o: usize, stride: usize, init: Initializer| {
            Conv2dConfig::new([i, o], [3, 3])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_initializer(init)
                .init(device)
        };
        let up = |i: usize, o: usize| ConvTranspose2dConfig::new([i, o], [2, 2]).with_stride([2, 2]).with_initializer(he.clone()).init(device);
        UNet {
            enc1: vec![conv(c, w, 1, he.clone()), conv(w, w, 1, he.clone())],
            enc2: vec![conv(w, 2 * w, 2, he.clone()), conv(2 * w, 2 * w, 1, he.clone())],
            enc3: std::iter::once(conv(2 * w, 4 * w, 2, he.clone())).chain((0..self.bottom).map(|_| conv(4 * w, 4 * w, 1, he.clone()))).collect(),
            up2: up(4 * w, 2 * w),
            dec2: conv(2 * w, 2 * w, 1, he.clone()),
            up1: up(2 * w, w),
            dec1: conv(w, w, 1, he.clone()),
            // Zero last layer: the untrained network is the identity (the noisy input).
            head: conv(w, c, 1, Initializer::Zeros),
            clean: self.input.dims(),
        }
    }
}

impl ModelSpec for UNetConfig {
    fn name(&self) -> &'static str {
        "unet"
    }
    fn input_shape(&self) -> SampleShape {
        self.input
    }
    fn validate(&self) -> Result<()> {
        let SampleShape::Image { height, width, .. } = self.input else {
            return Err(Error::Shape(format!("the unet model takes images, the data has {}", self.input)));
        };
        let m = 1 << HALVINGS;
        if height % m != 0 || width % m != 0 {
            return Err(Error::Shape(format!(
                "the unet model halves the resolution twice: training images (or --patch-size) must have sides divisible by {m}, they are {height}x{width}"
            )));
        }
        if self.features == 0 {
            return Err(Error::arg("channels", "0: expected at least 1 channel"));
        }
        Ok(())
    }
}

#[derive(Module, Debug)]
pub struct UNet {
    pub enc1: Vec<Conv2d>,
    pub enc2: Vec<Conv2d>,
    pub enc3: Vec<Conv2d>,
    pub up2: ConvTranspose2d,
    pub dec2: Conv2d,
    pub up1: ConvTranspose2d,
    pub dec1: Conv2d,
    pub head: Conv2d,
    /// `[C, H, W]` of the training images.
    #[module(skip)]
    clean: Vec<usize>,
}

fn stack(convs: &[Conv2d], x: Tensor<4>) -> Tensor<4> {
    convs.iter().fold(x, |h, c| conv2d_relu(c, h))
}

impl UNet {
    /// x + residual(x), unclipped.
    ///
    /// # Shapes
    /// `x`: `[B, C, H, W]` → `[B, C, H, W]` (H, W multiples of 4)
    pub fn forward_image(&self, x: Tensor<4>) -> Tensor<4> {
        let a = stack(&self.enc1, x.clone());
        let b = stack(&self.enc2, a.clone());
        let c = stack(&self.enc3, b.clone());
        let b = conv2d_relu(&self.dec2, conv_transpose2d_relu(&self.up2, c) + b);
        let a = conv2d_relu(&self.dec1, conv_transpose2d_relu(&self.up1, b) + a);
        x + conv2d(&self.head, a)
    }
}

impl ImageRestorer for UNet {
    /// Clipped to [0, 1], the pixel range.
    fn restore_image(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_image(x).clamp(0.0, 1.0)
    }
    fn size_multiple(&self) -> usize {
        1 << HALVINGS
    }
    /// In input pixels: 2 convs at full resolution (2), the stride-2 conv and one conv at half
    /// resolution (1 + 2·1), the stride-2 conv and `bottom` convs at quarter resolution
    /// (2 + 4·bottom), the way up (2x2 transposed convs: up to 2 and 1 more; a conv at half and
    /// one at full resolution: 2 + 1), the head (1); rounded up generously.
    fn receptive_radius(&self) -> usize {
        let bottom = self.enc3.len() - 1;
        2 + 3 + 2 + 4 * bottom + 3 + 3 + 1 + 4
    }
    fn upscale(&self) -> usize {
        1
    }
}

super::residual::image_to_image_autoencoder!(UNet);

/// `--model unet` (`--channels W` sets the full-resolution width, `--depth` the convolutions at
/// quarter resolution).
pub fn from_options(input: SampleShape, o: &super::ModelOptions) -> Result<super::ModelConfig> {
    let mut c = UNetConfig::new(input);
    if let Some(d) = o.depth {
        c.bottom = d;
    }
    match o.channels.as_deref() {
        None => {}
        Some([f]) => c.features = *f,
        Some(other) => return Err(Error::arg("channels", format!("{other:?}: the unet model takes one channel count (its full-resolution width)"))),
    }
    Ok(super::ModelConfig::Unet(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_as_the_identity_and_refuses_sides_not_divisible_by_4() {
        let device = Device::default();
        let shape = SampleShape::Image { channels: 3, height: 16, width: 16 };
        let net = UNetConfig::new(shape).with_features(8).init(&device);
        let x: Tensor<4> = Tensor::random([2, 3, 12, 20], burn::tensor::Distribution::Uniform(0.0, 1.0), &device);
        let y = net.forward_image(x.clone());
        assert_eq!(y.dims(), [2, 3, 12, 20]);
        let diff: f32 = (y - x).abs().max().into_scalar();
        assert_eq!(diff, 0.0);
        let err = UNetConfig::new(SampleShape::Image { channels: 3, height: 18, width: 16 }).validate().unwrap_err();
        assert!(err.to_string().contains("divisible by 4"), "{err}");
    }
}
