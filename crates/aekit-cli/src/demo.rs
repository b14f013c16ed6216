//! `aekit demo`

use std::path::PathBuf;

use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output folder for the figures and index.html.
    #[arg(long, default_value = "aekit-demo")]
    pub out: PathBuf,
}

pub fn run(a: Args) -> Result<()> {
    eprintln!("demo: running on {}", aekit::data::builtin::EMBEDDED_DESCRIPTION);
    let s = aekit::demo::run(&a.out)?;
    crate::pca::print_table(&s.pca);
    println!("open {}", s.index.display());
    Ok(())
}
