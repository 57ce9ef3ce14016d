//! Writes a synthetic MVTec-format benchmark and prints its summary.
//!
//! ```text
//! cargo run --release -p vaecam-data --example make_benchmark OUT_DIR [TEXTURES_DIR] [SEED]
//! ```

use vaecam_data::synthetic::{generate_benchmark, BenchmarkOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or("usage: make_benchmark OUT_DIR [TEXTURES_DIR] [SEED]")?;
    let textures_dir = args.next().map(Into::into);
    let seed = args.next().map(|s| s.parse()).transpose()?.unwrap_or(0);
    let opts = BenchmarkOptions {
        textures_dir,
        seed,
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let summary = generate_benchmark(std::path::Path::new(&out), &opts)?;
    for c in &summary.categories {
        let defects: usize = c.n_test_defect.iter().map(|d| d.1).sum();
        println!(
            "{:<10} {:<40} train {:>4}  test good {:>3}  defective {:>3}",
            c.name, c.source, c.n_train, c.n_test_good, defects
        );
    }
    println!(
        "{} files under {} in {:.1} s",
        summary.files,
        summary.root.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
