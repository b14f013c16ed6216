//! Training an autoencoder for reconstruction, with its report. For the linear model the report
//! also compares it with PCA at the same k: Baldi & Hornik (1989) show the linear autoencoder's
//! optimum spans the first k principal components, so its test MSE should approach PCA's and
//! the principal angles between the two subspaces should be small.

use burn::prelude::*;

use crate::data::Split;
use crate::error::Result;
use crate::linalg::principal_angles_deg;
use crate::models::{Autoencoder, Model};
use crate::pca::{NComponents, PcaParams};
use crate::train::TrainReport;

/// The linear autoencoder next to PCA with the same number of components.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PcaComparison {
    pub k: usize,
    /// PCA (exact, fitted on the same training set): test MSE per pixel from k components.
    pub pca_test_mse: f64,
    /// The autoencoder's test MSE per pixel.
    pub autoencoder_test_mse: f64,
    /// autoencoder_test_mse / pca_test_mse - 1 (0.03 = 3% worse than PCA).
    pub relative_excess_mse: f64,
    /// Principal angles (degrees, ascending) between the decoder's column space and the span
    /// of PCA's first k components.
    pub principal_angles_deg: Vec<f64>,
    pub max_principal_angle_deg: f64,
}

/// Compares a trained linear autoencoder with PCA on `split`.
pub fn compare_with_pca(model: &Model, split: &Split, ae_test_mse: f64) -> Result<Option<PcaComparison>> {
    let Some(basis) = model.decoder_basis() else { return Ok(None) };
    let p = split.train.sample_len();
    let k = basis.len() / p;
    let pca = PcaParams::new(NComponents::Count(k)).fit(split.train.data(), p)?;
    let recon = pca.inverse_transform(&pca.transform(split.test.data())?)?;
    let pca_mse = crate::metrics::mse(split.test.data(), &recon);
    let angles = principal_angles_deg(&basis, pca.components(), p)?;
    Ok(Some(PcaComparison {
        k,
        pca_test_mse: pca_mse,
        autoencoder_test_mse: ae_test_mse,
        relative_excess_mse: ae_test_mse / pca_mse - 1.0,
        max_principal_angle_deg: angles.last().copied().unwrap_or(0.0),
        principal_angles_deg: angles,
    }))
}

/// Adds model-specific figures to a reconstruction report: the linear model's PCA comparison,
/// a VAE's test ELBO and its parts.
pub(crate) fn finish(model: &Model, report: &mut TrainReport, split: &Split, device: &Device) -> Result<()> {
    if let Some(c) = compare_with_pca(model, split, report.test_mse)? {
        report.extra = Some(serde_json::json!({ "pca_comparison": c }));
    }
    if let Some(vae) = model.variational() {
        let e = crate::apps::generate::elbo(vae, &split.test, device);
        report.test_loss = e.loss;
        report.test_loss_mean_z = Some(e.loss_mean_z);
        report.test_reconstruction = Some(e.reconstruction);
        report.test_kl = Some(e.kl);
        report.loss = "negative ELBO per sample in nats (reconstruction -log p(x|z) summed over pixels + KL), z sampled once per image; training used the same objective (with its beta)".into();
    }
    Ok(())
}

/// The demo page's autoencoder section; each entry is a report and its run folder relative to
/// the page.
pub fn html_section(runs: &[(TrainReport, String)]) -> crate::viz::html::Section {
    use crate::viz::html::{Block, Section};
    let rows = runs
        .iter()
        .map(|(r, _)| {
            vec![
                r.model.clone(),
                r.epochs.len().to_string(),
                format!("{:.5}", r.test_mse),
                format!("{:.2}", r.test_psnr_db),
                r.test_bce.map(|b| format!("{b:.4}")).unwrap_or_else(|| "-".into()),
                format!("{:.1}", r.train_seconds),
            ]
        })
        .collect();
    let mut blocks = vec![
        Block::Text(
            "Autoencoders trained on the embedded training images and evaluated on its test images. \
             MSE and BCE are per pixel (pixels in [0, 1]); PSNR in dB for range [0, 1]."
                .into(),
        ),
        Block::Table {
            header: ["model", "epochs", "test MSE", "test PSNR (dB)", "test BCE", "train s"].map(String::from).to_vec(),
            rows,
        },
    ];
    for (r, dir) in runs {
        if let Some(c) = r.extra.as_ref().and_then(|e| e.get("pca_comparison")) {
            if let Ok(c) = serde_json::from_value::<PcaComparison>(c.clone()) {
                blocks.push(Block::Text(format!(
                    "Linear autoencoder vs PCA at k = {}: test MSE {:.5} vs {:.5} ({:+.1}%), largest principal angle \
                     between the decoder's column space and PCA's first {} components: {:.1} degrees (Baldi & Hornik 1989).",
                    c.k,
                    c.autoencoder_test_mse,
                    c.pca_test_mse,
                    c.relative_excess_mse * 100.0,
                    c.k,
                    c.max_principal_angle_deg
                )));
            }
        }
        let last = r.epochs.len();
        blocks.push(Block::Figure {
            src: format!("{dir}/reconstruction_{last}.png"),
            caption: format!("{}: test images (top) and reconstructions after {last} epochs.", r.model),
        });
        blocks.push(Block::Figure { src: format!("{dir}/loss.png"), caption: format!("{}: loss per value by epoch.", r.model) });
    }
    Section { title: "Autoencoders: linear, dense and convolutional".into(), blocks }
}
