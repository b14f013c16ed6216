//! `aekit demo`: every capability on the embedded MNIST subset, gathered in one offline
//! `index.html`. Each capability adds its section here.

use std::path::Path;

use crate::data::builtin::{embedded_mnist, EMBEDDED_DESCRIPTION};
use crate::data::SampleShape;
use crate::error::Result;
use crate::models::conv::ConvAeConfig;
use crate::models::dense::DenseAeConfig;
use crate::models::linear::LinearAeConfig;
use crate::models::vae::VaeConfig;
use crate::models::ModelConfig;
use crate::apps::{features, generate, pca_compression, reconstruct, train_run};
use crate::train::objective::{Denoise, Objective, Superres};
use crate::train::run::Run;
use crate::train::{Observer, TrainConfig, TrainReport, TrainRequest};
use crate::viz::html::Block;
use crate::viz::html::{write_report, Section};

/// What the demo produced.
pub struct Summary {
    pub index: std::path::PathBuf,
    pub pca: pca_compression::Report,
    pub autoencoders: Vec<TrainReport>,
    /// Logistic regression on a shift-denoising conv autoencoder's codes, PCA features and pixels.
    pub features: features::Report,
}

/// Where the demo's data come from, as saved in each run's `config.json`.
fn embedded() -> serde_json::Value {
    serde_json::json!({ "data": "mnist-embedded" })
}

/// The demo's models: small enough to train in seconds on two cores.
fn demo_models(input: SampleShape) -> Vec<(ModelConfig, TrainConfig)> {
    vec![
        (ModelConfig::Linear(LinearAeConfig::new(input, 16)), TrainConfig::new().with_epochs(60).with_lr(5e-3)),
        (ModelConfig::Dense(DenseAeConfig::new(input)), TrainConfig::new().with_epochs(15)),
        (ModelConfig::Conv(ConvAeConfig::new(input)), TrainConfig::new().with_epochs(4)),
    ]
}

/// Runs the demo into `out` and writes `out/index.html`; `observer` sees the training progress.
pub fn run(out: &Path, device: &burn::prelude::Device, observer: &mut dyn Observer) -> Result<Summary> {
    crate::io::create_dir(out)?;
    let split = embedded_mnist()?;
    let mut sections: Vec<Section> = Vec::new();

    let pca = pca_compression::run(&split, EMBEDDED_DESCRIPTION, &pca_compression::Options::default(), &out.join("pca"))?;
    sections.push(pca_compression::html_section(&pca, "pca"));

    let mut runs = Vec::new();
    for (model, train) in demo_models(split.train.shape()) {
        let dir = format!("autoencoders/{}", model.name());
        let request = TrainRequest::new(model, train).with_data(embedded());
        let report = train_run(&request, &split, device, &out.join(&dir), observer)?.report;
        runs.push((report, dir));
    }
    sections.push(reconstruct::html_section(&runs));
    let (features, section) = features_section(&split, device, out, observer)?;
    sections.push(section);
    sections.push(vae_section(&split, device, out, observer)?);
    sections.push(restore_section(&split, device, out, observer)?);
    sections.push(crate::apps::restore::builtin::demo_section(device, out)?);
    sections.push(crate::apps::anomaly::demo_section(&split, 1, device, out, observer)?);

    let index = out.join("index.html");
    write_report(
        &index,
        "aekit demo",
        &format!("Every figure below was computed by aekit {} on {EMBEDDED_DESCRIPTION}.", env!("CARGO_PKG_VERSION")),
        &sections,
    )?;
    Ok(Summary { index, pca, autoencoders: runs.into_iter().map(|(r, _)| r).collect(), features })
}

