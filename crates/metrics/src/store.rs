//! Storage of pixel scores between `add_image` and `finish`: exact (sorted scores) or a
//! streaming histogram of bounded size.

use crate::curve::Group;

/// Every score kept, split by class so that no label byte is stored for normal pixels:
/// 4 bytes per normal pixel, 8 bytes per anomalous pixel (score + region index), 8 bytes per
/// region. Sorting happens in place at the end (no second copy).
#[derive(Debug, Default)]
pub(crate) struct ExactStore {
    pub neg: Vec<f32>,
    /// (score, region index into `region_weight`; `u32::MAX`: no region).
    pub pos: Vec<(f32, u32)>,
    /// 1 / size of each region.
    pub region_weight: Vec<f64>,
}

impl ExactStore {
    /// Sorts both classes by decreasing score.
    pub fn sort(&mut self) {
        self.neg.sort_unstable_by(|a, b| b.total_cmp(a));
        self.pos.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    }

    /// The groups of equal score, decreasing. Call [`ExactStore::sort`] first.
    pub fn groups(&self) -> ExactGroups<'_> {
        ExactGroups {
            store: self,
            i: 0,
            j: 0,
        }
    }
}

/// Merges the two sorted classes into groups of equal score.
pub(crate) struct ExactGroups<'a> {
    store: &'a ExactStore,
    i: usize,
    j: usize,
}

impl Iterator for ExactGroups<'_> {
    type Item = Group;

    fn next(&mut self) -> Option<Group> {
        let (neg, pos) = (&self.store.neg, &self.store.pos);
        let t = match (neg.get(self.i), pos.get(self.j)) {
            (None, None) => return None,
            (Some(&a), None) => a,
            (None, Some(&(b, _))) => b,
            (Some(&a), Some(&(b, _))) => a.max(b),
        };
        let mut g = Group {
            threshold: t,
            pos: 0,
            neg: 0,
            pro: 0.0,
        };
        while self.i < neg.len() && neg[self.i] == t {
            g.neg += 1;
            self.i += 1;
        }
        while self.j < pos.len() && pos[self.j].0 == t {
            let r = pos[self.j].1 as usize;
            g.pro += self.store.region_weight.get(r).copied().unwrap_or(0.0);
            g.pos += 1;
            self.j += 1;
        }
        Some(g)
    }
}

/// Per-class counts in `bins` equal-width bins (24 bytes a bin) over a range that grows
/// on demand: a score outside the range doubles the bin width (merging bins pairwise, the
/// old range becoming one half of the new one) until it fits. All scores in one bin are
/// treated as tied.
#[derive(Debug)]
pub(crate) struct HistStore {
    bins: usize,
    lo: f64,
    width: f64,
    neg: Vec<u64>,
    pos: Vec<u64>,
    pro: Vec<f64>,
    ready: bool,
}

impl HistStore {
    /// `bins` must be a power of two (checked by the options).
    pub fn new(bins: usize, range: Option<(f32, f32)>) -> Self {
        let mut h = Self {
            bins,
            lo: 0.0,
            width: 1.0,
            neg: vec![0; bins],
            pos: vec![0; bins],
            pro: vec![0.0; bins],
            ready: false,
        };
        if let Some((a, b)) = range {
            h.set_range(a as f64, b as f64);
        }
        h
    }

    /// Fixes the initial range (before any score is added).
    pub fn set_range(&mut self, lo: f64, hi: f64) {
        let span = if hi > lo {
            hi - lo
        } else {
            // A single value: a tiny range around it (grows by doubling when needed).
            lo.abs().max(1e-30) * 1e-6
        };
        self.lo = lo;
        // Slightly wider than the span so that `hi` falls inside the last bin.
        self.width = span * (1.0 + 1e-9) / self.bins as f64;
        self.ready = true;
    }

    fn hi(&self) -> f64 {
        self.lo + self.width * self.bins as f64
    }

