//! `aekit eval`: a VAE's test -ELBO and its parts (optionally the importance-weighted NLL), or a
//! denoise/superres run's PSNR and SSIM against the classical baselines.

use std::path::PathBuf;

use aekit::apps::{generate, restore};
use aekit::train::run::Run;
use anyhow::Result;

use crate::codes::RunData;

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    #[command(flatten)]
    pub with: RunData,
    /// Also estimate the negative log-likelihood with the importance-weighted bound.
    #[arg(long)]
    pub nll: bool,
    /// Samples per image for --nll (Burda et al. use 5000).
    #[arg(long, default_value_t = 5000)]
    pub importance_samples: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the figures as JSON here too (for denoise/superres runs: a folder for report.json
    /// and comparison.png, default RUN/eval).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(a: EvalArgs) -> Result<()> {
    let (device, t) = a.with.on.open()?;
    if t.request.objective.is_restoration() {
        return restoration(a, device, t);
    }
    let vae = generate::as_vae(&t.model)?;
    let ds = a.with.split.pick(a.with.data.load(0, a.with.quiet())?);
    t.config().check_data(ds.shape())?;
    let e = generate::elbo(vae, &ds, &device);
    println!("{} samples, per-sample values in nats:", ds.len());
    println!("  -ELBO, z sampled:       {:.3}  (reconstruction {:.3} + KL {:.3})", e.loss, e.reconstruction, e.kl);
    println!("  -ELBO, z = posterior mean: {:.3}", e.loss_mean_z);
    let mut json = serde_json::json!({
        "n": ds.len(),
        "test_loss": e.loss,
        "test_loss_mean_z": e.loss_mean_z,
        "test_reconstruction": e.reconstruction,
        "test_kl": e.kl,
        "units": "nats per sample; test_loss = -ELBO with z sampled once per image",
    });
    if a.nll {
        let bar = (!a.with.quiet()).then(|| indicatif::ProgressBar::new(ds.len() as u64));
        let (nll, _) = generate::iwae_nll(vae, &ds, a.importance_samples, a.seed, &device, |done| {
            if let Some(b) = &bar {
                b.set_position(done as u64);
            }
        })?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        println!("  -log p(x), importance-weighted bound with K = {}: {:.3}", a.importance_samples, nll);
        json["test_nll_iwae"] = serde_json::json!(nll);
        json["importance_samples"] = serde_json::json!(a.importance_samples);
    }
    if let Some(out) = &a.out {
        aekit::io::write_json(out, &json)?;
    }
    Ok(())
}

/// `aekit eval` on a denoise or superres run: PSNR/SSIM of the degraded input, the baselines and
/// the model on the test set; `--out` is a folder (default RUN/eval) for report.json and
/// comparison.png.
fn restoration(a: EvalArgs, device: aekit::device::Device, t: Run) -> Result<()> {
    let split = a.with.data.load(0, a.with.quiet())?;
    let held_out = split.train.head(restore::HELD_OUT);
    let ds = a.with.split.pick(split);
    let out = a.out.clone().unwrap_or_else(|| a.with.on.run.join("eval"));
    let r = restore::evaluate(&t, &ds, &held_out, &device, &out)?;
    println!("{} on {} images: mean PSNR (dB, pixels in [0, 1]) / mean SSIM (Gaussian 11x11, sigma 1.5)", r.task, r.n);
    println!("  {:<70} {:>7.2} {:>7.4}", "degraded", r.psnr_degraded, r.ssim_degraded);
    for b in &r.baselines {
        println!("  {:<70} {:>7.2} {:>7.4}", b.name, b.psnr, b.ssim);
    }
    println!("  {:<70} {:>7.2} {:>7.4}", "model", r.psnr_model, r.ssim_model);
    if !a.with.quiet() {
        println!("wrote {}", out.display());
    }
    Ok(())
}