/// Latent codes as features for a linear classifier: a conv autoencoder with a 32-d bottleneck,
/// trained to map randomly shifted digits back to the centred ones. That is the setting that
/// reaches 97.8% on full MNIST (BENCHMARKS.md); plain reconstruction stays near 93%.
fn features_section(split: &crate::data::Split, device: &burn::prelude::Device, out: &Path, observer: &mut dyn Observer) -> Result<(features::Report, Section)> {
    use crate::data::degrade::Corruption;
    let config = ModelConfig::Conv(ConvAeConfig::new(split.train.shape()).with_latent(Some(32)));
    let request = TrainRequest::new(config, TrainConfig::new().with_epochs(15))
        .with_objective(Objective::Denoise(Denoise::new(vec![Corruption::Shift { pixels: 5 }])?))
        .with_data(embedded());
    let dir = out.join("features_model");
    let fitted = crate::train::run::train(&request, split, device, &dir, observer)?;
    let report = features::run(&Run::from_fitted(request, fitted.model, &dir), split, device, &features::Options::default(), &out.join("features"))?;
    let mut section = features::html_section(&report);
    let all = |name: &str| report.rows.iter().find(|r| r.features == name && r.labels_per_class.is_none()).map(|r| 100.0 * r.accuracy_mean);
    if let (Some(z), Some(p), Some(x)) = (all("latent"), all("pca"), all("raw")) {
        section.blocks.push(Block::Text(format!(
            "The codes come from a conv autoencoder with a 32-d bottleneck, trained for 15 epochs to undo random shifts of up \
             to 5 pixels (input: a shifted digit, target: the centred one). With all labels: {z:.1}% against {p:.1}% for \
             PCA-32 and {x:.1}% for the raw pixels. On full MNIST the same setting gives 97.8% (BENCHMARKS.md)."
        )));
    }
    Ok((report, section))
}

/// The VAE section: the PyTorch example's model (10 epochs on the embedded images), its samples
/// and an interpolation; a 2-D-latent VAE for the manifold and the latent map.
fn vae_section(split: &crate::data::Split, device: &burn::prelude::Device, out: &Path, observer: &mut dyn Observer) -> Result<Section> {
    let shape = split.train.shape();
    let dir = out.join("vae");
    let request = TrainRequest::new(ModelConfig::Vae(VaeConfig::mnist_preset(shape)), TrainConfig::new().with_epochs(10)).with_data(embedded());
    let crate::train::Fitted { model, report } = train_run(&request, split, device, &dir, observer)?;
    let vae = generate::as_vae(&model)?;
    let x = generate::sample(vae, 64, 1.0, 0, device);
    generate::write_samples(&x, shape, "64 samples from the prior", &dir, "samples.png", false)?;
    let line = generate::interpolate(vae, &split.test, 0, 1, 10, device)?;
    let mut g = crate::viz::grid::Grid::new(shape, 2)?.title("test images 0 and 1, and the line between their codes");
    g.row(Some("inputs".into()), [split.test.sample(0), split.test.sample(1)]);
    g.row(Some("decoded".into()), line.chunks_exact(shape.len()));
    g.save_png(&dir.join("interpolation.png"))?;

    let dir2 = out.join("vae2d");
    let cfg2 = VaeConfig::new(shape).with_hidden(vec![256]).with_latent(2);
    let request2 = TrainRequest::new(ModelConfig::Vae(cfg2), TrainConfig::new().with_epochs(15)).with_data(embedded());
    let model2 = train_run(&request2, split, device, &dir2, observer)?.model;
    let vae2 = generate::as_vae(&model2)?;
    let m = generate::manifold(vae2, 20, device)?;
    let mut g = crate::viz::grid::Grid::new(shape, 1)?.title("2-D latent space: decoded inverse-CDF grid");
    for row in m.chunks(20 * shape.len()) {
        g.row(None, row.chunks_exact(shape.len()));
    }
    g.save_png(&dir2.join("manifold.png"))?;
    let (pts, what) = generate::latent_points(vae2, &split.test, device)?;
    crate::viz::plot::scatter(&pts, split.test.labels(), &format!("test set: {what}"), "z1", "z2", &dir2.join("latent_map.png"))?;

    let f = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_default();
    Ok(Section {
        title: "Variational autoencoder".into(),
        blocks: vec![
            Block::Text(format!(
                "The PyTorch example's VAE (784-400-20, Bernoulli likelihood), {} epochs on the embedded training images. \
                 Test negative ELBO per image, in nats: {:.2} with z sampled (reconstruction {} + KL {}), {} with z set to the posterior mean.",
                report.epochs.len(),
                report.test_loss,
                f(report.test_reconstruction),
                f(report.test_kl),
                f(report.test_loss_mean_z)
            )),
            Block::Figure { src: "vae/samples.png".into(), caption: "Decoded samples from the prior N(0, I).".into() },
            Block::Figure { src: "vae/interpolation.png".into(), caption: "Decoding the straight line between two test images' latent means.".into() },
            Block::Figure { src: "vae2d/manifold.png".into(), caption: "A VAE with a 2-D latent space: decoded grid over the prior (Kingma & Welling, Figure 4).".into() },
            Block::Figure { src: "vae2d/latent_map.png".into(), caption: "Test images' latent means in the 2-D model, coloured by digit.".into() },
        ],
    })
}

