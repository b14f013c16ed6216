//! `aekit pca`

use std::path::PathBuf;

use aekit::pca::Solver;
use aekit::apps::pca_compression::{self, Options};
use anyhow::Result;

use crate::common::DataArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub data: DataArgs,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Numbers of components to report and draw, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,5,9,13,17,21,25,29")]
    pub components: Vec<usize>,
    #[arg(long, value_enum, default_value_t = SolverArg::Exact)]
    pub solver: SolverArg,
    /// Seed of the randomized solver and of hold-out splits.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum SolverArg {
    Exact,
    Randomized,
}

pub fn run(a: Args) -> Result<()> {
    let split = a.data.load(a.seed, a.quiet)?;
    let solver = match a.solver {
        SolverArg::Exact => Solver::Exact,
        SolverArg::Randomized => Solver::Randomized,
    };
    let opts = Options { components: a.components, solver, seed: a.seed, ..Options::default() };
    let report = pca_compression::run(&split, a.data.name()?, &opts, &a.out)?;
    if !a.quiet {
        print_table(&report);
        println!("wrote {}", a.out.display());
    }
    Ok(())
}

pub fn print_table(r: &pca_compression::Report) {
    println!(
        "PCA ({:?}) on {} training samples x {} features, fit {:.3} s; test set {} samples",
        r.solver, r.n_train, r.n_features, r.fit_seconds, r.n_test
    );
    println!("{:>5} {:>12} {:>12} {:>10} {:>12}", "k", "cum. var.", "test MSE", "PSNR dB", "compression");
    for row in &r.components {
        println!(
            "{:>5} {:>12.4} {:>12.5} {:>10.2} {:>12.4}",
            row.k, row.cumulative_explained_variance, row.test_mse, row.test_psnr_db, row.compression_ratio
        );
    }
}
