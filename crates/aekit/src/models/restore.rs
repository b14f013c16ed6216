//! Fully convolutional restoration networks (denoising, super-resolution). They take a degraded
//! image and return the restored one; being fully convolutional, [`RestoreNet::forward_image`]
//! runs on images of any size (sides divisible by [`RestoreNet::size_multiple`]), not just the
//! training size.
//!
//! Three architectures:
//! - `dae`: the Keras denoising tutorial's autoencoder: per channel count a 3x3 convolution +
//!   ReLU + 2x2 max pooling, mirrored by stride-2 3x3 transposed convolutions + ReLU, then a 3x3
//!   convolution to the image's channels.
//! - `srcnn` (Dong et al. 2014): convolutions with "same" padding and ReLU between them, same size
//!   in and out; for super-resolution its input is the bicubic-upscaled image.
//! - `subpixel` (ESPCN, Shi et al. 2016): the same convolutions run on the low-resolution image,
//!   the last one gives C·s² channels, rearranged into an image s times larger (pixel shuffle).

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::pool::MaxPool2dConfig;
use burn::nn::PaddingConfig2d;

use crate::fused::{conv2d, conv2d_relu, conv_transpose2d_relu};
use burn::prelude::*;

use super::{check_loss_output, Autoencoder, ImageRestorer, ModelSpec, Output};
use crate::data::SampleShape;
use crate::error::{Error, Result};
use crate::loss::Loss;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestoreArch {
    Dae,
    Srcnn,
    Subpixel,
}

impl RestoreArch {
    pub fn name(self) -> &'static str {
        match self {
            RestoreArch::Dae => "dae",
            RestoreArch::Srcnn => "srcnn",
            RestoreArch::Subpixel => "subpixel",
        }
    }
}

#[derive(Config, Debug)]
pub struct RestoreNetConfig {
    /// The clean (target) image shape: the data. The network's input has this shape, or this
    /// shape divided by `upscale` for `subpixel`.
    pub input: SampleShape,
    pub arch: RestoreArch,
    /// Output channels of each hidden convolution (`dae`: of each encoder level).
    pub channels: Vec<usize>,
    /// Kernel size of each convolution, the output convolution included (`srcnn`, `subpixel`:
    /// channels.len() + 1 values; `dae` uses 3x3 throughout).
    #[config(default = "vec![]")]
    pub kernels: Vec<usize>,
    /// Upsampling factor of `subpixel` (1 for the others).
    #[config(default = 1)]
    pub upscale: usize,
    #[config(default = "Output::Sigmoid")]
    pub output: Output,
    #[config(default = "Loss::Mse")]
    pub loss: Loss,
}

impl RestoreNetConfig {
    /// The Keras denoising tutorial's model (32, 32 channels), with its binary cross-entropy
    /// loss: with MSE through the sigmoid the model can collapse to an all-black output early
    /// (measured: MNIST, sigma 0.5, stuck at MSE 0.112 for 3 epochs), which BCE's gradient
    /// (output - target, no sigmoid derivative) avoids.
    pub fn dae(input: SampleShape) -> Self {
        RestoreNetConfig::new(input, RestoreArch::Dae, vec![32, 32]).with_loss(Loss::Bce)
    }

    /// SRCNN 9-5-5 with 64 and 32 channels (BCE for the same reason as [`Self::dae`]).
    pub fn srcnn(input: SampleShape) -> Self {
        RestoreNetConfig::new(input, RestoreArch::Srcnn, vec![64, 32]).with_kernels(vec![9, 5, 5]).with_loss(Loss::Bce)
    }

    /// ESPCN-style: 5-3-3 convolutions with 64 and 32 channels on the low-resolution image
    /// (BCE: with MSE through the sigmoid, x4 on MNIST collapsed to black like the `dae`).
    pub fn subpixel(input: SampleShape, scale: usize) -> Self {
        RestoreNetConfig::new(input, RestoreArch::Subpixel, vec![64, 32]).with_kernels(vec![5, 3, 3]).with_upscale(scale).with_loss(Loss::Bce)
    }


    pub fn init(&self, device: &Device) -> RestoreNet {
        let dims = self.input.dims();
        let c = dims[0];
        let conv = |i: usize, o: usize, k: usize| {
            let p = k / 2;
            Conv2dConfig::new([i, o], [k, k]).with_padding(PaddingConfig2d::Explicit(p, p, p, p)).init(device)
        };
        let mut chans = vec![c];
        chans.extend(&self.channels);
        let (body, up, head) = match self.arch {
            RestoreArch::Dae => (
                chans.windows(2).map(|w| conv(w[0], w[1], 3)).collect(),
                chans[1..]
                    .windows(2)
                    .rev()
                    .map(|w| [w[1], w[0]])
                    .chain(std::iter::once([chans[1], chans[1]]))
                    .map(|[i, o]| ConvTranspose2dConfig::new([i, o], [3, 3]).with_stride([2, 2]).with_padding([1, 1]).with_padding_out([1, 1]).init(device))
                    .collect(),
                conv(chans[1], c, 3),
            ),
            RestoreArch::Srcnn | RestoreArch::Subpixel => (
                chans.windows(2).zip(&self.kernels).map(|(w, &k)| conv(w[0], w[1], k)).collect(),
                Vec::new(),
                conv(*chans.last().expect("validated"), c * self.upscale * self.upscale, *self.kernels.last().expect("validated")),
            ),
        };
        RestoreNet { body, up, head, arch: self.arch, upscale: self.upscale, clean: dims, output: self.output, loss: self.loss }
    }

