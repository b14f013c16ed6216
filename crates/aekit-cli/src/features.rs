//! `aekit features`: logistic regression on a run's latent vectors, next to PCA features of the
//! same dimension and the raw values, with all labels and with N labels per class.

use std::path::PathBuf;

use aekit::classify::LogisticParams;
use aekit::apps::features::{self, Options};
use anyhow::Result;

use crate::codes::RunArgs;
use crate::common::DataArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub on: RunArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Folder for report.json (default: RUN/features).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Labelled examples per class for the semi-supervised rows, comma-separated (all labels are
    /// always a row).
    #[arg(long, value_delimiter = ',', default_value = "10,100")]
    pub labels_per_class: Vec<usize>,
    /// Draws of the labelled examples per N (mean and standard deviation are reported).
    #[arg(long, default_value_t = 5)]
    pub draws: usize,
    /// Seed of the first draw (draw r uses seed + r).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Inverse L2 strength of the classifier (scikit-learn's C).
    #[arg(long = "c", default_value_t = 1.0)]
    pub c: f64,
    /// Most L-BFGS iterations per fit.
    #[arg(long, default_value_t = 2000)]
    pub max_iter: u64,
    /// Choose settings without the test set: hold out this seeded fraction (seed --seed) of the
    /// training set, fit PCA and the classifiers on the rest and report accuracy on the held-out
    /// part. The test set is not used.
    #[arg(long)]
    pub val_fraction: Option<f64>,
    /// Classify the latent vectors only, not PCA features and raw values (quicker).
    #[arg(long)]
    pub latent_only: bool,
}

pub fn run(a: Args) -> Result<()> {
    let (device, t) = a.on.open()?;
    let split = a.data.load(0, a.on.quiet)?;
    let opts = Options {
        labels_per_class: a.labels_per_class.clone(),
        draws: a.draws,
        seed: a.seed,
        logistic: LogisticParams::default().c(a.c).max_iter(a.max_iter),
        val_fraction: a.val_fraction,
        baselines: !a.latent_only,
    };
    let out = a.out.clone().unwrap_or_else(|| a.on.run.join("features"));
    let r = features::run(&t, &split, &device, &opts, &out)?;
    if !a.on.quiet {
        print_table(&r);
        println!("wrote {}", out.join("report.json").display());
    }
    Ok(())
}

/// Prints the accuracy table of a features report.
pub fn print_table(r: &features::Report) {
    println!("accuracy (% correct on {}), logistic regression on standardized features; {} training samples", r.evaluated_on, r.n_train);
    let (header, rows) = features::table(r);
    let widths: Vec<usize> =
        (0..header.len()).map(|j| rows.iter().map(|row| row[j].chars().count()).chain([header[j].len()]).max().unwrap_or(0)).collect();
    let line = |cells: &[String]| cells.iter().zip(&widths).map(|(c, w)| format!("{c:>w$}")).collect::<Vec<_>>().join("  ");
    println!("{}", line(&header));
    for row in &rows {
        println!("{}", line(row));
    }
    if let Some(row) = r.rows.iter().find(|row| row.seeds.len() > 1) {
        println!("N labels/class: mean ± standard deviation over {} draws (seeds {:?})", row.seeds.len(), row.seeds);
    }
}
