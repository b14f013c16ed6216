//! `aekit pca`: PCA as image compression. Fits once, then reconstructs the test set from the
//! first k components for every requested k.

use std::path::Path;
use std::time::Instant;

use crate::data::{SampleShape, Split};
use crate::error::{Error, Result};
use crate::metrics::{mse, psnr_db};
use crate::pca::{NComponents, Pca, PcaParams, Solver};
use crate::viz::grid::{normalize_for_display, Grid};
use crate::viz::html::{Block, Section};
use crate::viz::plot::{LineChart, Series};

/// Options of the compression figure.
#[derive(Debug, Clone)]
pub struct Options {
    /// The k values to report and draw.
    pub components: Vec<usize>,
    pub solver: Solver,
    pub seed: u64,
    /// Test images shown per row of `compression.png`.
    pub n_show: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { components: vec![1, 5, 9, 13, 17, 21, 25, 29], solver: Solver::Exact, seed: 0, n_show: 8 }
    }
}

/// One row of the report.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Row {
    pub k: usize,
    /// Sum of the first k explained-variance ratios (training set).
    pub cumulative_explained_variance: f64,
    /// Mean squared error per value on the test set, reconstructions not clipped.
    pub test_mse: f64,
    /// 10 log10(1 / test_mse): PSNR in dB for values in [0, 1] (peak 1).
    pub test_psnr_db: f64,
    /// Floats stored per sample (k) over values per sample; the shared components and mean are
    /// not counted.
    pub compression_ratio: f64,
}

/// What `aekit pca` writes to `report.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Report {
    pub data: String,
    pub n_train: usize,
    pub n_test: usize,
    pub n_features: usize,
    pub solver: Solver,
    /// Components fitted: the largest k requested, at least 100 with the exact solver and 16 with
    /// the randomized one (capped at min(n_train, n_features)).
    pub n_components_fitted: usize,
    /// Wall-clock seconds of the fit alone (not loading, not evaluation).
    pub fit_seconds: f64,
    pub components: Vec<Row>,
    /// What the figures mean.
    pub notes: Vec<String>,
}

/// Fits PCA on `split.train`, evaluates on `split.test` and writes the figures, `report.json`
/// and the fitted model (`pca.safetensors`, `pca.json`) into `out`.
pub fn run(split: &Split, data: &str, opts: &Options, out: &Path) -> Result<Report> {
    let p = split.train.sample_len();
    if split.test.sample_len() != p {
        return Err(Error::Shape(format!(
            "train samples are {}, test samples {}",
            split.train.shape(),
            split.test.shape()
        )));
    }
    let max_k = split.train.len().min(p);
    let mut ks = opts.components.clone();
    ks.sort_unstable();
    ks.dedup();
    if ks.is_empty() {
        return Err(Error::arg("components", "no k given"));
    }
    if let Some(&bad) = ks.iter().find(|&&k| k == 0 || k > max_k) {
        return Err(Error::arg(
            "components",
            format!("k = {bad}: expected 1 to min(training samples, features) = {max_k}"),
        ));
    }
    // The exact solver's cost does not depend on k, so it keeps up to 100 components for a
    // longer variance curve; the randomized one fits only what was asked (at least 16 for
    // components.png).
    let k_max = *ks.last().unwrap();
    let k_fit = match opts.solver {
        Solver::Exact => k_max.max(100),
        Solver::Randomized => k_max.max(16),
    }
    .min(max_k);
    crate::io::create_dir(out)?;

    let t0 = Instant::now();
    let pca = PcaParams::new(NComponents::Count(k_fit)).solver(opts.solver).seed(opts.seed).fit(split.train.data(), p)?;
    let fit_seconds = t0.elapsed().as_secs_f64();
    pca.save(out)?;

    let test = split.test.data();
    let mut rows = Vec::new();
    let mut recon_by_k = Vec::new();
    let n_show = opts.n_show.min(split.test.len());
    for &k in &ks {
        let pk = pca.truncated(k)?;
        let recon = pk.inverse_transform(&pk.transform(test)?)?;
        let m = mse(test, &recon);
        rows.push(Row {
            k,
            cumulative_explained_variance: pk.explained_variance_ratio().iter().sum(),
            test_mse: m,
            test_psnr_db: psnr_db(m, 1.0),
            compression_ratio: k as f64 / p as f64,
        });
        recon_by_k.push(recon[..n_show * p].to_vec());
    }

    if let SampleShape::Image { .. } = split.train.shape() {
        draw_compression(split, &ks, &recon_by_k, n_show, &out.join("compression.png"))?;
        draw_components(&pca, split.train.shape(), &out.join("components.png"))?;
    }
    draw_variance(&pca, &ks, &out.join("variance.png"))?;

    let report = Report {
        data: data.to_string(),
        n_train: split.train.len(),
        n_test: split.test.len(),
        n_features: p,
        solver: opts.solver,
        n_components_fitted: k_fit,
        fit_seconds,
        components: rows,
        notes: vec![
            "cumulative_explained_variance: sum of explained_variance_ratio over the first k components (training set)".into(),
            "test_mse: mean squared error per value over all test samples, reconstruction = inverse_transform(transform(x)), not clipped".into(),
            "test_psnr_db: 10*log10(1/test_mse), PSNR for values in [0, 1]".into(),
            "compression_ratio: k floats stored per sample / values per sample (components and mean not counted)".into(),
            "fit_seconds: wall-clock time of PCA fitting alone".into(),
        ],
    };
    crate::io::write_json(&out.join("report.json"), &report)?;
    Ok(report)
}

