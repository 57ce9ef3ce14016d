//! The synthetic benchmark generator against the MVTec loader.

mod common;

use std::path::Path;
use vaecam_data::mvtec::{MvtecCategory, MvtecOptions};
use vaecam_data::synthetic::{generate_benchmark, generate_category, BenchmarkOptions, DefectKind};
use vaecam_data::Channels;

fn small(textures: Option<std::path::PathBuf>) -> BenchmarkOptions {
    BenchmarkOptions {
        size: 64,
        n_train: 3,
        n_test_good: 2,
        n_test_per_defect: 2,
        seed: 11,
        categories: Vec::new(),
        textures_dir: textures,
        defects: DefectKind::ALL.to_vec(),
    }
}

fn all_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn generated_tree_reads_back_with_exact_masks() {
    let out = common::temp_dir("bench");
    let opts = small(None);
    let summary = generate_benchmark(&out, &opts).unwrap();
    let names: Vec<&str> = summary.categories.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["woven", "wood", "tiles", "carpet"]);
    // 3 train + 2 good + 6 defects x 2 x (image + mask) per category.
    assert_eq!(summary.files, 4 * (3 + 2 + 6 * 2 * 2));
    for cat in &summary.categories {
        let mem = generate_category(&cat.name, &opts).unwrap();
        let loaded = MvtecCategory::load(
            &out,
            &cat.name,
            MvtecOptions {
                size: None,
                channels: Channels::Gray,
            },
        )
        .unwrap();
        assert_eq!(loaded.shape, [1, 64, 64]);
        assert_eq!(loaded.train.len(), 3);
        assert_eq!(loaded.test.len(), 2 + 12);
        assert_eq!(loaded.defect_types().len(), 6);
        let expect = mem.to_mvtec(&out, Channels::Gray);
        assert_eq!(loaded.train, expect.train, "{}", cat.name);
        assert_eq!(loaded.train_paths, expect.train_paths);
        // The loader sorts defect folders by name; match samples by path.
        let mut n_masked = 0;
        for t in &loaded.test {
            let m = expect.test.iter().find(|e| e.path == t.path).unwrap();
            assert_eq!(t.mask, m.mask, "mask of {}", t.path.display());
            assert_eq!(t.image, m.image, "image {}", t.path.display());
            assert_eq!(t.defect, m.defect);
            let on = t.mask.iter().filter(|&&v| v == 1).count();
            if t.is_anomalous() {
                assert!(on >= 8, "{} has an empty mask", t.path.display());
                n_masked += 1;
            } else {
                assert_eq!(on, 0);
            }
        }
        assert_eq!(n_masked, 12);
        // Train and test crops differ (disjoint regions).
        assert!(expect
            .train
            .iter()
            .all(|tr| expect.test.iter().all(|te| &te.image != tr)));
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn same_seed_gives_identical_bytes_and_other_seed_differs() {
    let (a, b, c) = (
        common::temp_dir("seed-a"),
        common::temp_dir("seed-b"),
        common::temp_dir("seed-c"),
    );
    let mut opts = small(None);
    opts.categories = vec!["tiles".into(), "carpet".into()];
    generate_benchmark(&a, &opts).unwrap();
    generate_benchmark(&b, &opts).unwrap();
    opts.seed += 1;
    generate_benchmark(&c, &opts).unwrap();
    let (fa, fb) = (all_files(&a), all_files(&b));
    assert_eq!(fa, fb);
    assert!(!fa.is_empty());
    let mut differ = 0;
    for f in &fa {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert_eq!(x, y, "{} differs", f.display());
        if std::fs::read(c.join(f)).unwrap() != x {
            differ += 1;
        }
    }
    assert!(
        differ > fa.len() / 2,
        "another seed changed only {differ} files"
    );
    for d in [a, b, c] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn photo_textures_become_categories() {
    let Some(tex) = common::shared_data("textures") else {
        return;
    };
    let mut opts = small(Some(tex));
    opts.categories = vec!["brick".into()];
    opts.defects = vec![DefectKind::CutPaste, DefectKind::Contamination];
    let cat = generate_category("brick", &opts).unwrap();
    assert!(cat.source.ends_with("brick.png"));
    assert_eq!(cat.train.len(), 3);
    assert_eq!(cat.test.len(), 2 + 4);
    assert_eq!(cat.train[0].dimensions(), (64, 64));
    let unknown = generate_category("marble", &opts).unwrap_err().to_string();
    assert!(
        unknown.contains("marble") && unknown.contains("brick"),
        "{unknown}"
    );
    let m = cat.to_mvtec(Path::new("/x"), Channels::Rgb);
    assert_eq!(m.shape, [3, 64, 64]);
    assert_eq!(m.train[0].len(), 3 * 64 * 64);
}

#[test]
fn tiny_images_still_get_defects_and_too_small_is_an_error() {
    let mut opts = small(None);
    opts.size = 16;
    opts.n_test_per_defect = 3;
    let cat = generate_category("woven", &opts).unwrap();
    for t in cat.test.iter().filter(|t| t.defect != "good") {
        assert_eq!(t.mask.dimensions(), (16, 16));
        assert!(
            t.mask.contains(&255),
            "{} {} has an empty mask",
            t.defect,
            t.name
        );
    }
    opts.size = 8;
    let msg = generate_category("woven", &opts).unwrap_err().to_string();
    assert!(msg.contains("image size") && msg.contains('8'), "{msg}");
}
