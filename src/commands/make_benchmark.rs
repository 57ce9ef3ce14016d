//! `vaecam make-benchmark`: writes a synthetic MVTec-format anomaly benchmark.

use crate::error::{Error, Result};
use crate::settings::parse::positive_usize;
use clap::Args;
use std::path::PathBuf;
use vaecam_data::synthetic::{generate_benchmark, BenchmarkOptions};

/// Options of `vaecam make-benchmark`.
#[derive(Args, Debug, Clone)]
pub struct MakeBenchmarkArgs {
    /// Output root (OUT/CATEGORY/{train,test,ground_truth}).
    #[arg(long)]
    pub out: PathBuf,
    /// A folder of texture photographs (*.png), each a category; the built-in procedural
    /// textures (woven, wood, tiles, carpet) are added unless --categories picks some.
    #[arg(long)]
    pub textures: Option<PathBuf>,
    /// Only these categories (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub categories: Vec<String>,
    /// Master seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Image side in pixels.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(8..=4096))]
    pub size: u32,
    /// Training images per category.
    #[arg(long, default_value_t = 100, value_parser = positive_usize)]
    pub train: usize,
    /// Normal test images per category.
    #[arg(long, default_value_t = 20, value_parser = positive_usize)]
    pub test_good: usize,
    /// Test images per defect type per category.
    #[arg(long, default_value_t = 10, value_parser = positive_usize)]
    pub test_per_defect: usize,
    /// Write into a non-empty --out (files of the same name are overwritten; others stay).
    #[arg(long)]
    pub force: bool,
}

/// Runs `vaecam make-benchmark`.
pub fn run(a: MakeBenchmarkArgs) -> Result<()> {
    // Two seeds' files in one folder would be a benchmark of neither.
    if let Ok(mut entries) = std::fs::read_dir(&a.out) {
        if entries.next().is_some() && !a.force {
            return Err(Error::Usage(format!(
                "--out {}: the folder is not empty (an earlier benchmark?); choose an empty or new folder, or pass --force to write into it",
                a.out.display()
            )));
        }
    } else if a.out.exists() {
        return Err(Error::Usage(format!(
            "--out {}: exists and is not a folder",
            a.out.display()
        )));
    }
    let opts = BenchmarkOptions {
        size: a.size,
        n_train: a.train,
        n_test_good: a.test_good,
        n_test_per_defect: a.test_per_defect,
        seed: a.seed,
        categories: a.categories,
        textures_dir: a.textures,
        ..Default::default()
    };
    let s = generate_benchmark(&a.out, &opts)?;
    for c in &s.categories {
        let defects: Vec<String> = c
            .n_test_defect
            .iter()
            .map(|(d, n)| format!("{d} {n}"))
            .collect();
        println!(
            "{}: {} train, {} good test, {} ({})",
            c.name,
            c.n_train,
            c.n_test_good,
            defects.join(", "),
            c.source
        );
    }
    println!("wrote {} files under {}", s.files, s.root.display());
    Ok(())
}