fn draw_compression(split: &Split, ks: &[usize], recon: &[Vec<f32>], n_show: usize, path: &Path) -> Result<()> {
    let p = split.test.sample_len();
    let mut g = Grid::new(split.test.shape(), 2)?.title("PCA image compression: test images from k components");
    g.row(Some("original".into()), (0..n_show).map(|i| split.test.sample(i)));
    for (k, r) in ks.iter().zip(recon) {
        g.row(Some(format!("k = {k}")), r.chunks_exact(p));
    }
    g.save_png(path)
}

fn draw_components(pca: &Pca, shape: SampleShape, path: &Path) -> Result<()> {
    let p = pca.n_features();
    let n = pca.n_components().min(16);
    let comps: Vec<Vec<f32>> = pca.components().chunks_exact(p).take(n).map(normalize_for_display).collect();
    let mut g = Grid::new(shape, 2)?.title(format!("The first {n} principal components"));
    for chunk in comps.chunks(8) {
        g.row(None, chunk.iter().map(|c| c.as_slice()));
    }
    g.save_png(path)
}

fn draw_variance(pca: &Pca, ks: &[usize], path: &Path) -> Result<()> {
    let mut cum = 0.0;
    let points: Vec<(f64, f64)> = pca
        .explained_variance_ratio()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            cum += r;
            ((i + 1) as f64, cum)
        })
        .collect();
    let markers = ks.iter().map(|&k| (k as f64, points[k - 1].1)).collect();
    LineChart {
        title: "Cumulative explained variance".into(),
        x_label: "number of components k".into(),
        y_label: "explained variance ratio".into(),
        series: vec![Series { name: "cumulative".into(), points }],
        markers,
        y_range: Some((0.0, 1.0)),
    }
    .save_png(path)
}

/// The demo page's PCA section; `dir` is the report's folder relative to the page.
pub fn html_section(report: &Report, dir: &str) -> Section {
    let rows = report
        .components
        .iter()
        .map(|r| {
            vec![
                r.k.to_string(),
                format!("{:.4}", r.cumulative_explained_variance),
                format!("{:.5}", r.test_mse),
                format!("{:.2}", r.test_psnr_db),
                format!("{:.4}", r.compression_ratio),
            ]
        })
        .collect();
    Section {
        title: "PCA: compression with k principal components".into(),
        blocks: vec![
            Block::Text(format!(
                "PCA ({:?} solver) fitted on {} training samples of {} values from {}, in {:.2} s; \
                 test set of {} samples. MSE is per pixel, PSNR in dB for pixels in [0, 1].",
                report.solver, report.n_train, report.n_features, report.data, report.fit_seconds, report.n_test
            )),
            Block::Figure { src: format!("{dir}/compression.png"), caption: "Test images reconstructed from k components; originals on top.".into() },
            Block::Table {
                header: ["k", "cumulative explained variance", "test MSE", "test PSNR (dB)", "compression ratio"]
                    .map(String::from)
                    .to_vec(),
                rows,
            },
            Block::Figure { src: format!("{dir}/variance.png"), caption: "Cumulative explained-variance ratio, chosen k marked.".into() },
            Block::Figure { src: format!("{dir}/components.png"), caption: "The first principal components (each scaled to [0, 1]).".into() },
        ],
    }
}
