//! The [`Dataset`] trait and a seeded, prefetching batch iterator.
//!
//! ```
//! use std::sync::Arc;
//! use vaecam_data::batch::{BatchLoader, BatchOptions};
//! use vaecam_data::dsprites::DspritesDataset;
//!
//! let data = Arc::new(DspritesDataset::subset((0..100).collect()).unwrap());
//! let loader = BatchLoader::new(data, BatchOptions { batch_size: 32, seed: 1, ..Default::default() });
//! for batch in loader.epoch(0) {
//!     let batch = batch.unwrap();
//!     assert_eq!(&batch.shape[1..], &[1, 64, 64]);
//! }
//! ```

use crate::error::{DataError, Result};
use crate::rng::{mix_seed, Rng};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

/// One dataset item: an image as CHW f32 in [0, 1] and an integer label.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// `C·H·W` values, channel-major, in [0, 1].
    pub data: Vec<f32>,
    /// A label whose meaning depends on the dataset (class, 0/1 anomaly, dataset index).
    pub label: i64,
}

/// A random-access collection of equally sized images.
///
/// dSprites, MVTec-layout categories, MNIST and UCSD Ped1 all implement it, so one
/// [`BatchLoader`] serves them all.
pub trait Dataset: Send + Sync {
    /// Number of items.
    fn len(&self) -> usize;

    /// True when there are no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `[C, H, W]` of every item.
    fn shape(&self) -> [usize; 3];

    /// Item `i` (< `len()`).
    fn get(&self, i: usize) -> Result<Item>;
}

/// A batch in NCHW layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// `N·C·H·W` values in [0, 1].
    pub data: Vec<f32>,
    /// `[N, C, H, W]`.
    pub shape: [usize; 4],
    /// The label of each item.
    pub labels: Vec<i64>,
    /// The dataset index of each item.
    pub indices: Vec<usize>,
}

/// How a [`BatchLoader`] forms batches.
#[derive(Clone, Debug)]
pub struct BatchOptions {
    /// Items per batch (the last batch may be smaller unless `drop_last`).
    pub batch_size: usize,
    /// Shuffle the order each epoch (seeded by `seed` and the epoch number).
    pub shuffle: bool,
    /// Seed of the shuffle and of the flips.
    pub seed: u64,
    /// Drop a last, incomplete batch.
    pub drop_last: bool,
    /// Flip each image horizontally with probability 1/2.
    pub flip_horizontal: bool,
    /// Flip each image vertically with probability 1/2.
    pub flip_vertical: bool,
    /// Batches prepared ahead by the background thread (at least 1).
    pub prefetch: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            batch_size: 64,
            shuffle: true,
            seed: 0,
            drop_last: false,
            flip_horizontal: false,
            flip_vertical: false,
            prefetch: 2,
        }
    }
}

/// Seeded batch iterator over any [`Dataset`]; a background thread prepares the next
/// batches while the caller works on the current one.
pub struct BatchLoader<D: Dataset + ?Sized + 'static> {
    data: Arc<D>,
    opts: BatchOptions,
}

impl<D: Dataset + ?Sized + 'static> BatchLoader<D> {
    /// A loader over `data`.
    pub fn new(data: Arc<D>, opts: BatchOptions) -> Self {
        BatchLoader { data, opts }
    }

    /// The dataset.
    pub fn dataset(&self) -> &Arc<D> {
        &self.data
    }

    /// Number of batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        let (n, b) = (self.data.len(), self.opts.batch_size.max(1));
        if self.opts.drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    /// The item order of epoch `epoch` (a permutation of `0..len`).
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.data.len()).collect();
        if self.opts.shuffle {
            Rng::new(mix_seed(&[self.opts.seed, epoch, 0x5348_5546])).shuffle(&mut order);
        }
        order
    }

    /// Iterates over the batches of epoch `epoch`. Dropping the iterator stops the
    /// background thread after the batch it is preparing.
    pub fn epoch(&self, epoch: u64) -> EpochIter {
        let order = self.order(epoch);
        let b = self.opts.batch_size.max(1);
        let mut chunks: Vec<Vec<usize>> = order.chunks(b).map(|c| c.to_vec()).collect();
        if self.opts.drop_last && chunks.last().is_some_and(|c| c.len() < b) {
            chunks.pop();
        }
        let (tx, rx) = mpsc::sync_channel(self.opts.prefetch.max(1));
        let data = Arc::clone(&self.data);
        let opts = self.opts.clone();
        let handle = thread::spawn(move || {
            for (k, chunk) in chunks.into_iter().enumerate() {
                let seed = mix_seed(&[opts.seed, epoch, k as u64, 0x464c_4950]);
                let batch = make_batch(&*data, &chunk, &opts, seed);
                let stop = batch.is_err();
                if tx.send(batch).is_err() || stop {
                    return;
                }
            }
        });
        EpochIter {
            rx: Some(rx),
            handle: Some(handle),
        }
    }
}

