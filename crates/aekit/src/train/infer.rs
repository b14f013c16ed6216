//! Inference with a trained [`Run`]: latent codes, decoding, per-sample reconstruction errors.

use std::path::Path;

use burn::prelude::*;

use super::run::Run;
use crate::data::latents::Latents;
use crate::data::{batch_tensor, Dataset};
use crate::error::{Error, Result};
use crate::models::{activate, Autoencoder, Output};

const BATCH: usize = 1000;

impl Run {
    /// Models that upsample take smaller inputs than the data they were trained on, so they
    /// cannot reconstruct or encode a dataset.
    fn check_same_size(&self) -> Result<()> {
        let c = self.config();
        match c.upscale() {
            1 => Ok(()),
            s => Err(Error::arg("run", format!("the {} model upsamples by {s}; use `aekit upscale` or `aekit eval`", c.name()))),
        }
    }

    /// Size of the latent code.
    pub fn latent_dim(&self, device: &Device) -> usize {
        let p = self.config().input_shape().len();
        self.model.encode(Tensor::zeros([1, p], device)).dims()[1]
    }

    /// Latent vectors of every sample, with the dataset's labels.
    pub fn encode(&self, ds: &Dataset, device: &Device) -> Result<Latents> {
        self.config().check_data(ds.shape())?;
        self.check_same_size()?;
        let idx: Vec<usize> = (0..ds.len()).collect();
        let mut values = Vec::new();
        let mut dim = 0;
        for chunk in idx.chunks(BATCH) {
            let z = self.model.encode(batch_tensor(ds, chunk, device));
            dim = z.dims()[1];
            values.extend(to_vec(z));
        }
        Ok(Latents { values, dim, labels: ds.labels().map(|l| l.to_vec()) })
    }

    /// Decodes latent vectors into data space, `[n, P]`.
    pub fn decode(&self, z: &Latents, device: &Device, source: &Path) -> Result<Vec<f32>> {
        self.check_same_size()?;
        let want = self.latent_dim(device);
        if z.dim != want {
            return Err(Error::input(source, format!("latent vectors have {} values, the model's code has {want}", z.dim)));
        }
        let mut out = Vec::with_capacity(z.len() * self.config().input_shape().len());
        for rows in z.values.chunks(BATCH * z.dim) {
            let t = Tensor::<2>::from_data(TensorData::new(rows.to_vec(), [rows.len() / z.dim, z.dim]), device);
            out.extend(to_vec(activate(self.model.decode(t), self.model.output())));
        }
        Ok(out)
    }

    /// Per-sample reconstruction errors: MSE per value, and BCE per value for sigmoid models.
    pub fn errors(&self, ds: &Dataset, device: &Device) -> Result<Vec<(f64, Option<f64>)>> {
        self.config().check_data(ds.shape())?;
        self.check_same_size()?;
        let idx: Vec<usize> = (0..ds.len()).collect();
        let mut out = Vec::with_capacity(ds.len());
        for chunk in idx.chunks(BATCH) {
            let x = batch_tensor(ds, chunk, device);
            let logits = self.model.decode(self.model.encode(x.clone()));
            let y = activate(logits.clone(), self.model.output());
            let mse = to_vec((y - x.clone()).square().mean_dim(1));
            let bce = (self.model.output() == Output::Sigmoid).then(|| {
                to_vec(crate::loss::bce_with_logits_values(logits.clone(), x).mean_dim(1))
            });
            for (i, m) in mse.iter().enumerate() {
                out.push((*m as f64, bce.as_ref().map(|b| b[i] as f64)));
            }
        }
        Ok(out)
    }
}

pub(crate) fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap_or_default()
}

