//! Metrics against values computed by scikit-learn / numpy / scipy on fixed inputs
//! (tests/fixtures/make_reference.py writes tests/fixtures/reference.json).

use serde_json::Value;
use vaecam_metrics::{
    auroc, f1_max, mig::discrete_mutual_info, mig::histogram_discretize, mig_from_samples,
    MetricsOptions, Mode, PixelMetrics,
};

fn fixture() -> Value {
    let text = include_str!("fixtures/reference.json");
    serde_json::from_str(text).expect("reference.json parses")
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: got {a}, expected {b}");
}

#[test]
fn auroc_and_f1_max_match_sklearn() {
    let f = fixture();
    let cases = f["roc"].as_array().unwrap();
    assert!(cases.len() >= 7);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let s = f32s(&c["scores"]);
        let l: Vec<bool> = c["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_bool().unwrap())
            .collect();
        let a = auroc(&s, &l).unwrap();
        close(
            a,
            c["auroc"].as_f64().unwrap(),
            1e-12,
            &format!("{name} auroc"),
        );
        let f1 = f1_max(&s, &l).unwrap();
        close(
            f1.f1,
            c["f1_max"].as_f64().unwrap(),
            1e-12,
            &format!("{name} f1"),
        );
        // The F1 threshold reproduces the F1 when applied by hand.
        let tp = s
            .iter()
            .zip(&l)
            .filter(|(v, y)| **v >= f1.threshold && **y)
            .count() as f64;
        let fp = s
            .iter()
            .zip(&l)
            .filter(|(v, y)| **v >= f1.threshold && !**y)
            .count() as f64;
        let p = l.iter().filter(|y| **y).count() as f64;
        close(
            2.0 * tp / (tp + fp + p),
            f1.f1,
            1e-12,
            &format!("{name} f1 threshold"),
        );
    }
}

#[test]
fn perfect_and_inverted_scores() {
    let f = fixture();
    let by_name = |n: &str| {
        f["roc"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == n)
            .unwrap()["auroc"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(by_name("perfect"), 1.0);
    assert_eq!(by_name("inverted"), 0.0);
    let s = [0.1, 0.2, 0.3, 0.7, 0.9];
    assert_eq!(auroc(&s, &[false, false, false, true, true]).unwrap(), 1.0);
    assert_eq!(auroc(&s, &[true, true, false, false, false]).unwrap(), 0.0);
    assert_eq!(auroc(&[0.5; 4], &[true, false, true, false]).unwrap(), 0.5);
}

fn pixel_metrics(mode: Mode) -> vaecam_metrics::Report {
    let f = fixture();
    let p = &f["pixel"];
    let (w, h) = (
        p["width"].as_u64().unwrap() as usize,
        p["height"].as_u64().unwrap() as usize,
    );
    let opts = MetricsOptions {
        mode,
        ..MetricsOptions::default()
    };
    let mut m = PixelMetrics::new(opts).unwrap();
    for (map, mask) in p["maps"]
        .as_array()
        .unwrap()
        .iter()
        .zip(p["masks"].as_array().unwrap())
    {
        let mask: Vec<u8> = mask
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u8)
            .collect();
        m.add_image(&f32s(map), &mask, w, h).unwrap();
    }
    m.finish().unwrap()
}

#[test]
fn pixel_metrics_match_sklearn_and_scipy_reference() {
    let f = fixture();
    let p = &f["pixel"];
    let r = pixel_metrics(Mode::Exact);
    assert_eq!(r.n_images, 6);
    assert_eq!(r.n_anomalous_images, 4);
    close(
        r.pixel_auroc,
        p["pixel_auroc"].as_f64().unwrap(),
        1e-12,
        "pixel auroc",
    );
    close(
        r.image_auroc.unwrap(),
        p["image_auroc"].as_f64().unwrap(),
        1e-12,
        "image auroc",
    );
    close(r.f1_max, p["f1_max"].as_f64().unwrap(), 1e-12, "f1");
    close(r.aupro, p["aupro_03"].as_f64().unwrap(), 1e-9, "aupro 0.3");
    // The same at FPR limit 1.
    let mut maps = Vec::new();
    let mut masks = Vec::new();
    for (map, mask) in p["maps"]
        .as_array()
        .unwrap()
        .iter()
        .zip(p["masks"].as_array().unwrap())
    {
        maps.push(f32s(map));
        masks.push(
            mask.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u8)
                .collect::<Vec<u8>>(),
        );
    }
    let images: Vec<(&[f32], &[u8])> = maps
        .iter()
        .zip(&masks)
        .map(|(a, b)| (&a[..], &b[..]))
        .collect();
    let a1 = vaecam_metrics::aupro(&images, 12, 10, 1.0).unwrap();
    close(a1, p["aupro_10"].as_f64().unwrap(), 1e-9, "aupro 1.0");
    // Coarse scores (multiples of 1/8): the histogram puts each value in its own bin.
    let hist = pixel_metrics(Mode::histogram());
    close(
        hist.pixel_auroc,
        r.pixel_auroc,
        1e-12,
        "histogram pixel auroc",
    );
    close(hist.aupro, r.aupro, 1e-9, "histogram aupro");
}

#[test]
fn mig_matches_disentanglement_lib_reference() {
    let f = fixture();
    let g = &f["mig"];
    let ys: Vec<Vec<usize>> = g["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect()
        })
        .collect();
    let zs: Vec<Vec<f32>> = g["latents"].as_array().unwrap().iter().map(f32s).collect();
    let bins = g["num_bins"].as_u64().unwrap() as usize;
    let disc = g["discretized"].as_array().unwrap();
    for (i, row) in disc.iter().enumerate() {
        let col: Vec<f32> = zs.iter().map(|z| z[i]).collect();
        let want: Vec<usize> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(histogram_discretize(&col, bins), want, "dim {i}");
        let fk: Vec<usize> = ys.iter().map(|y| y[0]).collect();
        close(
            discrete_mutual_info(&want, &fk),
            g["mutual_info"][i][0].as_f64().unwrap(),
            1e-12,
            "mutual info",
        );
    }
    let s = mig_from_samples(&ys, &zs, bins).unwrap();
    for (k, e) in g["entropy"].as_array().unwrap().iter().enumerate() {
        close(s.factor_entropy[k], e.as_f64().unwrap(), 1e-12, "entropy");
    }
    close(s.mig, g["mig"].as_f64().unwrap(), 1e-12, "mig");
}
