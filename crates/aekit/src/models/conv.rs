//! The convolutional autoencoder: strided 3x3 convolutions (each halves the image), an optional
//! dense bottleneck, and transposed convolutions (each doubles it) back to the input size.
//! Works for any image whose sides are divisible by 2^(number of conv layers).

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;

use super::{check_loss_output, Activation, Autoencoder, Output};
use crate::data::SampleShape;
use crate::error::{Error, Result};
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
    fn image(&self) -> Result<(usize, usize, usize)> {
        match self.input {
            SampleShape::Image { channels, height, width } => Ok((channels, height, width)),
            other => Err(Error::Shape(format!("the conv model takes images, the data has {other}"))),
        }
    }

    /// The last feature map, `[C, H, W]`.
    fn feature_map(&self) -> Result<(usize, usize, usize)> {
        let (_, h, w) = self.image()?;
        let f = 1usize << self.channels.len();
        Ok((*self.channels.last().unwrap_or(&0), h / f, w / f))
    }

    pub fn validate(&self) -> Result<()> {
        let (_, h, w) = self.image()?;
        if self.channels.is_empty() || self.channels.contains(&0) {
            return Err(Error::arg("channels", format!("{:?}: expected one or more positive channel counts", self.channels)));
        }
        let f = 1usize << self.channels.len();
        if h % f != 0 || w % f != 0 {
            return Err(Error::Shape(format!(
                "the conv model with {} stride-2 layers needs image sides divisible by {f}; the data is {h}x{w}",
                self.channels.len()
            )));
        }
        if self.latent == Some(0) {
            return Err(Error::arg("latent", "0: expected a positive size"));
        }
        check_loss_output(self.loss, self.output)
    }

    pub fn init(&self, device: &Device) -> ConvAe {
        let (c_in, _, _) = self.image().expect("validated");
        let (fc, fh, fw) = self.feature_map().expect("validated");
        let mut chans = vec![c_in];
        chans.extend(&self.channels);
        let encoder = chans
            .windows(2)
            .map(|w| {
                Conv2dConfig::new([w[0], w[1]], [3, 3])
                    .with_stride([2, 2])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .init(device)
            })
            .collect();
        let decoder = chans
            .windows(2)
            .rev()
            .map(|w| {
                ConvTranspose2dConfig::new([w[1], w[0]], [3, 3])
                    .with_stride([2, 2])
                    .with_padding([1, 1])
                    .with_padding_out([1, 1])
                    .init(device)
            })
            .collect();
        let flat = fc * fh * fw;
        ConvAe {
            encoder,
            decoder,
            to_latent: self.latent.map(|l| LinearConfig::new(flat, l).init(device)),
            from_latent: self.latent.map(|l| LinearConfig::new(l, flat).init(device)),
            input: self.input.dims(),
            feature: vec![fc, fh, fw],
            activation: self.activation,
            output: self.output,
            loss: self.loss,
        }
    }
}

#[derive(Module, Debug)]
pub struct ConvAe {
    pub encoder: Vec<Conv2d>,
    pub decoder: Vec<ConvTranspose2d>,
    pub to_latent: Option<Linear>,
    pub from_latent: Option<Linear>,
    #[module(skip)]
    input: Vec<usize>,
    #[module(skip)]
    feature: Vec<usize>,
    #[module(skip)]
    activation: Activation,
    #[module(skip)]
    output: Output,
    #[module(skip)]
    loss: Loss,
}

impl Autoencoder for ConvAe {
    fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        let [b, _] = x.dims();
        let img: Tensor<4> = x.reshape([b, self.input[0], self.input[1], self.input[2]]);
        let h = self.encoder.iter().fold(img, |h, conv| self.activation.apply(conv.forward(h)));
        let flat: Tensor<2> = h.reshape([b as i64, -1]);
        match &self.to_latent {
            Some(l) => l.forward(flat),
            None => flat,
        }
    }
    fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        let [b, _] = z.dims();
        let flat = match &self.from_latent {
            Some(l) => self.activation.apply(l.forward(z)),
            None => z,
        };
        let h: Tensor<4> = flat.reshape([b, self.feature[0], self.feature[1], self.feature[2]]);
        let last = self.decoder.len() - 1;
        let out = self.decoder.iter().enumerate().fold(h, |h, (i, deconv)| {
            let h = deconv.forward(h);
            if i < last {
                self.activation.apply(h)
            } else {
                h
            }
        });
        out.reshape([b as i64, -1])
    }
    fn output(&self) -> Output {
        self.output
    }
    fn loss_kind(&self) -> Loss {
        self.loss
    }
}
