//! The VAE as a generative model: samples from the prior, the test ELBO and its parts, and the
//! importance-weighted estimate of the test log-likelihood.

use std::path::Path;

use burn::prelude::*;

use crate::data::{Dataset, SampleShape};
use crate::error::{Error, Result};
use crate::models::vae::Variational;
use crate::models::Model;
use crate::data::batch_tensor;
use crate::viz::grid::{save_rgb_png, Grid};

/// The VAE inside a model, or an error naming what was given.
pub fn as_vae(model: &Model) -> Result<&dyn Variational> {
    model.variational().ok_or_else(|| Error::arg("run", "this needs a VAE run (aekit train --model vae, vae-mnist or conv-vae)"))
}

pub use crate::models::vae::sample_prior as sample;

/// Writes `samples.png` (a grid, 8 per row) and, when `singles`, `sample_NNNN.png` per image.
pub fn write_samples(x: &[f32], shape: SampleShape, title: &str, out: &Path, file: &str, singles: bool) -> Result<()> {
    crate::viz::grid::save_sample_grid(x, shape, title, &out.join(file))?;
    if let (true, SampleShape::Image { channels, height, width }) = (singles, shape) {
        let imgs: Vec<&[f32]> = x.chunks_exact(shape.len()).collect();
        let digits = imgs.len().to_string().len().max(4);
        for (i, img) in imgs.iter().enumerate() {
            save_rgb_png(&out.join(format!("sample_{i:0digits$}.png")), width, height, &Grid::single(img, channels, height, width))?;
        }
    }
    Ok(())
}

/// The negative ELBO on a dataset, per sample, in nats.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ElboFigures {
    /// Mean -ELBO per sample with z sampled once per image (as the PyTorch example reports).
    pub loss: f64,
    /// Its reconstruction part, -log p(x|z), z sampled.
    pub reconstruction: f64,
    /// Its KL part (the same whether z is sampled or not).
    pub kl: f64,
    /// Mean -ELBO per sample with z set to the posterior mean.
    pub loss_mean_z: f64,
}

/// -ELBO and its parts over `ds`; the sampled z come from a fixed seed.
pub fn elbo(vae: &dyn Variational, ds: &Dataset, device: &Device) -> ElboFigures {
    let n = ds.len();
    let idx: Vec<usize> = (0..n).collect();
    let mut rng = crate::rng::stream(0x5eed_e7a1, 1);
    let (mut rec, mut kl, mut rec_mean) = (0.0, 0.0, 0.0);
    let l = vae.latent_dim();
    let sum = |t: Tensor<1>| t.sum().into_scalar::<f32>() as f64;
    for chunk in idx.chunks(1000) {
        let x = batch_tensor(ds, chunk, device);
        let eps = Tensor::from_data(TensorData::new(crate::rng::normals(&mut rng, chunk.len() * l), [chunk.len(), l]), device);
        let s = vae.elbo_parts(x.clone(), Some(eps));
        let m = vae.elbo_parts(x, None);
        rec += sum(s.reconstruction);
        kl += sum(s.kl);
        rec_mean += sum(m.reconstruction);
    }
    let n = n.max(1) as f64;
    ElboFigures { loss: (rec + kl) / n, reconstruction: rec / n, kl: kl / n, loss_mean_z: (rec_mean + kl) / n }
}

/// The importance-weighted estimate of -log p(x) per sample in nats (Burda et al. 2016, the
/// IWAE bound with `k` samples), computed `chunk` samples at a time so memory stays bounded.
/// Returns the mean over `ds` and the per-sample values.
pub fn iwae_nll(vae: &dyn Variational, ds: &Dataset, k: usize, seed: u64, device: &Device, mut progress: impl FnMut(usize)) -> Result<(f64, Vec<f64>)> {
    if k == 0 {
        return Err(Error::arg("importance samples", "0: expected at least 1"));
    }
    let l = vae.latent_dim();
    // About 2 million decoded pixels per forward pass.
    let chunk = (2_000_000 / (k.min(2_000_000) * ds.sample_len()).max(1)).max(1);
    let draws_per_pass = (2_000_000 / ds.sample_len()).clamp(1, k);
    let mut rng = crate::rng::stream(seed, 2);
    let mut out = Vec::with_capacity(ds.len());
    let idx: Vec<usize> = (0..ds.len()).collect();
    for rows in idx.chunks(chunk) {
        let b = rows.len();
        let x = batch_tensor(ds, rows, device);
        // Running log-sum-exp over passes of `draws_per_pass` samples.
        let mut acc: Option<Tensor<2>> = None;
        let mut done = 0;
        while done < k {
            let kk = draws_per_pass.min(k - done);
            let eps = Tensor::<3>::from_data(TensorData::new(crate::rng::normals(&mut rng, b * kk * l), [b, kk, l]), device);
            let lw = vae.log_weights(x.clone(), eps);
            let part = lw.clone().max_dim(1) + (lw.clone() - lw.max_dim(1)).exp().sum_dim(1).log();
            acc = Some(match acc {
                None => part,
                Some(a) => {
                    let m = a.clone().max_pair(part.clone());
                    m.clone() + ((a - m.clone()).exp() + (part - m).exp()).log()
                }
            });
            done += kk;
        }
        let lse = acc.expect("k >= 1").into_data().try_into_vec_as::<f32>().unwrap_or_default();
        out.extend(lse.iter().map(|v| -(*v as f64 - (k as f64).ln())));
        progress(out.len());
    }
    let mean = out.iter().sum::<f64>() / out.len().max(1) as f64;
    Ok((mean, out))
}

