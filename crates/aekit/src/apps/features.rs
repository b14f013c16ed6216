//! Latent features for classification: the same logistic-regression classifier trained on a run's
//! latent vectors, on PCA features of the same dimension and on the raw values, with all
//! training labels and with only N labels per class (the semi-supervised setting of Kingma et
//! al. 2014: the autoencoder and PCA see every training image, the classifier only N per class).

use std::path::Path;
use std::time::Instant;

use burn::prelude::Device;
use rand::seq::SliceRandom;

use crate::classify::{Logistic, LogisticParams};
use crate::data::Split;
use crate::error::{Error, Result};
use crate::pca::{NComponents, PcaParams};
use crate::train::run::Run;
use crate::viz::html::{Block, Section};

/// What to compare.
#[derive(Debug, Clone)]
pub struct Options {
    /// Labelled examples per class for the semi-supervised rows (all labels are always a row).
    pub labels_per_class: Vec<usize>,
    /// Draws of the labelled subset per N; the report gives their mean and spread.
    pub draws: usize,
    /// Draw r of N labels per class uses ChaCha8 stream (seed + r, N).
    pub seed: u64,
    pub logistic: LogisticParams,
    /// Choose settings without the test set: hold out this seeded fraction of the training set
    /// (ChaCha8 seed `seed`) and report accuracy on it; PCA and the classifiers see only the
    /// rest, and the test set is not used. `None`: evaluate on the test set.
    pub val_fraction: Option<f64>,
    /// Also classify PCA features and the raw values (false: the latent rows only, for quick
    /// comparisons of runs).
    pub baselines: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { labels_per_class: vec![10, 100], draws: 5, seed: 0, logistic: LogisticParams::default(), val_fraction: None, baselines: true }
    }
}

/// One cell of the table: one feature set, one labelling.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// `latent`, `pca`, or `raw`.
    pub features: String,
    /// Feature dimension.
    pub dim: usize,
    /// Labelled training examples per class; `None`: the whole training set.
    pub labels_per_class: Option<usize>,
    /// Labelled training examples the classifier saw.
    pub n_labelled: usize,
    /// Test accuracy (fraction of the whole test set classified correctly), one per draw.
    pub accuracies: Vec<f64>,
    /// Mean of `accuracies`.
    pub accuracy_mean: f64,
    /// Sample standard deviation of `accuracies` (0 for one draw).
    pub accuracy_std: f64,
    /// Seeds of the draws (empty with all labels).
    pub seeds: Vec<u64>,
    /// Whether every fit reached the gradient tolerance.
    pub converged: bool,
    /// Most L-BFGS iterations over the draws.
    pub max_iter_used: u64,
    /// Mean wall-clock seconds per fit.
    pub fit_seconds: f64,
}

/// Summary of `aekit features`, written as `report.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub model: String,
    pub latent_dim: usize,
    pub n_train: usize,
    pub n_test: usize,
    /// What the accuracies are measured on: the test set, or a held-out part of the training set.
    pub evaluated_on: String,
    pub classifier: String,
    pub pca: String,
    pub labelled_subset: String,
    pub rows: Vec<Row>,
}

