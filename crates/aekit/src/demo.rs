//! `aekit demo`: every capability on the embedded MNIST subset, gathered in one offline
//! `index.html`. Each capability adds its section here.

use std::path::Path;

use crate::data::builtin::{embedded_mnist, EMBEDDED_DESCRIPTION};
use crate::error::Result;
use crate::tasks::pca_compression;
use crate::viz::html::{write_report, Section};

/// What the demo produced.
pub struct Summary {
    pub index: std::path::PathBuf,
    pub pca: pca_compression::Report,
}

/// Runs the demo into `out` and writes `out/index.html`.
pub fn run(out: &Path) -> Result<Summary> {
    crate::io::create_dir(out)?;
    let split = embedded_mnist()?;
    let mut sections: Vec<Section> = Vec::new();

    let pca = pca_compression::run(&split, EMBEDDED_DESCRIPTION, &pca_compression::Options::default(), &out.join("pca"))?;
    sections.push(pca_compression::html_section(&pca, "pca"));

    let index = out.join("index.html");
    write_report(
        &index,
        "aekit demo",
        &format!("Every figure below was computed by aekit {} on {EMBEDDED_DESCRIPTION}.", env!("CARGO_PKG_VERSION")),
        &sections,
    )?;
    Ok(Summary { index, pca })
}
