//! Residual restoration networks for photos: a plain stack of 3x3 convolutions + ReLU whose
//! output is added to the input (a global skip), so the stack learns only what differs between
//! the degraded and the clean image.
//!
//! - `dncnn` (Zhang et al. 2017, "Beyond a Gaussian Denoiser"): for denoising, the stack learns
//!   the negative of the noise. Colour or grey; blind over a noise range when trained so.
//! - `vdsr` (Kim et al. 2016): the same network for super-resolution; its input is the bicubic
//!   upscaling, and the stack learns the missing detail.
//!
//! Differences from the papers, on purpose: fewer and narrower layers by default (depth 8,
//! 48 channels: what trains in minutes on a laptop's cores), batch norm optional (off: with
//! Adam and a zero-initialised last layer the network starts as the identity and trains stably
//! without it, and it costs a third of the time on CPU), and no gradient clipping (Adam).

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, PaddingConfig2d};
use burn::prelude::*;

use super::{ImageRestorer, ModelSpec};
use crate::data::SampleShape;
use crate::error::{Error, Result};
use crate::fused::{conv2d, conv2d_relu};

/// The name a residual network goes by (the architecture is the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResidualKind {
    Dncnn,
    Vdsr,
}

#[derive(Config, Debug)]
pub struct ResidualNetConfig {
    /// The clean image shape of the training data (the network runs on any size).
    pub input: SampleShape,
    pub kind: ResidualKind,
    /// Convolutions in all, the first and the last included.
    #[config(default = 8)]
    pub depth: usize,
    /// Channels of the hidden convolutions.
    #[config(default = 48)]
    pub features: usize,
    /// Batch normalisation after each hidden convolution (DnCNN's original design).
    #[config(default = false)]
    pub batch_norm: bool,
}

impl ResidualNetConfig {
    pub fn init(&self, device: &Device) -> ResidualNet {
        let c = self.input.dims()[0];
        let f = self.features;
        let conv = |i: usize, o: usize, init: Option<Initializer>| {
            let mut cfg = Conv2dConfig::new([i, o], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1));
            if let Some(init) = init {
                cfg = cfg.with_initializer(init);
            }
            cfg.init(device)
        };
        // He initialisation (std sqrt(2 / fan_in)), as DnCNN: Burn's and PyTorch's default
        // (gain 1/sqrt(3)) shrinks the signal by about 3x in variance per ReLU layer, and a
        // depth-8 stack then sat on a plateau for 240 Adam steps (measured, photo crops).
        let he = || Some(Initializer::KaimingNormal { gain: std::f64::consts::SQRT_2, fan_out_only: false });
        let mut body = vec![conv(c, f, he())];
        body.extend((0..self.depth - 2).map(|_| conv(f, f, he())));
        let norms = if self.batch_norm { (0..self.depth - 2).map(|_| BatchNormConfig::new(f).init(device)).collect() } else { Vec::new() };
        // Zero last layer: the untrained network is the identity (the degraded input), the
        // right start for a residual and a guard against early divergence without batch norm.
        let head = conv(f, c, Some(Initializer::Zeros));
        ResidualNet { body, norms, head, kind: self.kind, clean: self.input.dims() }
    }
}

impl ModelSpec for ResidualNetConfig {
    fn name(&self) -> &'static str {
        match self.kind {
            ResidualKind::Dncnn => "dncnn",
            ResidualKind::Vdsr => "vdsr",
        }
    }
    fn input_shape(&self) -> SampleShape {
        self.input
    }
    fn validate(&self) -> Result<()> {
        let SampleShape::Image { .. } = self.input else {
            return Err(Error::Shape(format!("the {} model takes images, the data has {}", self.name(), self.input)));
        };
        if self.depth < 2 || self.features == 0 {
            return Err(Error::arg("depth", format!("depth {} and {} channels: expected at least 2 layers and 1 channel", self.depth, self.features)));
        }
        Ok(())
    }
}

#[derive(Module, Debug)]
pub struct ResidualNet {
    pub body: Vec<Conv2d>,
    pub norms: Vec<BatchNorm>,
    pub head: Conv2d,
    #[module(skip)]
    kind: ResidualKind,
    /// `[C, H, W]` of the training images.
    #[module(skip)]
    clean: Vec<usize>,
}

