//! The batch iterator over several datasets.

use std::sync::Arc;
use vaecam_data::batch::{flip_chw, BatchLoader, BatchOptions, InMemory};
use vaecam_data::dsprites::DspritesDataset;

fn numbered(n: usize) -> InMemory {
    // Item i is a 1x2x3 image whose values encode i and the pixel position.
    InMemory {
        shape: [1, 2, 3],
        images: (0..n)
            .map(|i| (0..6).map(|p| (i * 10 + p) as f32 / 1000.0).collect())
            .collect(),
        labels: (0..n as i64).collect(),
    }
}

#[test]
fn same_seed_same_order_and_every_index_once() {
    let data = Arc::new(numbered(103));
    let opts = BatchOptions {
        batch_size: 10,
        seed: 5,
        ..Default::default()
    };
    let a = BatchLoader::new(data.clone(), opts.clone());
    let b = BatchLoader::new(data.clone(), opts.clone());
    assert_eq!(a.batches_per_epoch(), 11);
    let ea: Vec<_> = a.epoch(0).map(|b| b.unwrap()).collect();
    let eb: Vec<_> = b.epoch(0).map(|b| b.unwrap()).collect();
    assert_eq!(ea, eb);
    assert_eq!(ea.len(), 11);
    assert_eq!(ea[0].shape, [10, 1, 2, 3]);
    assert_eq!(ea[10].shape, [3, 1, 2, 3]);
    let mut seen: Vec<usize> = ea.iter().flat_map(|b| b.indices.clone()).collect();
    assert_ne!(seen, (0..103).collect::<Vec<_>>(), "shuffled");
    seen.sort();
    assert_eq!(seen, (0..103).collect::<Vec<_>>());
    for batch in &ea {
        assert_eq!(batch.data.len(), batch.shape.iter().product::<usize>());
        for (k, &i) in batch.indices.iter().enumerate() {
            assert_eq!(batch.labels[k], i as i64);
            assert_eq!(batch.data[k * 6], (i * 10) as f32 / 1000.0);
        }
    }
    // Another epoch, another order; another seed, another order.
    let e1: Vec<usize> = a.epoch(1).flat_map(|b| b.unwrap().indices).collect();
    assert_ne!(
        e1,
        ea.iter()
            .flat_map(|b| b.indices.clone())
            .collect::<Vec<_>>()
    );
    let c = BatchLoader::new(data, BatchOptions { seed: 6, ..opts });
    assert_ne!(c.order(0), a.order(0));
}

#[test]
fn drop_last_no_shuffle_and_flips() {
    let data = Arc::new(numbered(25));
    let plain = BatchLoader::new(
        data.clone(),
        BatchOptions {
            batch_size: 8,
            shuffle: false,
            drop_last: true,
            ..Default::default()
        },
    );
    let batches: Vec<_> = plain.epoch(0).map(|b| b.unwrap()).collect();
    assert_eq!(batches.len(), 3);
    assert_eq!(batches[0].indices, (0..8).collect::<Vec<_>>());
    let flipped = BatchLoader::new(
        data,
        BatchOptions {
            batch_size: 25,
            shuffle: false,
            flip_horizontal: true,
            flip_vertical: true,
            seed: 3,
            ..Default::default()
        },
    );
    let b = flipped.epoch(0).next().unwrap().unwrap();
    let mut changed = 0;
    for i in 0..25 {
        let orig: Vec<f32> = (0..6).map(|p| (i * 10 + p) as f32 / 1000.0).collect();
        let got = &b.data[i * 6..i * 6 + 6];
        let candidates =
            [(false, false), (true, false), (false, true), (true, true)].map(|(h, v)| {
                let mut x = orig.clone();
                flip_chw(&mut x, 1, 2, 3, h, v);
                x
            });
        assert!(
            candidates.iter().any(|c| c == got),
            "item {i} is not a flip"
        );
        changed += (got != &orig[..]) as usize;
    }
    assert!(changed > 5 && changed < 25, "{changed} of 25 flipped");
    let mut x = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    flip_chw(&mut x, 1, 2, 3, true, false);
    assert_eq!(x, [3.0, 2.0, 1.0, 6.0, 5.0, 4.0]);
    flip_chw(&mut x, 1, 2, 3, false, true);
    assert_eq!(x, [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]);
}

#[test]
fn dsprites_batches_and_early_drop() {
    let data = Arc::new(DspritesDataset::subset((0..200).map(|i| i * 3001).collect()).unwrap());
    let loader = BatchLoader::new(
        data,
        BatchOptions {
            batch_size: 64,
            seed: 9,
            ..Default::default()
        },
    );
    let mut it = loader.epoch(0);
    let b = it.next().unwrap().unwrap();
    assert_eq!(b.shape, [64, 1, 64, 64]);
    assert!(b.data.iter().all(|&v| v == 0.0 || v == 1.0));
    for (k, &i) in b.indices.iter().enumerate() {
        assert_eq!(b.labels[k], (i * 3001) as i64);
        let expect = vaecam_data::dsprites::render_index(i * 3001).unwrap();
        assert_eq!(&b.data[k * 4096..(k + 1) * 4096], &expect[..]);
    }
    drop(it); // stops the worker without draining the epoch
}

#[test]
fn works_over_a_trait_object() {
    use vaecam_data::Dataset;
    let data: Arc<dyn Dataset> = Arc::new(numbered(7));
    let loader = BatchLoader::new(
        data,
        BatchOptions {
            batch_size: 4,
            ..Default::default()
        },
    );
    let sizes: Vec<usize> = loader.epoch(3).map(|b| b.unwrap().shape[0]).collect();
    assert_eq!(sizes, [4, 3]);
}
