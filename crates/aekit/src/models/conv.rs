//! The convolutional autoencoder: strided 3x3 convolutions (each halves the image), an optional
//! dense bottleneck, and transposed convolutions (each doubles it) back to the input size.
//! Works for any image whose sides are divisible by 2^(number of conv layers).

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;

use super::{activate, check_loss_output, reconstruction_loss, Activation, Autoencoder, ModelSpec, Output};
use crate::data::SampleShape;
use crate::error::{Error, Result};
use crate::fused;
use crate::loss::Loss;

#[derive(Config, Debug)]
pub struct ConvAeConfig {
    pub input: SampleShape,
    /// Output channels of each encoder convolution; the decoder mirrors them.
    #[config(default = "vec![32, 64]")]
    pub channels: Vec<usize>,
    /// Size of a dense bottleneck after the convolutions; without it the latent code is the
    /// last feature map, flattened.
    #[config(default = "None")]
    pub latent: Option<usize>,
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    #[config(default = "Output::Sigmoid")]
    pub output: Output,
    #[config(default = "Loss::Mse")]
    pub loss: Loss,
}

impl ConvAeConfig {
    pub fn init(&self, device: &Device) -> ConvAe {
        let stack = ConvStack::new(self.input, &self.channels, self.activation, device);
        let flat = stack.flat_features();
        ConvAe {
            to_latent: self.latent.map(|l| LinearConfig::new(flat, l).init(device)),
            from_latent: self.latent.map(|l| LinearConfig::new(l, flat).init(device)),
            stack,
            output: self.output,
            loss: self.loss,
        }
    }
}

impl ModelSpec for ConvAeConfig {
    fn name(&self) -> &'static str {
        "conv"
    }
    fn input_shape(&self) -> SampleShape {
        self.input
    }
    fn validate(&self) -> Result<()> {
        validate_stack("conv", self.input, &self.channels)?;
        if self.latent == Some(0) {
            return Err(Error::arg("latent", "0: expected a positive size"));
        }
        check_loss_output(self.loss, self.output)
    }
}

/// Checks that `input` is an image whose sides the stride-2 layers can halve `channels.len()`
/// times; `model` names the model in the error.
pub(crate) fn validate_stack(model: &str, input: SampleShape, channels: &[usize]) -> Result<(usize, usize, usize)> {
    let SampleShape::Image { channels: c, height: h, width: w } = input else {
        return Err(Error::Shape(format!("the {model} model takes images, the data has {input}")));
    };
    if channels.is_empty() || channels.contains(&0) {
        return Err(Error::arg("channels", format!("{channels:?}: expected one or more positive channel counts")));
    }
    let f = 1usize << channels.len();
    if h % f != 0 || w % f != 0 {
        return Err(Error::Shape(format!(
            "the {model} model with {} stride-2 layers needs image sides divisible by {f}; the data is {h}x{w}",
            channels.len()
        )));
    }
    Ok((c, h, w))
}

/// The strided 3x3 convolutions (each halves the image) and the mirrored transposed
/// convolutions (each doubles it) that the convolutional models share.
#[derive(Module, Debug)]
pub struct ConvStack {
    pub encoder: Vec<Conv2d>,
    pub decoder: Vec<ConvTranspose2d>,
    #[module(skip)]
    input: Vec<usize>,
    #[module(skip)]
    feature: Vec<usize>,
    #[module(skip)]
    activation: Activation,
}

impl ConvStack {
    /// `input` and `channels` must have passed [`validate_stack`].
    pub fn new(input: SampleShape, channels: &[usize], activation: Activation, device: &Device) -> Self {
        let dims = input.dims();
        let f = 1usize << channels.len();
        let mut chans = vec![dims[0]];
        chans.extend(channels);
        ConvStack {
            encoder: chans
                .windows(2)
                .map(|w| {
                    Conv2dConfig::new([w[0], w[1]], [3, 3])
                        .with_stride([2, 2])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .init(device)
                })
                .collect(),
            decoder: chans
                .windows(2)
                .rev()
                .map(|w| {
                    ConvTranspose2dConfig::new([w[1], w[0]], [3, 3])
                        .with_stride([2, 2])
                        .with_padding([1, 1])
                        .with_padding_out([1, 1])
                        .init(device)
                })
                .collect(),
            feature: vec![*channels.last().expect("validated"), dims[1] / f, dims[2] / f],
            input: dims,
            activation,
        }
    }