    /// Makes sure `[lo, hi]` fits in the range.
    pub fn include(&mut self, lo: f64, hi: f64) {
        if !self.ready {
            self.set_range(lo, hi);
            return;
        }
        while hi >= self.hi() {
            self.grow(false);
        }
        while lo < self.lo {
            self.grow(true);
        }
    }

    /// Doubles the bin width; `down`: the range extends below (the old range becomes the
    /// upper half), else above.
    fn grow(&mut self, down: bool) {
        let half = self.bins / 2;
        let offset = if down { half } else { 0 };
        fn merge<T: Copy + std::ops::Add<Output = T> + Default>(
            v: &mut [T],
            half: usize,
            offset: usize,
        ) {
            let merged: Vec<T> = (0..half).map(|i| v[2 * i] + v[2 * i + 1]).collect();
            v.fill(T::default());
            v[offset..offset + half].copy_from_slice(&merged);
        }
        merge(&mut self.neg, half, offset);
        merge(&mut self.pos, half, offset);
        merge(&mut self.pro, half, offset);
        if down {
            self.lo -= self.width * self.bins as f64;
        }
        self.width *= 2.0;
    }

    /// Adds one pixel (its score must lie in the range: call [`HistStore::include`] first).
    #[inline]
    pub fn add(&mut self, score: f32, positive: bool, pro_weight: f64) {
        let b = (((score as f64 - self.lo) / self.width) as usize).min(self.bins - 1);
        if positive {
            self.pos[b] += 1;
            self.pro[b] += pro_weight;
        } else {
            self.neg[b] += 1;
        }
    }

    /// Non-empty bins as groups, decreasing; the threshold of a bin is its lower edge.
    pub fn groups(&self) -> impl Iterator<Item = Group> + '_ {
        (0..self.bins)
            .rev()
            .filter(move |&b| self.neg[b] + self.pos[b] > 0)
            .map(move |b| Group {
                threshold: (self.lo + b as f64 * self.width) as f32,
                pos: self.pos[b],
                neg: self.neg[b],
                pro: self.pro[b],
            })
    }

    /// Current bin width.
    pub fn bin_width(&self) -> f64 {
        self.width
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_groups_merge_ties_across_classes() {
        let mut s = ExactStore {
            neg: vec![0.1, 0.5, 0.5, 0.9],
            pos: vec![(0.5, 0), (0.7, 0), (0.9, 1)],
            region_weight: vec![0.5, 1.0],
        };
        s.sort();
        let g: Vec<_> = s
            .groups()
            .map(|g| (g.threshold, g.pos, g.neg, g.pro))
            .collect();
        assert_eq!(
            g,
            vec![
                (0.9, 1, 1, 1.0),
                (0.7, 1, 0, 0.5),
                (0.5, 1, 2, 0.5),
                (0.1, 0, 1, 0.0)
            ]
        );
    }

    #[test]
    fn histogram_grows_both_ways_and_keeps_counts() {
        let mut h = HistStore::new(16, None);
        h.include(0.0, 1.0);
        for k in 0..10 {
            h.add(k as f32 / 9.0, k % 2 == 0, 0.25);
        }
        h.include(-3.0, 5.0);
        h.add(-3.0, false, 0.0);
        h.add(5.0, true, 1.0);
        let (mut p, mut n, mut w) = (0, 0, 0.0);
        let mut last = f32::INFINITY;
        for g in h.groups() {
            assert!(g.threshold < last);
            last = g.threshold;
            p += g.pos;
            n += g.neg;
            w += g.pro;
        }
        assert_eq!((p, n), (6, 6));
        assert!((w - 2.25).abs() < 1e-12);
        assert!(h.bin_width() * 16.0 >= 8.0);
        // The top bin holds the 5.0 alone; the bottom one the -3.0.
        let first = h.groups().next().unwrap();
        assert_eq!((first.pos, first.neg), (1, 0));
        let bottom = h.groups().last().unwrap();
        assert_eq!((bottom.pos, bottom.neg), (0, 1));
    }
}