/// Runs the comparison and writes `out/report.json`.
pub fn run(t: &Run, split: &Split, device: &Device, opts: &Options, out: &Path) -> Result<Report> {
    let held_out;
    let (split, evaluated_on) = match opts.val_fraction {
        None => (split, format!("the test set ({} samples)", split.test.len())),
        Some(f) => {
            if !(f > 0.0 && f < 1.0) {
                return Err(Error::arg("val-fraction", format!("{f}: expected a fraction in (0, 1) of the training set")));
            }
            held_out = split.train.split(f, opts.seed)?;
            let what = format!(
                "a held-out {:.0}% of the training set ({} samples, ChaCha8 seed {}); the test set is not used",
                f * 100.0,
                held_out.test.len(),
                opts.seed
            );
            (&held_out, what)
        }
    };
    let (ytr, yte) = match (split.train.labels(), split.test.labels()) {
        (Some(a), Some(b)) => (a, b),
        _ => return Err(Error::arg("data", "features needs labels for the training and the test set; this data has none")),
    };
    if opts.draws == 0 {
        return Err(Error::arg("draws", "0: expected at least one draw"));
    }
    check_labels_per_class(ytr, &opts.labels_per_class)?;
    let ztr = t.encode(&split.train, device)?;
    let zte = t.encode(&split.test, device)?;
    let d = ztr.dim;
    let p = split.train.sample_len();
    if d > p.min(split.train.len()) {
        return Err(Error::arg("run", format!("the latent size {d} exceeds what PCA can give (min(samples, features) = {})", p.min(split.train.len()))));
    }
    let (ptr, pte) = if opts.baselines {
        let pca = PcaParams::new(NComponents::Count(d)).fit(split.train.data(), p)?;
        (pca.transform(split.train.data())?, pca.transform(split.test.data())?)
    } else {
        (Vec::new(), Vec::new())
    };
    let mut sets: Vec<(&str, usize, &[f32], &[f32])> = vec![("latent", d, &ztr.values, &zte.values)];
    if opts.baselines {
        sets.push(("pca", d, &ptr, &pte));
        sets.push(("raw", p, split.train.data(), split.test.data()));
    }
    let mut labellings: Vec<Option<usize>> = opts.labels_per_class.iter().map(|&n| Some(n)).collect();
    labellings.push(None);
    let mut rows = Vec::new();
    for &(name, dim, xtr, xte) in &sets {
        for &n in &labellings {
            let draws: Vec<(Option<u64>, Vec<usize>)> = match n {
                Some(n) => (0..opts.draws as u64).map(|r| (Some(opts.seed + r), per_class(ytr, n, opts.seed + r))).collect(),
                None => vec![(None, (0..ytr.len()).collect())],
            };
            let mut accs = Vec::new();
            let (mut converged, mut max_iter_used, mut secs) = (true, 0, 0.0);
            for (_, idx) in &draws {
                let x = gather(xtr, dim, idx);
                let y: Vec<u32> = idx.iter().map(|&i| ytr[i]).collect();
                let start = Instant::now();
                let m: Logistic = opts.logistic.fit(&x, dim, &y)?;
                secs += start.elapsed().as_secs_f64();
                converged &= m.converged;
                max_iter_used = max_iter_used.max(m.n_iter);
                accs.push(m.accuracy(xte, yte)?);
            }
            let (mean, std) = mean_std(&accs);
            rows.push(Row {
                features: name.into(),
                dim,
                labels_per_class: n,
                n_labelled: draws[0].1.len(),
                accuracy_mean: mean,
                accuracy_std: std,
                accuracies: accs,
                seeds: draws.iter().filter_map(|d| d.0).collect(),
                converged,
                max_iter_used,
                fit_seconds: secs / draws.len() as f64,
            });
        }
    }
    let l = &opts.logistic;
    let report = Report {
        model: t.config().name().to_string(),
        latent_dim: d,
        n_train: split.train.len(),
        n_test: split.test.len(),
        evaluated_on,
        classifier: format!(
            "multinomial logistic regression, L2 with C = {} (minimises sum of cross-entropies + ||W||^2 / (2C), \
             intercepts unpenalized, as scikit-learn's LogisticRegression), on features standardized with the \
             labelled training samples' mean and standard deviation; L-BFGS until the gradient norm of the objective / n \
             is below {:e} (at most {} iterations)",
            l.c, l.tol, l.max_iter
        ),
        pca: format!("exact PCA with {d} components, fitted on all {} training samples (labels unused)", split.train.len()),
        labelled_subset: format!(
            "N per class drawn without replacement from the training set, {} draws per N: draw r uses ChaCha8 seed {} + r, \
             stream N; the autoencoder and PCA use every training sample unlabelled",
            opts.draws, opts.seed
        ),
        rows,
    };
    crate::io::create_dir(out)?;
    crate::io::write_json(&out.join("report.json"), &report)?;
    Ok(report)
}

/// Every requested N must be available in every class of the training set.
fn check_labels_per_class(y: &[u32], ns: &[usize]) -> Result<()> {
    let mut counts = std::collections::BTreeMap::<u32, usize>::new();
    for &l in y {
        *counts.entry(l).or_default() += 1;
    }
    let Some((&label, &smallest)) = counts.iter().min_by_key(|(_, &c)| c) else {
        return Err(Error::arg("data", "the training set is empty"));
    };
    for &n in ns {
        if n == 0 || n > smallest {
            return Err(Error::arg(
                "labels-per-class",
                format!("{n}: expected 1 to {smallest}, the size of the smallest class of the training set (label {label})"),
            ));
        }
    }
    Ok(())
}

