//! Using a trained run: reconstruct a dataset (grid and per-sample errors), export latent
//! vectors, and decode latent vectors back into data.

use std::fmt::Write as _;
use std::path::Path;

use burn::prelude::*;

use crate::data::latents::{self, Latents};
use crate::data::{Dataset, SampleShape};
use crate::error::{Error, Result};
use crate::models::{activate, Autoencoder, Model, ModelConfig, Output};
use crate::train::batch_tensor;
use crate::viz::grid::Grid;

const BATCH: usize = 1000;

/// A trained model with its configuration.
pub struct Trained {
    pub model: Model,
    pub config: ModelConfig,
}

impl Trained {
    /// Loads `run` for inference on `device`.
    pub fn load(run: &Path, device: &Device) -> Result<Self> {
        let (model, config, _) = crate::train::run::load(run, device)?;
        Ok(Trained { model, config })
    }

    /// Models that upsample take smaller inputs than the data they were trained on, so they
    /// cannot reconstruct or encode a dataset.
    fn check_same_size(&self) -> Result<()> {
        match &self.config {
            ModelConfig::Restore(c) if c.upscale > 1 => Err(Error::arg(
                "run",
                format!("the {} model upsamples by {}; use `aekit upscale` or `aekit eval`", c.arch.name(), c.upscale),
            )),
            _ => Ok(()),
        }
    }

    /// Size of the latent code.
    pub fn latent_dim(&self, device: &Device) -> usize {
        let p = self.config.input_shape().len();
        self.model.encode(Tensor::zeros([1, p], device)).dims()[1]
    }

    /// Latent vectors of every sample, with the dataset's labels.
    pub fn encode(&self, ds: &Dataset, device: &Device) -> Result<Latents> {
        self.config.check_data(ds.shape())?;
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
        let mut out = Vec::with_capacity(z.len() * self.config.input_shape().len());
        for rows in z.values.chunks(BATCH * z.dim) {
            let t = Tensor::<2>::from_data(TensorData::new(rows.to_vec(), [rows.len() / z.dim, z.dim]), device);
            out.extend(to_vec(activate(self.model.decode(t), self.model.output())));
        }
        Ok(out)
    }

    /// Per-sample reconstruction errors: MSE per value, and BCE per value for sigmoid models.
    pub fn errors(&self, ds: &Dataset, device: &Device) -> Result<Vec<(f64, Option<f64>)>> {
        self.config.check_data(ds.shape())?;
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

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap_or_default()
}

/// Summary of `aekit reconstruct`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReconstructReport {
    pub n: usize,
    /// Mean over samples of the per-sample MSE per value (pixel).
    pub mse: f64,
    /// 10 log10(1 / mse): PSNR in dB for values in [0, 1].
    pub psnr_db: f64,
    /// Mean binary cross-entropy per value (sigmoid-output models).
    pub bce: Option<f64>,
}

/// Writes `reconstruction.png` (the first `n_show` samples above their reconstructions),
/// `errors.csv` (index, label, mse, bce per sample) and `report.json` into `out`.
pub fn reconstruct(t: &Trained, ds: &Dataset, device: &Device, n_show: usize, out: &Path) -> Result<ReconstructReport> {
    let errors = t.errors(ds, device)?;
    crate::io::create_dir(out)?;
    if let SampleShape::Image { .. } = ds.shape() {
        let n = n_show.min(ds.len());
        let idx: Vec<usize> = (0..n).collect();
        let rec = to_vec(t.model.reconstruct(batch_tensor(ds, &idx, device)));
        let mut g = Grid::new(ds.shape(), 2)?.title("inputs and reconstructions");
        g.row(Some("input".into()), idx.iter().map(|&i| ds.sample(i)));
        g.row(Some("output".into()), rec.chunks_exact(ds.sample_len()));
        g.save_png(&out.join("reconstruction.png"))?;
    }
    let mut csv = String::from("index,label,mse,bce\n");
    for (i, (m, b)) in errors.iter().enumerate() {
        let label = ds.labels().map(|l| l[i].to_string()).unwrap_or_default();
        let bce = b.map(|b| b.to_string()).unwrap_or_default();
        let _ = writeln!(csv, "{i},{label},{m},{bce}");
    }
    crate::io::write_bytes(&out.join("errors.csv"), csv.as_bytes())?;
    let n = errors.len().max(1) as f64;
    let mse = errors.iter().map(|e| e.0).sum::<f64>() / n;
    let bce = errors.first().and_then(|e| e.1).map(|_| errors.iter().filter_map(|e| e.1).sum::<f64>() / n);
    let report = ReconstructReport { n: errors.len(), mse, psnr_db: crate::metrics::psnr_db(mse, 1.0), bce };
    crate::io::write_json(&out.join("report.json"), &report)?;
    Ok(report)
}

/// Decodes the latent vectors in `latents_file` and writes `decoded.png` (a grid of up to 64)
/// and one PNG per vector for image models, or `decoded.csv` for tabular ones.
pub fn decode_to_files(t: &Trained, latents_file: &Path, device: &Device, out: &Path) -> Result<usize> {
    let z = latents::read(latents_file)?;
    let x = t.decode(&z, device, latents_file)?;
    crate::io::create_dir(out)?;
    let shape = t.config.input_shape();
    let p = shape.len();
    match shape {
        SampleShape::Image { channels, height, width } => {
            let mut g = Grid::new(shape, 2)?.title(format!("{} decoded latent vectors", z.len()));
            let rows: Vec<&[f32]> = x.chunks_exact(p).take(64).collect();
            for r in rows.chunks(8) {
                g.row(None, r.iter().copied());
            }
            g.save_png(&out.join("decoded.png"))?;
            let digits = z.len().to_string().len().max(4);
            for (i, img) in x.chunks_exact(p).enumerate() {
                let one = Grid::single(img, channels, height, width);
                crate::viz::grid::save_rgb_png(&out.join(format!("decoded_{i:0digits$}.png")), width, height, &one)?;
            }
        }
        SampleShape::Tabular { features } => {
            let mut csv = (0..features).map(|j| format!("x{j}")).collect::<Vec<_>>().join(",");
            csv.push('\n');
            for row in x.chunks_exact(p) {
                let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
                let _ = writeln!(csv, "{}", cells.join(","));
            }
            crate::io::write_bytes(&out.join("decoded.csv"), csv.as_bytes())?;
        }
    }
    Ok(z.len())
}
