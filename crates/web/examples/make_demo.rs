//! Writes the page's bundled demo from a trained dSprites run folder:
//! `cargo run --release -p vaecam-web --example make_demo -- RUN_DIR web/demo`
//! gives `dsprites.arch.json`, `dsprites.safetensors` (model tensors only) and three rendered
//! dSprites images `square.png`, `ellipse.png`, `heart.png`.

use std::path::PathBuf;
use vaecam_data::dsprites::{render_u8, Factors};
use vaecam_tensor::{io, Device};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [run, out] = args.as_slice() else {
        return Err("usage: make_demo RUN_DIR OUT_DIR".into());
    };
    let out = PathBuf::from(out);
    std::fs::create_dir_all(&out)?;
    let (vae, _) = vaecam_vae::load_model(&PathBuf::from(run), &Device::cpu())?;
    std::fs::write(
        out.join("dsprites.arch.json"),
        serde_json::to_string_pretty(&vae.config)? + "\n",
    )?;
    io::save(out.join("dsprites.safetensors"), &vae.state(), None)?;
    // [color, shape, scale, orientation, pos x, pos y]: shape 0 square, 1 ellipse, 2 heart.
    for (name, f) in [
        ("square", [0, 5, 10, 8, 24]),
        ("ellipse", [1, 3, 20, 24, 8]),
        ("heart", [2, 4, 0, 12, 16]),
    ] {
        let px = render_u8(Factors::from_array(f)?);
        let img = image::GrayImage::from_raw(64, 64, px.iter().map(|&v| v * 255).collect())
            .ok_or("dSprites image is not 64x64")?;
        img.save(out.join(format!("{name}.png")))?;
    }
    Ok(())
}