    /// The shape of the network's input for clean images of `clean` shape.
    pub fn degraded_shape(&self) -> SampleShape {
        match self.input {
            SampleShape::Image { channels, height, width } => {
                SampleShape::Image { channels, height: height / self.upscale, width: width / self.upscale }
            }
            other => other,
        }
    }
}

impl ModelSpec for RestoreNetConfig {
    fn name(&self) -> &'static str {
        self.arch.name()
    }
    fn input_shape(&self) -> SampleShape {
        self.input
    }
    fn validate(&self) -> Result<()> {
        let SampleShape::Image { height, width, .. } = self.input else {
            return Err(Error::Shape(format!("the {} model takes images, the data has {}", self.arch.name(), self.input)));
        };
        if self.channels.is_empty() || self.channels.contains(&0) {
            return Err(Error::arg("channels", format!("{:?}: expected one or more positive channel counts", self.channels)));
        }
        match self.arch {
            RestoreArch::Dae => {
                let f = 1usize << self.channels.len();
                if height % f != 0 || width % f != 0 {
                    return Err(Error::Shape(format!(
                        "the dae model with {} pooling levels needs image sides divisible by {f}; the data is {height}x{width}",
                        self.channels.len()
                    )));
                }
            }
            RestoreArch::Srcnn | RestoreArch::Subpixel => {
                if self.kernels.len() != self.channels.len() + 1 || self.kernels.iter().any(|k| k % 2 == 0) {
                    return Err(Error::arg(
                        "kernels",
                        format!("{:?}: expected {} odd kernel sizes (one per convolution, the output one included)", self.kernels, self.channels.len() + 1),
                    ));
                }
            }
        }
        let s = self.upscale;
        if s == 0 || (self.arch != RestoreArch::Subpixel && s != 1) || height % s != 0 || width % s != 0 {
            return Err(Error::arg("scale", format!("{s}: the {} model cannot upscale {height}x{width} images by it", self.arch.name())));
        }
        check_loss_output(self.loss, self.output)
    }
    fn upscale(&self) -> usize {
        self.upscale
    }
}

#[derive(Module, Debug)]
pub struct RestoreNet {
    pub body: Vec<Conv2d>,
    pub up: Vec<ConvTranspose2d>,
    pub head: Conv2d,
    #[module(skip)]
    arch: RestoreArch,
    #[module(skip)]
    upscale: usize,
    /// `[C, H, W]` of the clean images it was built for.
    #[module(skip)]
    clean: Vec<usize>,
    #[module(skip)]
    output: Output,
    #[module(skip)]
    loss: Loss,
}

impl RestoreNet {
    /// Pre-activation restored images of any size.
    ///
    /// # Shapes
    /// `x`: `[B, C, h, w]` → `[B, C, h·s, w·s]` (s = `upscale`; h, w multiples of `size_multiple`)
    pub fn forward_image(&self, x: Tensor<4>) -> Tensor<4> {
        match self.arch {
            RestoreArch::Dae => {
                let pool = MaxPool2dConfig::new([2, 2]).init();
                let h = self.body.iter().fold(x, |h, conv| pool.forward(conv2d_relu(conv, h)));
                let h = self.up.iter().fold(h, |h, deconv| conv_transpose2d_relu(deconv, h));
                conv2d(&self.head, h)
            }
            RestoreArch::Srcnn | RestoreArch::Subpixel => {
                let h = self.body.iter().fold(x, |h, conv| conv2d_relu(conv, h));
                let out = conv2d(&self.head, h);
                if self.upscale > 1 {
                    pixel_shuffle(out, self.upscale)
                } else {
                    out
                }
            }
        }
    }

    /// In data space (the output activation applied).
    ///
    /// # Shapes
    /// `x`: `[B, C, h, w]` → `[B, C, h·s, w·s]`
    pub fn restore_image(&self, x: Tensor<4>) -> Tensor<4> {
        match self.output {
            Output::Identity => self.forward_image(x),
            Output::Sigmoid => burn::tensor::activation::sigmoid(self.forward_image(x)),
        }
    }

    /// Input sides must be multiples of this (the pooling levels of `dae`).
    pub fn size_multiple(&self) -> usize {
        match self.arch {
            RestoreArch::Dae => 1 << self.body.len(),
            _ => 1,
        }
    }

