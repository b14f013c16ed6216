//! `aekit sample`, `aekit eval`: the VAE as a generative model.

use std::path::PathBuf;

use aekit::apps::generate;
use anyhow::Result;

use crate::codes::{RunArgs, RunData};

#[derive(clap::Args, Debug)]
pub struct SampleArgs {
    #[command(flatten)]
    pub on: RunArgs,
    #[arg(long, default_value_t = 64)]
    pub n: usize,
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Scales the prior's standard deviation (below 1: more typical, less varied samples).
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
}

pub fn sample(a: SampleArgs) -> Result<()> {
    let (device, t) = a.on.open()?;
    let vae = generate::as_vae(&t.model)?;
    if a.n == 0 || !(a.temperature >= 0.0 && a.temperature.is_finite()) {
        return Err(aekit::Error::InvalidArgument { name: "sample", msg: format!("--n {} and --temperature {} must be positive", a.n, a.temperature) }.into());
    }
    let x = generate::sample(vae, a.n, a.temperature, a.seed, &device);
    aekit::io::create_dir(&a.out)?;
    let title = format!("{} samples from the prior, temperature {}", a.n, a.temperature);
    generate::write_samples(&x, t.config().input_shape(), &title, &a.out, "samples.png", true)?;
    if !a.on.quiet {
        println!("wrote {} samples to {}", a.n, a.out.display());
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct InterpolateArgs {
    #[command(flatten)]
    pub with: RunData,
    /// Index of the first image (in the chosen split).
    #[arg(long)]
    pub from: usize,
    /// Index of the second image.
    #[arg(long)]
    pub to: usize,
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct ManifoldArgs {
    #[command(flatten)]
    pub on: RunArgs,
    /// Grid size (n x n decoded points).
    #[arg(long, default_value_t = 20)]
    pub n: usize,
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct LatentMapArgs {
    #[command(flatten)]
    pub with: RunData,
    #[arg(long)]
    pub out: PathBuf,
}


pub fn interpolate(a: InterpolateArgs) -> Result<()> {
    let (device, t, ds) = a.with.open()?;
    let vae = generate::as_vae(&t.model)?;
    t.config().check_data(ds.shape())?;
    let x = generate::interpolate(vae, &ds, a.from, a.to, a.steps, &device)?;
    aekit::io::create_dir(&a.out)?;
    let shape = t.config().input_shape();
    let mut g = aekit::viz::grid::Grid::new(shape, 2)?.title(format!("from sample {} to sample {} in latent space", a.from, a.to));
    g.row(Some("inputs".into()), [ds.sample(a.from), ds.sample(a.to)]);
    g.row(Some("decoded".into()), x.chunks_exact(shape.len()));
    g.save_png(&a.out.join("interpolation.png"))?;
    if !a.with.quiet() {
        println!("wrote {}", a.out.join("interpolation.png").display());
    }
    Ok(())
}

pub fn manifold(a: ManifoldArgs) -> Result<()> {
    let (device, t) = a.on.open()?;
    let vae = generate::as_vae(&t.model)?;
    let x = generate::manifold(vae, a.n, &device)?;
    aekit::io::create_dir(&a.out)?;
    let shape = t.config().input_shape();
    let mut g = aekit::viz::grid::Grid::new(shape, 1)?.title("the learned manifold: decoded z = (inverse normal CDF of an even grid)");
    for row in x.chunks(a.n * shape.len()) {
        g.row(None, row.chunks_exact(shape.len()));
    }
    g.save_png(&a.out.join("manifold.png"))?;
    if !a.on.quiet {
        println!("wrote {}", a.out.join("manifold.png").display());
    }
    Ok(())
}

pub fn latent_map(a: LatentMapArgs) -> Result<()> {
    let (device, t, ds) = a.with.open()?;
    let vae = generate::as_vae(&t.model)?;
    t.config().check_data(ds.shape())?;
    let (pts, what) = generate::latent_points(vae, &ds, &device)?;
    aekit::io::create_dir(&a.out)?;
    let path = a.out.join("latent_map.png");
    aekit::viz::plot::scatter(&pts, ds.labels(), &format!("{} samples: {what}", ds.len()), "axis 1", "axis 2", &path)?;
    if !a.with.quiet() {
        println!("wrote {}", path.display());
    }
    Ok(())
}
