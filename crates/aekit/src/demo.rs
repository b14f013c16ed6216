//! `aekit demo`: every capability on the embedded MNIST subset, gathered in one offline
//! `index.html`. Each capability adds its section here.

use std::path::Path;

use crate::data::builtin::{embedded_mnist, EMBEDDED_DESCRIPTION};
use crate::data::SampleShape;
use crate::error::Result;
use crate::models::conv::ConvAeConfig;
use crate::models::dense::DenseAeConfig;
use crate::models::linear::LinearAeConfig;
use crate::models::ModelConfig;
use crate::tasks::{pca_compression, reconstruct};
use crate::train::{Observer, TrainConfig, TrainReport};
use crate::viz::html::{write_report, Section};

/// What the demo produced.
pub struct Summary {
    pub index: std::path::PathBuf,
    pub pca: pca_compression::Report,
    pub autoencoders: Vec<TrainReport>,
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
        let data = serde_json::json!({ "data": "mnist-embedded" });
        let (_, report) = reconstruct::run(&model, &train, &split, &data, device, &out.join(&dir), observer)?;
        runs.push((report, dir));
    }
    sections.push(reconstruct::html_section(&runs));

    let index = out.join("index.html");
    write_report(
        &index,
        "aekit demo",
        &format!("Every figure below was computed by aekit {} on {EMBEDDED_DESCRIPTION}.", env!("CARGO_PKG_VERSION")),
        &sections,
    )?;
    Ok(Summary { index, pca, autoencoders: runs.into_iter().map(|(r, _)| r).collect() })
}