/// The restoration section: a denoising autoencoder (Gaussian noise, sigma 0.5) and a sub-pixel
/// super-resolution model (x2, area downscaling), each against its classical baselines.
fn restore_section(split: &crate::data::Split, device: &burn::prelude::Device, out: &Path, observer: &mut dyn Observer) -> Result<Section> {
    use crate::data::degrade::{Corruption, Downscale};
    use crate::models::restore::RestoreNetConfig;
    use crate::apps::restore::RestoreReport;
    let shape = split.train.shape();
    let dn_model = ModelConfig::Restore(RestoreNetConfig { channels: vec![16, 16], ..RestoreNetConfig::dae(shape) });
    let dn_task = Objective::Denoise(Denoise::new(vec![Corruption::Gaussian { sigma: 0.5 }])?);
    let sr_model = ModelConfig::Restore(RestoreNetConfig { channels: vec![32, 16], ..RestoreNetConfig::subpixel(shape, 2) });
    let sr_task = Objective::Superres(Superres::for_model(2, Downscale::Area, &sr_model)?);
    let mut blocks = vec![Block::Text(
        "Restoration: the input is a degraded test image, the target the original. PSNR in dB for pixels in [0, 1] and \
         SSIM (Wang et al., 11x11 Gaussian window, sigma 1.5) are means over the embedded test images."
            .into(),
    )];
    for (dir, model, task, epochs) in [("denoise", dn_model, dn_task, 5), ("superres", sr_model, sr_task, 8)] {
        let name = model.name();
        let request = TrainRequest::new(model, TrainConfig::new().with_epochs(epochs)).with_objective(task.clone()).with_data(embedded());
        let report = train_run(&request, split, device, &out.join(dir), observer)?.report;
        let r: RestoreReport = report
            .extra
            .as_ref()
            .and_then(|e| serde_json::from_value(e["restoration"].clone()).ok())
            .ok_or_else(|| crate::Error::Numerical("the restoration report is missing".into()))?;
        let mut rows = vec![vec!["degraded input".to_string(), format!("{:.2}", r.psnr_degraded), format!("{:.3}", r.ssim_degraded)]];
        rows.extend(r.baselines.iter().map(|b| vec![b.name.clone(), format!("{:.2}", b.psnr), format!("{:.3}", b.ssim)]));
        rows.push(vec![format!("{name} model, {epochs} epochs"), format!("{:.2}", r.psnr_model), format!("{:.3}", r.ssim_model)]);
        blocks.push(Block::Text(format!("{}.", r.task)));
        blocks.push(Block::Table { header: ["method", "PSNR (dB)", "SSIM"].map(String::from).to_vec(), rows });
        blocks.push(Block::Figure { src: format!("{dir}/eval/comparison.png"), caption: format!("{}: clean, degraded, best baseline, restored.", task.name()) });
    }
    Ok(Section { title: "Restoration: denoising and super-resolution".into(), blocks })
}
