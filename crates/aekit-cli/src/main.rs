//! The `aekit` program: parses arguments, calls the library, prints, and maps errors to exit
//! codes (0 success, 2 bad input or usage, 1 internal or environmental failure).

mod common;
mod demo;
mod info;
mod pca;
mod train;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "aekit", version, about = "Autoencoders, PCA and VAEs on your own data")]
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
    /// Load a dataset and print its shape, labels and origin.
    Info(info::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Pca(a) => pca::run(a),
        Command::Info(a) => info::run(a),
        Command::Train(a) => train::run(a),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        let bad_input = err.chain().any(|e| e.downcast_ref::<aekit::Error>().is_some_and(aekit::Error::is_bad_input));
        std::process::exit(if bad_input { 2 } else { 1 });
    }
}
