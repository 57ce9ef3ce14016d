//! `vaecam reconstruct`: input / reconstruction PNG grids from a trained run.

use crate::error::{Error, Result};
use crate::pipelines::model_source::ModelArgs;
use crate::report::pictures::{self, Chw};
use crate::settings::DeviceChoice;
use clap::Args;
use std::path::{Path, PathBuf};
use vaecam_data::imageio::{list_images, open_image, to_chw};
use vaecam_data::Channels;
use vaecam_tensor::{no_grad, Tensor};

/// Options of `vaecam reconstruct`.
#[derive(Args, Debug, Clone)]
pub struct ReconstructArgs {
    /// The model: --run RUN_DIR, or --arch FILE.json --weights FILE.safetensors.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Image files or folders of images (PNG, JPEG, BMP, TIFF or GIF; an alpha channel is
    /// dropped, colour becomes luma for a grayscale model).
    #[arg(long, num_args = 1.., required = true)]
    pub images: Vec<PathBuf>,
    /// Output PNG (default with --run: RUN/samples/reconstruct.png; required with --arch).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The backend.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Best)]
    pub device: DeviceChoice,
}

/// Image files named directly or found (sorted) in the named folders.
pub fn collect_images(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            out.extend(list_images(p)?);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(Error::Io {
                path: p.clone(),
                msg: "no such image file or folder".into(),
            });
        }
    }
    if out.is_empty() {
        return Err(Error::Usage("no images found in --images".into()));
    }
    Ok(out)
}

/// Loads images as CHW f32 resized to the model's input.
pub fn load_images(files: &[PathBuf], c: usize, size: usize) -> Result<Vec<f32>> {
    let ch = if c == 3 {
        Channels::Rgb
    } else {
        Channels::Gray
    };
    let mut data = Vec::with_capacity(files.len() * c * size * size);
    for f in files {
        let img = open_image(f)?;
        data.extend(to_chw(&img, ch, Some((size as u32, size as u32))));
    }
    Ok(data)
}

/// Runs `vaecam reconstruct`.
pub fn run(a: ReconstructArgs) -> Result<()> {
    // The output is checked before anything is read or written: a wrong extension must not
    // cost the user an existing file.
    let out = match (&a.out, &a.model.run) {
        (Some(p), _) => p.clone(),
        (None, Some(run)) => run.join("samples/reconstruct.png"),
        (None, None) => {
            return Err(Error::Usage(
                "--out FILE.png is required with --arch/--weights".into(),
            ))
        }
    };
    pictures::check_png_path(&out)?;
    let dev = a.device.open()?;
    let vae = a.model.open(&dev)?.vae;
    let files = collect_images(&a.images)?;
    let (c, s) = (vae.config.in_channels, vae.config.image_size);
    let data = load_images(&files, c, s)?;
    let n = files.len();
    let x = Tensor::from_vec(data.clone(), vec![n, c, s, s], &dev)?;
    let recon = no_grad(|| vae.forward(&x, None)?.logits.sigmoid()?.to_vec())?;
    let per = c * s * s;
    let mut tiles = Vec::new();
    for src in [&data, &recon] {
        for i in 0..n {
            tiles.push(pictures::to_rgb(Chw {
                data: &src[i * per..(i + 1) * per],
                c,
                h: s,
                w: s,
            }));
        }
    }
    pictures::save(&pictures::grid(&tiles, n), &out)?;
    eprintln!(
        "wrote {} (top: inputs, bottom: reconstructions)",
        display(&out)
    );
    Ok(())
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