/// `n` indices of each class, drawn with ChaCha8 stream (seed, n), ascending.
fn per_class(y: &[u32], n: usize, seed: u64) -> Vec<usize> {
    let mut rng = crate::rng::stream(seed, n as u64);
    let mut classes: Vec<u32> = y.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let mut out = Vec::with_capacity(n * classes.len());
    for c in classes {
        let mut idx: Vec<usize> = (0..y.len()).filter(|&i| y[i] == c).collect();
        idx.shuffle(&mut rng);
        out.extend_from_slice(&idx[..n]);
    }
    out.sort_unstable();
    out
}

/// Rows `idx` of `x`, `[len(idx), dim]`.
fn gather(x: &[f32], dim: usize, idx: &[usize]) -> Vec<f32> {
    if idx.len() * dim == x.len() {
        return x.to_vec();
    }
    idx.iter().flat_map(|&i| &x[i * dim..(i + 1) * dim]).copied().collect()
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 { v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (mean, var.sqrt())
}

/// Human names of the feature sets.
pub fn describe(row: &Row, model: &str) -> String {
    match row.features.as_str() {
        "latent" => format!("{model} latent ({}-d)", row.dim),
        "pca" => format!("PCA-{}", row.dim),
        _ => format!("raw values ({})", row.dim),
    }
}

/// The table as rows of text: features, then one column per labelling ("mean ± std" over draws).
pub fn table(r: &Report) -> (Vec<String>, Vec<Vec<String>>) {
    let mut labellings: Vec<Option<usize>> = Vec::new();
    for row in &r.rows {
        if !labellings.contains(&row.labels_per_class) {
            labellings.push(row.labels_per_class);
        }
    }
    let mut header = vec!["features".to_string()];
    header.extend(labellings.iter().map(|n| match n {
        Some(n) => format!("{n} labels/class"),
        None => format!("all {} labels", r.n_train),
    }));
    let mut body = Vec::new();
    for name in ["latent", "pca", "raw"] {
        let cells: Vec<&Row> = r.rows.iter().filter(|row| row.features == name).collect();
        let Some(first) = cells.first() else { continue };
        let mut line = vec![describe(first, &r.model)];
        for row in cells {
            let mark = if row.converged { "" } else { " (not converged)" };
            line.push(if row.accuracies.len() > 1 {
                format!("{:.2}% ± {:.2}{mark}", 100.0 * row.accuracy_mean, 100.0 * row.accuracy_std)
            } else {
                format!("{:.2}%{mark}", 100.0 * row.accuracy_mean)
            });
        }
        body.push(line);
    }
    (header, body)
}

/// The demo's section.
pub fn html_section(r: &Report) -> Section {
    let (header, rows) = table(r);
    let draws = r.rows.iter().map(|row| row.accuracies.len()).max().unwrap_or(1);
    Section {
        title: "Latent features for classification".into(),
        blocks: vec![
            Block::Text(format!(
                "Test accuracy (percent of the {} test images classified correctly) of the same classifier on the {} \
                 model's {}-d latent vectors, on PCA features of the same dimension and on the raw pixels. \
                 With N labels per class, the classifier sees only N labelled images per digit (mean ± standard \
                 deviation over {draws} draws), while the autoencoder and PCA were fitted on all {} training images \
                 without labels. Classifier: {}.",
                r.n_test, r.model, r.latent_dim, r.n_train, r.classifier
            )),
            Block::Table { header, rows },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_subsets_are_seeded_balanced_and_checked() {
        let y: Vec<u32> = (0..300).map(|i| (i % 3) as u32).collect();
        let a = per_class(&y, 7, 1);
        assert_eq!(a, per_class(&y, 7, 1));
        assert_ne!(a, per_class(&y, 7, 2));
        for c in 0..3 {
            assert_eq!(a.iter().filter(|&&i| y[i] == c).count(), 7);
        }
        assert!(check_labels_per_class(&y, &[10, 100]).is_ok());
        let e = check_labels_per_class(&y, &[101]).unwrap_err().to_string();
        assert!(e.contains("101") && e.contains("100"), "{e}");
        let (m, s) = mean_std(&[0.5, 0.7]);
        assert!((m - 0.6).abs() < 1e-12 && (s - 0.02f64.sqrt()).abs() < 1e-12, "{m} {s}");
    }
}
