//! `aekit demo`

use std::path::PathBuf;

use anyhow::Result;

use crate::common::{DeviceArg, Progress};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output folder for the figures and index.html.
    #[arg(long, default_value = "aekit-demo")]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(a: Args) -> Result<()> {
    let device = a.device.device()?;
    if !a.quiet {
        eprintln!("demo: running on {}", aekit::data::builtin::EMBEDDED_DESCRIPTION);
    }
    let s = aekit::demo::run(&a.out, &device, &mut Progress::new(a.quiet))?;
    if !a.quiet {
        crate::pca::print_table(&s.pca);
        println!("{:>8} {:>12} {:>10} {:>10}", "model", "test MSE", "PSNR dB", "test BCE");
        for r in &s.autoencoders {
            let bce = r.test_bce.map(|b| format!("{b:.4}")).unwrap_or_else(|| "-".into());
            println!("{:>8} {:>12.5} {:>10.2} {:>10}", r.model, r.test_mse, r.test_psnr_db, bce);
        }
        crate::features::print_table(&s.features);
        println!("open {}", s.index.display());
    }
    Ok(())
}
