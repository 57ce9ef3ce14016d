//! `vaecam compare`: one table and one scatter plot over finished `vaecam disentangle` folders.

use crate::error::Result;
use crate::pipelines::disentangle::{self, Summary};
use clap::Args;
use std::path::PathBuf;

/// Options of `vaecam compare`.
#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// Output folders of `vaecam disentangle` (each holds metrics.json).
    #[arg(long, num_args = 1.., required = true)]
    pub runs: Vec<PathBuf>,
    /// Path prefix of the outputs: PREFIX.md (table), PREFIX.png (scatter), PREFIX.csv.
    #[arg(long, default_value = "compare")]
    pub out: PathBuf,
}

/// Runs `vaecam compare`.
pub fn run(a: CompareArgs) -> Result<()> {
    let rows: Vec<Summary> = a
        .runs
        .iter()
        .map(|d| Summary::read(d))
        .collect::<Result<_>>()?;
    let table = disentangle::write_report(&rows, &a.out)?;
    println!("{table}");
    eprintln!(
        "vaecam compare: wrote {}.md, .png and .csv",
        a.out.display()
    );
    Ok(())
}
