//! The `aekit` program: parses arguments, calls the library, prints, and maps errors to exit
//! codes (0 success, 2 bad input or usage, 1 internal or environmental failure).

mod anomaly;
mod bench;
mod codes;
mod common;
mod config;
mod demo;
mod eval;
mod features;
mod generate;
mod info;
mod model;
mod pca;
mod restore;
mod serve;
mod train;

use clap::{Parser, Subcommand};

// Training allocates and frees many tensor-sized buffers per step; mimalloc keeps them in
// thread-local pools where glibc maps and unmaps them (measured: BENCHMARKS.md, speed section).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "aekit", version, about = "Autoencoders, PCA and VAEs on your own data", args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every capability on the embedded MNIST subset and write an offline HTML report.
    Demo(demo::Args),
    /// Fit PCA and write the compression figure, components, variance curve and report.
    Pca(pca::Args),
    /// Train an autoencoder (linear, dense, conv) and write a run folder.
    Train(train::Args),
    /// Reconstruct a dataset with a trained run: grid, per-sample errors, summary.
    Reconstruct(codes::ReconstructArgs),
    /// Export the latent vectors of a dataset (CSV or NPY).
    Encode(codes::EncodeArgs),
    /// Decode latent vectors (CSV or NPY) into images or rows.
    Decode(codes::DecodeArgs),
    /// Draw samples from a VAE's prior and decode them.
    Sample(generate::SampleArgs),
    /// Evaluate a VAE (test -ELBO and its parts, optionally the importance-weighted NLL) or a
    /// denoise/superres run (PSNR and SSIM against baselines, report.json, comparison.png).
    Eval(eval::EvalArgs),
    /// Decode the line between two encoded images (VAE).
    Interpolate(generate::InterpolateArgs),
    /// Decode a grid over a 2-D latent space (VAE with --latent 2).
    Manifold(generate::ManifoldArgs),
    /// Scatter plot of latent means coloured by label (VAE).
    LatentMap(generate::LatentMapArgs),
    /// Classify with logistic regression on latent vectors, PCA features and raw values.
    Features(features::Args),
    /// Load a dataset and print its shape, labels and origin.
    Info(info::Args),
    /// Denoise images of any size with a run trained with --task denoise.
    Denoise(restore::DenoiseArgs),
    /// Upscale images of any size with a run trained with --task superres.
    Upscale(restore::UpscaleArgs),
    /// Anomaly detection: train on normal data, score with thresholds and p-values.
    #[command(subcommand)]
    Anomaly(anomaly::Command),
    /// Benchmarks with published figures beside them.
    #[command(subcommand)]
    Bench(bench::Command),
    /// Serve runs over HTTP: a JSON API (encode, decode, reconstruct, score, sample, denoise,
    /// upscale), metrics and an explorer page.
    Serve(serve::ServeArgs),
}

fn main() {
    let args = match config::expand(std::env::args().collect()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    };
    let cli = Cli::parse_from(args);
    let result = match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Pca(a) => pca::run(a),
        Command::Info(a) => info::run(a),
        Command::Features(a) => features::run(a),
        Command::Train(a) => train::run(a),
        Command::Reconstruct(a) => codes::reconstruct(a),
        Command::Encode(a) => codes::encode(a),
        Command::Decode(a) => codes::decode(a),
        Command::Sample(a) => generate::sample(a),
        Command::Eval(a) => eval::run(a),
        Command::Interpolate(a) => generate::interpolate(a),
        Command::Manifold(a) => generate::manifold(a),
        Command::LatentMap(a) => generate::latent_map(a),
        Command::Denoise(a) => restore::denoise(a),
        Command::Upscale(a) => restore::upscale(a),
        Command::Anomaly(c) => anomaly::run(c),
        Command::Bench(c) => bench::run(c),
        Command::Serve(a) => serve::run(a),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        let bad_input = err.chain().any(|e| e.downcast_ref::<aekit::Error>().is_some_and(aekit::Error::is_bad_input));
        std::process::exit(if bad_input { 2 } else { 1 });
    }
}