/// Decodes the straight line between the posterior means of samples `i` and `j` of `ds`, at
/// `steps` evenly spaced points (both ends included).
///
/// # Shapes
/// → `[steps, P]`
pub fn interpolate(vae: &dyn Variational, ds: &Dataset, i: usize, j: usize, steps: usize, device: &Device) -> Result<Vec<f32>> {
    if i >= ds.len() || j >= ds.len() {
        return Err(Error::arg("interpolate", format!("--from {i} and --to {j}: the data has {} samples", ds.len())));
    }
    if steps < 2 {
        return Err(Error::arg("steps", format!("{steps}: expected at least 2")));
    }
    let mu = vae.encode(batch_tensor(ds, &[i, j], device)).into_data().try_into_vec_as::<f32>().unwrap_or_default();
    let l = vae.latent_dim();
    let mut z = Vec::with_capacity(steps * l);
    for s in 0..steps {
        let t = s as f32 / (steps - 1) as f32;
        z.extend((0..l).map(|d| (1.0 - t) * mu[d] + t * mu[l + d]));
    }
    let x = burn::tensor::activation::sigmoid(vae.decode(Tensor::from_data(TensorData::new(z, [steps, l]), device)));
    Ok(x.into_data().try_into_vec_as::<f32>().unwrap_or_default())
}

/// Kingma & Welling's Figure 4: for a 2-D latent space, decode an `n` x `n` grid of points
/// (Φ⁻¹(u), Φ⁻¹(v)) with u, v evenly spaced in (0, 1), so the grid covers the prior's mass evenly.
///
/// # Shapes
/// → `[n * n, P]`, row-major over (v, u)
pub fn manifold(vae: &dyn Variational, n: usize, device: &Device) -> Result<Vec<f32>> {
    if vae.latent_dim() != 2 {
        return Err(Error::arg("run", format!("the manifold needs a 2-D latent space; this VAE's has {} dimensions (train with --latent 2)", vae.latent_dim())));
    }
    if n < 2 {
        return Err(Error::arg("n", format!("{n}: expected at least 2")));
    }
    let q: Vec<f32> = (0..n).map(|k| normal_quantile((k as f64 + 0.5) / n as f64) as f32).collect();
    let mut z = Vec::with_capacity(n * n * 2);
    for r in 0..n {
        for c in 0..n {
            // Top row is the largest second coordinate, as in the paper's figure.
            z.extend([q[c], q[n - 1 - r]]);
        }
    }
    let x = burn::tensor::activation::sigmoid(vae.decode(Tensor::from_data(TensorData::new(z, [n * n, 2]), device)));
    Ok(x.into_data().try_into_vec_as::<f32>().unwrap_or_default())
}

/// The standard normal quantile Φ⁻¹(p), Acklam's rational approximation (relative error below
/// 1.2e-9), for p in (0, 1).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.383577518672690e2, -3.066479806614716e1, 2.506628277459239];
    const B: [f64; 5] = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let lo = 0.02425;
    if p < lo {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - lo {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

/// Posterior means of `ds` in two dimensions: the first two latent dimensions when the latent
/// space is 2-D, else the first two principal components of the means. Returns the points and
/// how they were made.
pub fn latent_points(vae: &dyn Variational, ds: &Dataset, device: &Device) -> Result<(Vec<(f64, f64)>, String)> {
    let idx: Vec<usize> = (0..ds.len()).collect();
    let mut mu = Vec::new();
    for chunk in idx.chunks(1000) {
        mu.extend(vae.encode(batch_tensor(ds, chunk, device)).into_data().try_into_vec_as::<f32>().unwrap_or_default());
    }
    let l = vae.latent_dim();
    if l == 2 {
        return Ok((mu.chunks_exact(2).map(|c| (c[0] as f64, c[1] as f64)).collect(), "latent means (z1, z2)".into()));
    }
    let pca = crate::pca::PcaParams::new(crate::pca::NComponents::Count(2)).fit(&mu, l)?;
    let z = pca.transform(&mu)?;
    let what = format!("first two principal components of the {l}-D latent means");
    Ok((z.chunks_exact(2).map(|c| (c[0] as f64, c[1] as f64)).collect(), what))
}

#[cfg(test)]
mod tests {
    #[test]
    fn normal_quantile_matches_known_values() {
        // scipy.stats.norm.ppf([0.001, 0.05, 0.5, 0.9, 0.975])
        let want = [-3.090232306167813, -1.6448536269514729, 0.0, 1.2815515655446004, 1.959963984540054];
        for (p, w) in [0.001, 0.05, 0.5, 0.9, 0.975].iter().zip(want) {
            let got = super::normal_quantile(*p);
            assert!((got - w).abs() < 1e-8, "{p}: {got} vs {w}");
        }
    }
}
