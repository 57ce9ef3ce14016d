//! Renders a grid of random dSprites images to a PNG and prints a summary.
//!
//! ```text
//! cargo run --release -p vaecam-data --example render_dsprites [OUT.png] [SEED]
//! ```
//!
//! Without arguments the grid goes to `<temp dir>/dsprites_grid.png`.

use image::GrayImage;
use vaecam_data::dsprites::{self, Sampler, FACTOR_NAMES, SIZE};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("dsprites_grid.png"));
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(0);

    let (cols, rows) = (8, 8);
    let mut sampler = Sampler::new(seed);
    let factors = sampler.sample_many(cols * rows);
    let t = std::time::Instant::now();
    let batch = dsprites::render_batch(&factors);
    let per_image = t.elapsed().as_secs_f64() / factors.len() as f64;

    // One pixel of grey border between tiles.
    let (tw, th) = (cols * (SIZE + 1) + 1, rows * (SIZE + 1) + 1);
    let mut grid = GrayImage::from_pixel(tw as u32, th as u32, image::Luma([96]));
    for (k, img) in batch.chunks(SIZE * SIZE).enumerate() {
        let (gx, gy) = (1 + (k % cols) * (SIZE + 1), 1 + (k / cols) * (SIZE + 1));
        for (i, &v) in img.iter().enumerate() {
            let px = image::Luma([if v > 0.5 { 255 } else { 0 }]);
            grid.put_pixel((gx + i % SIZE) as u32, (gy + i / SIZE) as u32, px);
        }
    }
    grid.save(&out)?;
    println!(
        "rendered {} dSprites images ({:.1} us each) to {}",
        factors.len(),
        per_image * 1e6,
        out.display()
    );
    for (k, f) in factors.iter().take(4).enumerate() {
        let v = f.values();
        println!(
            "  image {k}: index {:>6}, {}={:?} {}={:.2} {}={:.3} {}={:.3} {}={:.3}",
            f.index(),
            FACTOR_NAMES[0],
            dsprites::Shape::from_index(f.shape).unwrap(),
            FACTOR_NAMES[1],
            v.scale,
            FACTOR_NAMES[2],
            v.orientation,
            FACTOR_NAMES[3],
            v.pos_x,
            FACTOR_NAMES[4],
            v.pos_y
        );
    }
    Ok(())
}
