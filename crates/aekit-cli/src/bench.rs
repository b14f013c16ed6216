//! `aekit bench one-class`: the Deep SVDD one-class protocol on MNIST.

use std::path::PathBuf;

use aekit::apps::one_class::{self, DEEP_SVDD};
use aekit::train::Observer;
use anyhow::Result;

use crate::anomaly::ModelOpts;
use crate::common::DataArgs;
use crate::common::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Per digit: train on that digit's training images, AUROC on the whole test set
    /// (Ruff et al. 2018), next to One-Class Deep SVDD's published figures.
    OneClass(OneClassArgs),
}

#[derive(clap::Args, Debug)]
pub struct OneClassArgs {
    #[command(flatten)]
    pub model: ModelOpts,
    #[command(flatten)]
    pub data: DataArgs,
    /// Digits to run (default all); results of earlier runs in --out are kept and reported.
    #[arg(long, value_delimiter = ',')]
    pub digits: Option<Vec<u32>>,
    #[arg(long, default_value = "runs/one-class")]
    pub out: PathBuf,
}

pub fn run(c: Command) -> Result<()> {
    match c {
        Command::OneClass(a) => one_class_run(a),
    }
}

fn one_class_run(a: OneClassArgs) -> Result<()> {
    let m = &a.model;
    let device = m.device.device()?;
    let split = a.data.load(m.seed, m.quiet)?;
    let model_cfg = m.model_config(split.train.shape(), None)?;
    let digits = a.digits.clone().unwrap_or_else(|| (0..10).collect());
    let quiet = m.quiet;
    let mut observer = |d: u32| -> Box<dyn Observer> {
        if !quiet {
            eprintln!("digit {d}");
        }
        Box::new(Progress::new(quiet))
    };
    let request = aekit::train::TrainRequest::new(model_cfg, m.train_config(split.train.shape(), false)).with_data(a.data.describe()?);
    let bench = one_class::OneClass { request, score: m.score_kind(), digits };
    let r = one_class::run(&bench, &split, &device, &a.out, &mut observer)?;
    if !quiet {
        println!("{:>5} {:>10} {:>10} {:>16}", "digit", "AUROC %", "AP %", "Deep SVDD AUROC");
        for d in &r.digits {
            println!("{:>5} {:>10.1} {:>10.1} {:>16.1}", d.digit, d.auroc, d.auprc, DEEP_SVDD[d.digit as usize]);
        }
        println!("{:>5} {:>10.1} {:>10} {:>16.1}", "mean", r.mean_auroc, "", r.deep_svdd_mean_auroc);
        if !r.complete {
            println!("({} of 10 digits so far)", r.digits.len());
        }
        println!("wrote {}", a.out.join("report.json").display());
    }
    Ok(())
}