impl ResidualNet {
    /// x + residual(x), unclipped.
    ///
    /// # Shapes
    /// `x`: `[B, C, H, W]` → `[B, C, H, W]` (any H, W)
    pub fn forward_image(&self, x: Tensor<4>) -> Tensor<4> {
        let mut h = conv2d_relu(&self.body[0], x.clone());
        for (i, conv) in self.body.iter().enumerate().skip(1) {
            h = match self.norms.get(i - 1) {
                Some(bn) => burn::tensor::activation::relu(bn.forward(conv2d(conv, h))),
                None => conv2d_relu(conv, h),
            };
        }
        x + conv2d(&self.head, h)
    }
}

impl ImageRestorer for ResidualNet {
    /// Clipped to [0, 1], the pixel range.
    fn restore_image(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_image(x).clamp(0.0, 1.0)
    }
    fn size_multiple(&self) -> usize {
        1
    }
    fn receptive_radius(&self) -> usize {
        self.body.len() + 1
    }
    fn upscale(&self) -> usize {
        1
    }
}

/// `Autoencoder` for a fully convolutional image-to-image network with a `forward_image`
/// (`[B, C, H, W]` → same) and its training images' `clean: Vec<usize>` (`[C, H, W]`): the
/// whole network is the "encoder" (its code is the restored image, flattened), the decoder the
/// identity, the loss MSE on the unclipped output.
macro_rules! image_to_image_autoencoder {
    ($net:ty) => {
        impl $crate::models::Autoencoder for $net {
            fn encode(&self, x: Tensor<2>) -> Tensor<2> {
                let [b, _] = x.dims();
                let [c, h, w] = [self.clean[0], self.clean[1], self.clean[2]];
                self.forward_image(x.reshape([b, c, h, w])).reshape([b as i64, -1])
            }
            fn decode(&self, z: Tensor<2>) -> Tensor<2> {
                z
            }
            fn output(&self) -> $crate::models::Output {
                $crate::models::Output::Identity
            }
            fn loss_kind(&self) -> $crate::loss::Loss {
                $crate::loss::Loss::Mse
            }
            fn as_image_restorer(&self) -> Option<&dyn $crate::models::ImageRestorer> {
                Some(self)
            }
        }
    };
}
pub(crate) use image_to_image_autoencoder;

image_to_image_autoencoder!(ResidualNet);

fn from_options(input: SampleShape, o: &super::ModelOptions, kind: ResidualKind) -> Result<super::ModelConfig> {
    let mut c = ResidualNetConfig::new(input, kind).with_batch_norm(o.batch_norm);
    if let Some(d) = o.depth {
        c.depth = d;
    }
    match o.channels.as_deref() {
        None => {}
        Some([f]) => c.features = *f,
        Some(other) => return Err(Error::arg("channels", format!("{other:?}: the {} model takes one channel count (its width)", c.name()))),
    }
    Ok(super::ModelConfig::Residual(c))
}

/// `--model dncnn`.
pub fn dncnn_from_options(input: SampleShape, o: &super::ModelOptions) -> Result<super::ModelConfig> {
    from_options(input, o, ResidualKind::Dncnn)
}

/// `--model vdsr`.
pub fn vdsr_from_options(input: SampleShape, o: &super::ModelOptions) -> Result<super::ModelConfig> {
    from_options(input, o, ResidualKind::Vdsr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_as_the_identity_and_runs_on_any_size() {
        let device = Device::default();
        let shape = SampleShape::Image { channels: 3, height: 16, width: 16 };
        for bn in [false, true] {
            let net = ResidualNetConfig::new(shape, ResidualKind::Dncnn).with_depth(4).with_features(8).with_batch_norm(bn).init(&device);
            let x: Tensor<4> = Tensor::random([2, 3, 13, 21], burn::tensor::Distribution::Uniform(0.0, 1.0), &device);
            let y = net.forward_image(x.clone());
            assert_eq!(y.dims(), [2, 3, 13, 21]);
            let diff: f32 = (y - x).abs().max().into_scalar();
            assert_eq!(diff, 0.0, "batch norm {bn}");
        }
        assert!(ResidualNetConfig::new(SampleShape::Tabular { features: 4 }, ResidualKind::Vdsr).validate().is_err());
    }
}
