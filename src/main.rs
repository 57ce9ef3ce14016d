//! The `vaecam` command-line tool.

use clap::{Parser, Subcommand};
use vaecam::commands;

/// vaecam: visually explaining variational autoencoders.
#[derive(Parser)]
#[command(name = "vaecam", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a VAE, beta-VAE or FactorVAE into a run folder.
    Train(commands::train::TrainArgs),
    /// Write input / reconstruction grids with a trained run.
    Reconstruct(commands::reconstruct::ReconstructArgs),
    /// Latent attention maps of images with a trained run (per dimension and aggregated).
    Explain(commands::explain::ExplainArgs),
    /// Anomaly localization: attention maps vs reconstruction error, scored against masks.
    Localize(commands::localize::LocalizeArgs),
    /// Write a synthetic MVTec-format anomaly benchmark.
    MakeBenchmark(commands::make_benchmark::MakeBenchmarkArgs),
    /// Write a trained run as an architecture file and a state_dict (--arch/--weights).
    ExportArch(commands::export_arch::ExportArchArgs),
    /// Show the compute devices.
    Devices,
    /// Train (AD-)beta-VAE / (AD-)FactorVAE on dSprites over seeds and score disentanglement.
    Disentangle(commands::disentangle::DisentangleArgs),
    /// Tabulate and plot finished `disentangle` output folders.
    Compare(commands::compare::CompareArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(a) => commands::train::run(a),
        Command::Reconstruct(a) => commands::reconstruct::run(a),
        Command::Explain(a) => commands::explain::run(a),
        Command::Localize(a) => commands::localize::run(a),
        Command::MakeBenchmark(a) => commands::make_benchmark::run(a),
        Command::ExportArch(a) => commands::export_arch::run(a),
        Command::Disentangle(a) => commands::disentangle::run(a),
        Command::Compare(a) => commands::compare::run(a),
        Command::Devices => {
            println!("cpu: {}", vaecam_tensor::Device::cpu().name());
            match vaecam_tensor::Device::gpu() {
                Ok(d) => println!("gpu: {}", d.name()),
                Err(e) => println!("gpu: none ({e})"),
            }
            Ok(())
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