fn make_batch<D: Dataset + ?Sized>(
    data: &D,
    indices: &[usize],
    opts: &BatchOptions,
    seed: u64,
) -> Result<Batch> {
    let [c, h, w] = data.shape();
    let per = c * h * w;
    let mut out = Vec::with_capacity(indices.len() * per);
    let mut labels = Vec::with_capacity(indices.len());
    let mut rng = Rng::new(seed);
    for &i in indices {
        let item = data.get(i)?;
        if item.data.len() != per {
            return Err(DataError::invalid(
                format!("dataset item {i}"),
                format!("has {} values, expected {c}x{h}x{w}", item.data.len()),
            ));
        }
        let fh = opts.flip_horizontal && rng.chance(0.5);
        let fv = opts.flip_vertical && rng.chance(0.5);
        let start = out.len();
        out.extend_from_slice(&item.data);
        if fh || fv {
            flip_chw(&mut out[start..], c, h, w, fh, fv);
        }
        labels.push(item.label);
    }
    Ok(Batch {
        data: out,
        shape: [indices.len(), c, h, w],
        labels,
        indices: indices.to_vec(),
    })
}

/// Flips a CHW image in place, horizontally and/or vertically.
pub fn flip_chw(img: &mut [f32], c: usize, h: usize, w: usize, horizontal: bool, vertical: bool) {
    for ch in 0..c {
        let plane = &mut img[ch * h * w..(ch + 1) * h * w];
        if horizontal {
            for row in plane.chunks_mut(w) {
                row.reverse();
            }
        }
        if vertical {
            for r in 0..h / 2 {
                let (top, bottom) = plane.split_at_mut((h - 1 - r) * w);
                top[r * w..(r + 1) * w].swap_with_slice(&mut bottom[..w]);
            }
        }
    }
}

/// The batches of one epoch, produced by a background thread.
pub struct EpochIter {
    rx: Option<mpsc::Receiver<Result<Batch>>>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Iterator for EpochIter {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        let rx = self.rx.as_ref()?;
        match rx.recv() {
            Ok(b) => Some(b),
            Err(_) => {
                self.rx = None;
                let handle = self.handle.take()?;
                match handle.join() {
                    Ok(()) => None,
                    Err(_) => Some(Err(DataError::Worker("the batch thread panicked".into()))),
                }
            }
        }
    }
}

impl Drop for EpochIter {
    fn drop(&mut self) {
        // Closing the channel makes the worker's next send fail, so it stops.
        self.rx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A [`Dataset`] over images already in memory (each `C·H·W` f32).
#[derive(Clone, Debug)]
pub struct InMemory {
    /// `[C, H, W]`.
    pub shape: [usize; 3],
    /// The images.
    pub images: Vec<Vec<f32>>,
    /// One label per image.
    pub labels: Vec<i64>,
}

impl Dataset for InMemory {
    fn len(&self) -> usize {
        self.images.len()
    }

    fn shape(&self) -> [usize; 3] {
        self.shape
    }

    fn get(&self, i: usize) -> Result<Item> {
        let data = self.images.get(i).ok_or_else(|| {
            DataError::invalid(
                "dataset item",
                format!("{i} is out of range 0..{}", self.images.len()),
            )
        })?;
        Ok(Item {
            data: data.clone(),
            label: self.labels.get(i).copied().unwrap_or(0),
        })
    }
}
