//! The renderer against 320 real dSprites frames (shared/data/dsprites).

mod common;

use image::codecs::gif::GifDecoder;
use image::AnimationDecoder;
use std::io::BufReader;
use vaecam_data::dsprites::{self, Factors};

#[test]
fn renderer_matches_real_frames() {
    let Some(dir) = common::shared_data("dsprites") else {
        return;
    };
    let csv = std::fs::read_to_string(dir.join("gif_frame_latents.csv")).unwrap();
    let rows: Vec<Vec<usize>> = csv
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .take(7)
                .map(|x| x.trim().parse().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 320);
    let file = std::fs::File::open(dir.join("dsprites.gif")).unwrap();
    let frames = GifDecoder::new(BufReader::new(file))
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap();
    assert_eq!(frames.len(), 320);
    let mut worst = (1.0f64, 0usize);
    let mut sum = 0.0;
    let mut fails = Vec::new();
    for row in &rows {
        let frame = &frames[row[0]];
        let buf = frame.buffer();
        assert_eq!((buf.width(), buf.height()), (64, 64), "GIF frame size");
        let f = Factors::from_array([row[1], row[2], row[3], row[4], row[5]]).unwrap();
        assert_eq!(f.index(), row[6], "dataset_index of frame {}", row[0]);
        let mine = dsprites::render_u8(f);
        let (mut inter, mut union) = (0usize, 0usize);
        for (p, &m) in buf.pixels().zip(&mine) {
            let real = (p[0] as u32 + p[1] as u32 + p[2] as u32) > 3 * 127;
            let m = m == 1;
            inter += (real && m) as usize;
            union += (real || m) as usize;
        }
        let iou = if union == 0 {
            1.0
        } else {
            inter as f64 / union as f64
        };
        sum += iou;
        if iou < worst.0 {
            worst = (iou, row[0]);
        }
        if iou < 0.96 {
            fails.push((row[0], f, iou));
        }
    }
    let mean = sum / rows.len() as f64;
    println!(
        "dSprites IoU over {} frames: mean {mean:.4}, worst {:.4} (frame {})",
        rows.len(),
        worst.0,
        worst.1
    );
    if std::env::var("DSPRITES_DEBUG").is_ok() {
        let fr: usize = std::env::var("DSPRITES_DEBUG").unwrap().parse().unwrap();
        let row = &rows[fr];
        let f = Factors::from_array([row[1], row[2], row[3], row[4], row[5]]).unwrap();
        let mine = dsprites::render_u8(f);
        let buf = frames[row[0]].buffer();
        for r in 0..40 {
            let line: String = (0..40)
                .map(|c| {
                    let p = buf.get_pixel(c as u32, r as u32);
                    let real = (p[0] as u32 + p[1] as u32 + p[2] as u32) > 3 * 127;
                    match (real, mine[r * 64 + c] == 1) {
                        (true, true) => '#',
                        (true, false) => 'R',
                        (false, true) => 'M',
                        _ => '.',
                    }
                })
                .collect();
            println!("{line}");
        }
    }
    fails.truncate(5);
    assert!(
        fails.is_empty(),
        "frames below IoU 0.96 (first 5): {fails:?}"
    );
    assert!(mean >= 0.99, "mean IoU {mean}");
}

#[test]
fn render_time_per_image() {
    let mut s = dsprites::Sampler::new(42);
    let f = s.sample_many(64);
    let t = std::time::Instant::now();
    let reps = 20;
    let mut on = 0usize;
    for _ in 0..reps {
        let b = dsprites::render_batch(&f);
        on += b.iter().filter(|&&x| x > 0.5).count();
    }
    let per = t.elapsed().as_secs_f64() / (reps * 64) as f64;
    println!("dSprites render time: {:.2} us per image", per * 1e6);
    assert!(on > 0);
    assert!(per < 1e-3, "{per} s per image");
}