    /// Pixels of context each output pixel depends on, on each side (in input pixels), a bound
    /// used to choose the overlap of tiles.
    pub fn receptive_radius(&self) -> usize {
        match self.arch {
            // Each level: conv (1) then pool (x2); transposed convs add about 1 per level.
            RestoreArch::Dae => {
                let n = self.body.len();
                (1usize << (n + 1)) * 2 + 2
            }
            _ => self.body.iter().chain(std::iter::once(&self.head)).map(|c| c.weight.dims()[2] / 2).sum(),
        }
    }

    pub fn upscale(&self) -> usize {
        self.upscale
    }

    fn input_dims(&self) -> [usize; 3] {
        [self.clean[0], self.clean[1] / self.upscale, self.clean[2] / self.upscale]
    }
}

impl ImageRestorer for RestoreNet {
    fn restore_image(&self, x: Tensor<4>) -> Tensor<4> {
        RestoreNet::restore_image(self, x)
    }
    fn size_multiple(&self) -> usize {
        RestoreNet::size_multiple(self)
    }
    fn receptive_radius(&self) -> usize {
        RestoreNet::receptive_radius(self)
    }
    fn upscale(&self) -> usize {
        RestoreNet::upscale(self)
    }
}

/// Rearranges channels into space (PyTorch's `pixel_shuffle`).
///
/// # Shapes
/// `x`: `[B, C·s², h, w]` → `[B, C, h·s, w·s]`
pub fn pixel_shuffle(x: Tensor<4>, s: usize) -> Tensor<4> {
    let [b, cs, h, w] = x.dims();
    let c = cs / (s * s);
    let x: Tensor<6> = x.reshape([b, c, s, s, h, w]);
    x.permute([0, 1, 4, 2, 5, 3]).reshape([b, c, h * s, w * s])
}

impl Autoencoder for RestoreNet {
    /// The whole network; the "code" is the pre-activation restored image, flattened.
    fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        let [b, _] = x.dims();
        let [c, h, w] = self.input_dims();
        self.forward_image(x.reshape([b, c, h, w])).reshape([b as i64, -1])
    }
    fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        z
    }
    fn output(&self) -> Output {
        self.output
    }
    fn loss_kind(&self) -> Loss {
        self.loss
    }
    fn as_image_restorer(&self) -> Option<&dyn ImageRestorer> {
        Some(self)
    }
}

/// `--model dae`.
pub fn dae_from_options(input: SampleShape, o: &super::ModelOptions) -> Result<super::ModelConfig> {
    Ok(super::ModelConfig::Restore(o.restore(RestoreNetConfig::dae(input))))
}

/// `--model srcnn`.
pub fn srcnn_from_options(input: SampleShape, o: &super::ModelOptions) -> Result<super::ModelConfig> {
    Ok(super::ModelConfig::Restore(o.restore(RestoreNetConfig::srcnn(input))))
}

/// `--model subpixel` (`scale`: default 2).
pub fn subpixel_from_options(input: SampleShape, o: &super::ModelOptions) -> Result<super::ModelConfig> {
    Ok(super::ModelConfig::Restore(o.restore(RestoreNetConfig::subpixel(input, o.scale.unwrap_or(2)))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_shuffle_matches_pytorch_layout() {
        // torch.pixel_shuffle(torch.arange(8.).reshape(1, 4, 1, 2), 2)[0, 0]
        //   -> [[0, 2, 1, 3], [4, 6, 5, 7]]
        let device = Device::default();
        let x: Tensor<4> = Tensor::<1>::from_data(TensorData::new((0..8).map(|v| v as f32).collect::<Vec<_>>(), [8]), &device).reshape([1, 4, 1, 2]);
        let y = pixel_shuffle(x, 2);
        assert_eq!(y.dims(), [1, 1, 2, 4]);
        let v: Vec<f32> = y.into_data().try_into_vec_as::<f32>().unwrap();
        assert_eq!(v, vec![0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0]);
    }

    #[test]
    fn architectures_keep_or_scale_the_size_on_any_image() {
        let device = Device::default();
        let shape = SampleShape::Image { channels: 1, height: 28, width: 28 };
        for (cfg, s) in [(RestoreNetConfig::dae(shape), 1), (RestoreNetConfig { channels: vec![4, 4], ..RestoreNetConfig::srcnn(shape) }, 1), (RestoreNetConfig { channels: vec![4, 4], ..RestoreNetConfig::subpixel(shape, 4) }, 4)] {
            cfg.validate().unwrap();
            let net = cfg.init(&device);
            let y = net.forward_image(Tensor::zeros([2, 1, 12, 20], &device));
            assert_eq!(y.dims(), [2, 1, 12 * s, 20 * s], "{:?}", cfg.arch);
            let flat = net.encode(Tensor::zeros([3, 28 * 28 / (s * s)], &device));
            assert_eq!(flat.dims(), [3, 28 * 28]);
        }
        assert!(RestoreNetConfig::srcnn(shape).with_kernels(vec![9, 5]).validate().is_err());
        assert!(RestoreNetConfig::subpixel(shape, 3).validate().is_err());
    }
}