    /// Values in the last feature map.
    pub fn flat_features(&self) -> usize {
        self.feature.iter().product()
    }

    /// # Shapes
    /// `x`: `[B, C·H·W]` → `[B, flat_features]`
    pub fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        let b = x.dims()[0];
        self.encode_map(x).reshape([b as i64, -1])
    }

    /// [`ConvStack::encode`] before the flattening.
    ///
    /// # Shapes
    /// `x`: `[B, C·H·W]` → `[B, feature...]`
    pub fn encode_map(&self, x: Tensor<2>) -> Tensor<4> {
        let [b, _] = x.dims();
        let img: Tensor<4> = x.reshape([b, self.input[0], self.input[1], self.input[2]]);
        self.encoder.iter().fold(img, |h, conv| match self.activation {
            Activation::Relu => fused::conv2d_relu(conv, h),
            a => a.apply(fused::conv2d(conv, h)),
        })
    }

    /// Pre-activation output (no activation after the last layer).
    ///
    /// # Shapes
    /// `flat`: `[B, flat_features]` → `[B, C·H·W]`
    pub fn decode(&self, flat: Tensor<2>) -> Tensor<2> {
        let [b, _] = flat.dims();
        self.decode_map(flat.reshape([b, self.feature[0], self.feature[1], self.feature[2]]))
    }

    /// [`ConvStack::decode`] of a feature map as [`ConvStack::encode_map`] gives it: without the
    /// flattening and unflattening between, which copy the map between the fused kernels'
    /// channels-last layout and the flat code's NCHW order (both ways, forward and backward).
    ///
    /// # Shapes
    /// `h`: `[B, feature...]` → `[B, C·H·W]`
    pub fn decode_map(&self, h: Tensor<4>) -> Tensor<2> {
        let b = h.dims()[0];
        let last = self.decoder.len() - 1;
        let out = self.decoder.iter().enumerate().fold(h, |h, (i, deconv)| match self.activation {
            _ if i == last => fused::conv_transpose2d(deconv, h),
            Activation::Relu => fused::conv_transpose2d_relu(deconv, h),
            a => a.apply(fused::conv_transpose2d(deconv, h)),
        });
        out.reshape([b as i64, -1])
    }

    pub fn activation(&self) -> Activation {
        self.activation
    }
}

#[derive(Module, Debug)]
pub struct ConvAe {
    pub stack: ConvStack,
    pub to_latent: Option<Linear>,
    pub from_latent: Option<Linear>,
    #[module(skip)]
    output: Output,
    #[module(skip)]
    loss: Loss,
}

impl Autoencoder for ConvAe {
    fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        let flat = self.stack.encode(x);
        match &self.to_latent {
            Some(l) => l.forward(flat),
            None => flat,
        }
    }
    fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        let flat = match &self.from_latent {
            Some(l) => self.stack.activation().apply(l.forward(z)),
            None => z,
        };
        self.stack.decode(flat)
    }
    fn output(&self) -> Output {
        self.output
    }
    fn loss_kind(&self) -> Loss {
        self.loss
    }
    fn loss(&self, x: Tensor<2>, target: Tensor<2>, _noise: Option<Tensor<2>>) -> Tensor<1> {
        reconstruction_loss(self.pre_activation(x), target, self.output, self.loss)
    }
    fn reconstruct(&self, x: Tensor<2>) -> Tensor<2> {
        activate(self.pre_activation(x), self.output)
    }
}

impl ConvAe {
    /// `decode(encode(x))`. Without a dense bottleneck the code is the last feature map itself,
    /// so the stack runs from input to output without flattening it between (the same values).
    ///
    /// # Shapes
    /// `x`: `[B, C·H·W]` → `[B, C·H·W]`
    fn pre_activation(&self, x: Tensor<2>) -> Tensor<2> {
        match self.to_latent {
            Some(_) => self.decode(self.encode(x)),
            None => self.stack.decode_map(self.stack.encode_map(x)),
        }
    }
}

/// `--model conv`.
pub fn from_options(input: SampleShape, o: &super::ModelOptions) -> Result<super::ModelConfig> {
    Ok(super::ModelConfig::Conv(o.conv(ConvAeConfig::new(input))))
}
