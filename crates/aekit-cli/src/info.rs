//! `aekit info`

use anyhow::Result;

use crate::common::DataArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub data: DataArgs,
    /// Seed of the hold-out split for sources without a test set.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

pub fn run(a: Args) -> Result<()> {
    let split = a.data.load(a.seed, false)?;
    for (name, ds) in [("train", Some(&split.train)), ("test", Some(&split.test)), ("val", split.val.as_ref())] {
        let Some(ds) = ds else { continue };
        let mean = ds.data().iter().map(|&v| v as f64).sum::<f64>() / ds.data().len().max(1) as f64;
        let labels = match ds.labels() {
            Some(l) => format!("labels, first {:?}", &l[..l.len().min(6)]),
            None => "no labels".into(),
        };
        println!("{name}: {} samples of {}, mean value {mean:.5}, {labels}", ds.len(), ds.shape());
    }
    Ok(())
}
