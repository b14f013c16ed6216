//! A 1-D convolutional autoencoder for windows of a time series: stride-2 convolutions along
//! time (each halves the window), a dense bottleneck, and transposed convolutions back. The
//! same filters slide over the whole window, so a shape is recognised wherever it falls in it,
//! which a dense layer has to learn at every offset separately.
//!
//! # Shapes
//! A window of W rows of C columns arrives as the series detector makes it, `[B, W·C]`, row
//! after row; the model reads it as `[B, C, W]` and gives it back in the same layout.

use burn::nn::conv::{Conv1d, Conv1dConfig, ConvTranspose1d, ConvTranspose1dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig1d};
use burn::prelude::*;

use super::{Autoencoder, ModelSpec, Output};
use crate::data::SampleShape;
use crate::error::{Error, Result};
use crate::loss::Loss;

/// Kernel length of every convolution: odd, so padding keeps it centred.
const KERNEL: usize = 5;

#[derive(Config, Debug)]
pub struct Conv1dAeConfig {
    /// `Tabular { features: W·C }`: one window, row after row.
    pub input: SampleShape,
    /// Columns per row (C).
    pub series_channels: usize,
    /// Output channels of each encoder convolution; the decoder mirrors them.
    #[config(default = "vec![16, 32]")]
    pub channels: Vec<usize>,
    /// Size of the dense bottleneck.
    #[config(default = 16)]
    pub latent: usize,
}

impl Conv1dAeConfig {
    fn length(&self) -> usize {
        self.input.len() / self.series_channels.max(1)
    }

    pub fn init(&self, device: &Device) -> Conv1dAe {
        let c = self.series_channels;
        let mut sizes = vec![c];
        sizes.extend(&self.channels);
        let pad = KERNEL / 2;
        let encoder = sizes
            .windows(2)
            .map(|w| Conv1dConfig::new(w[0], w[1], KERNEL).with_stride(2).with_padding(PaddingConfig1d::Explicit(pad, pad)).init(device))
            .collect();
        let decoder = sizes
            .windows(2)
            .rev()
            .map(|w| ConvTranspose1dConfig::new([w[1], w[0]], KERNEL).with_stride(2).with_padding(pad).with_padding_out(1).init(device))
            .collect();
        let last = *sizes.last().expect("at least the input channels");
        let flat = last * (self.length() >> self.channels.len());
        Conv1dAe {
            encoder,
            to_latent: LinearConfig::new(flat, self.latent).init(device),
            from_latent: LinearConfig::new(self.latent, flat).init(device),
            decoder,
            channels: c,
            length: self.length(),
            last,
        }
    }
}

impl ModelSpec for Conv1dAeConfig {
    fn name(&self) -> &'static str {
        "conv1d"
    }
    fn input_shape(&self) -> SampleShape {
        self.input
    }
    fn validate(&self) -> Result<()> {
        let (c, n) = (self.series_channels, self.input.len());
        if c == 0 || n % c != 0 {
            return Err(Error::Shape(format!("the conv1d model takes windows of a series (--window); {n} features are not rows of {c} columns")));
        }
        let f = 1usize << self.channels.len();
        if self.channels.is_empty() || self.channels.contains(&0) || self.latent == 0 {
            return Err(Error::arg("channels", format!("{:?}, latent {}: expected positive sizes", self.channels, self.latent)));
        }
        if self.length() % f != 0 {
            return Err(Error::arg("window", format!("{}: the conv1d model's {} stride-2 layers need a window divisible by {f}", self.length(), self.channels.len())));
        }
        Ok(())
    }
}

#[derive(Module, Debug)]
pub struct Conv1dAe {
    pub encoder: Vec<Conv1d>,
    pub to_latent: Linear,
    pub from_latent: Linear,
    pub decoder: Vec<ConvTranspose1d>,
    #[module(skip)]
    channels: usize,
    #[module(skip)]
    length: usize,
    #[module(skip)]
    last: usize,
}

impl Autoencoder for Conv1dAe {
    fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        let b = x.dims()[0];
        let mut h: Tensor<3> = x.reshape([b, self.length, self.channels]).swap_dims(1, 2);
        for conv in &self.encoder {
            h = burn::tensor::activation::relu(conv.forward(h));
        }
        self.to_latent.forward(h.flatten(1, 2))
    }
    fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        let b = z.dims()[0];
        let short = self.length >> self.encoder.len();
        let mut h: Tensor<3> = burn::tensor::activation::relu(self.from_latent.forward(z)).reshape([b, self.last, short]);
        let n = self.decoder.len();
        for (i, deconv) in self.decoder.iter().enumerate() {
            h = deconv.forward(h);
            if i + 1 < n {
                h = burn::tensor::activation::relu(h);
            }
        }
        h.swap_dims(1, 2).reshape([b, self.length * self.channels])
    }
    fn output(&self) -> Output {
        Output::Identity
    }
    fn loss_kind(&self) -> Loss {
        Loss::Mse
    }
}

/// `--model conv1d` (series only: the detector passes the window's column count).
pub fn from_options(input: SampleShape, o: &super::ModelOptions) -> Result<super::ModelConfig> {
    let Some(c) = o.series_channels else {
        return Err(Error::Shape("the conv1d model takes windows of a series: give --window".into()));
    };
    let mut cfg = Conv1dAeConfig::new(input, c);
    if let Some(ch) = &o.channels {
        cfg.channels = ch.clone();
    }
    if let Some(l) = o.latent {
        cfg.latent = l;
    }
    Ok(super::ModelConfig::Conv1d(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_go_through_in_their_own_layout() {
        let device = Device::flex();
        let cfg = Conv1dAeConfig::new(SampleShape::Tabular { features: 32 * 3 }, 3);
        cfg.validate().unwrap();
        let m = cfg.init(&device);
        let x = Tensor::<2>::ones([5, 96], &device);
        assert_eq!(m.encode(x.clone()).dims(), [5, 16]);
        assert_eq!(m.reconstruct(x).dims(), [5, 96]);
        // A window that the two stride-2 layers cannot halve twice, and features that are not rows.
        assert!(Conv1dAeConfig::new(SampleShape::Tabular { features: 30 }, 1).validate().is_err());
        assert!(Conv1dAeConfig::new(SampleShape::Tabular { features: 64 }, 3).validate().is_err());
    }
}
