//! Training batches for the trainer: a deterministic function of the step (so a resumed run
//! sees the same data), prepared ahead by the data crate's background loader.

use std::sync::Arc;
use vaecam_data::batch::EpochIter;
use vaecam_data::{BatchLoader, BatchOptions, Dataset};
use vaecam_vae::{BatchSource, VaeError};

/// Batches of a fixed size from a dataset, epoch after epoch, shuffled by seed.
pub struct LoaderSource {
    loader: BatchLoader<dyn Dataset>,
    per_epoch: u64,
    current: Option<(u64, u64, EpochIter)>,
    name: String,
}

impl LoaderSource {
    /// A source of `batch`-sized batches (the last incomplete batch of an epoch is dropped).
    pub fn new(
        data: Arc<dyn Dataset>,
        batch: usize,
        seed: u64,
        flips: bool,
        name: &str,
    ) -> Result<Self, VaeError> {
        if data.len() < batch {
            return Err(VaeError::Data(format!(
                "{name}: {} training images, fewer than one batch of {batch}",
                data.len()
            )));
        }
        let opts = BatchOptions {
            batch_size: batch,
            shuffle: true,
            seed,
            drop_last: true,
            flip_horizontal: flips,
            flip_vertical: false,
            prefetch: 2,
        };
        let loader = BatchLoader::new(data, opts);
        let per_epoch = loader.batches_per_epoch() as u64;
        Ok(LoaderSource {
            loader,
            per_epoch,
            current: None,
            name: name.to_string(),
        })
    }
    /// Batches per epoch.
    pub fn batches_per_epoch(&self) -> u64 {
        self.per_epoch
    }
}

impl BatchSource for LoaderSource {
    fn batch(&mut self, step: u64) -> Result<(Vec<f32>, [usize; 4]), VaeError> {
        let (epoch, pos) = (step / self.per_epoch, step % self.per_epoch);
        let fresh = !matches!(&self.current, Some((e, p, _)) if *e == epoch && *p == pos);
        if fresh {
            let mut it = self.loader.epoch(epoch);
            for _ in 0..pos {
                it.next();
            }
            self.current = Some((epoch, pos, it));
        }
        let (_, p, it) = self.current.as_mut().expect("set above");
        let batch = it
            .next()
            .ok_or_else(|| VaeError::Data(format!("{}: epoch {epoch} ended early", self.name)))?
            .map_err(|e| VaeError::Data(e.to_string()))?;
        *p += 1;
        let per: usize = batch.shape[1..].iter().product();
        if let Some(i) = batch.data.iter().position(|v| !v.is_finite()) {
            return Err(VaeError::Data(format!("{}: image {} (dataset index {}) holds a non-finite value {} — refusing to train on it", self.name, i / per, batch.indices[i / per], batch.data[i])));
        }
        Ok((batch.data, batch.shape))
    }
}
