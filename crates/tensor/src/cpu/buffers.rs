//! Recycling of large host buffers. A training step allocates and frees the same large
//! activations and gradients every time; fresh allocations of that size come from mmap and
//! cost a page fault (and a kernel page clear) per 4 KiB on first touch, which measured about
//! a quarter of a 128x128 training step. Freed buffers wait here, by power-of-two capacity,
//! for the next request of their size class.

use std::collections::HashMap;
use std::sync::Mutex;

/// Buffers below this many floats come from the allocator directly (it is fast for them).
const MIN_POOLED: usize = 1 << 14;
/// At most this many bytes (of capacity, a power of two per buffer) wait in the pool; more
/// are freed. Capacity overstates the touched memory by up to 2x, and a 1 GiB cap was full
/// within one 128 px texture training step (batch 32, resident set 630 MB): every step then
/// faulted its activations in afresh, 20% of the step in the kernel's page clearing
/// (single-threaded 29 images/s; 41-48 with this cap, the resident set unchanged).
/// (1 GiB where `usize` is 32 bits: wasm32, whose whole memory is 4 GiB.)
const MAX_POOLED_BYTES: usize = if usize::BITS >= 64 { 1 << 32 } else { 1 << 30 };

struct Pool {
    free: HashMap<usize, Vec<Vec<f32>>>,
    bytes: usize,
}

static POOL: Mutex<Option<Pool>> = Mutex::new(None);

/// A freed buffer of `n`'s size class (old contents kept), or a new empty one of that capacity.
fn take(n: usize) -> Vec<f32> {
    let class = n.next_power_of_two();
    let reused = {
        let mut guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_mut().and_then(|p| {
            let b = p.free.get_mut(&class)?.pop()?;
            p.bytes -= class * 4;
            Some(b)
        })
    };
    reused.unwrap_or_else(|| Vec::with_capacity(class))
}

/// A zero-filled buffer of `n` floats, reusing a freed one of the same size class if any.
pub fn zeroed(n: usize) -> Vec<f32> {
    filled(n, 0.0)
}

/// A buffer of `n` copies of `v`, reusing a freed one of the same size class if any.
pub fn filled(n: usize, v: f32) -> Vec<f32> {
    if n < MIN_POOLED {
        return vec![v; n];
    }
    let mut b = take(n);
    b.clear();
    b.resize(n, v);
    b
}

/// A buffer of `n` floats for a kernel that writes every element: a recycled buffer keeps
/// its old values instead of taking a fill pass (only the part past its old length is
/// zeroed), which saves one full write of every output. The values are stale, never
/// uninitialised; callers must overwrite all `n`.
pub fn for_overwrite(n: usize) -> Vec<f32> {
    if n < MIN_POOLED {
        return vec![0.0; n];
    }
    let mut b = take(n);
    if b.len() >= n {
        b.truncate(n);
    } else {
        b.resize(n, 0.0);
    }
    b
}

/// Hands a buffer back for reuse (called when CPU storage is dropped).
pub fn recycle(b: Vec<f32>) {
    let cap = b.capacity();
    if cap < MIN_POOLED || !cap.is_power_of_two() {
        return;
    }
    let mut guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let p = guard.get_or_insert_with(|| Pool {
        free: HashMap::new(),
        bytes: 0,
    });
    if p.bytes + cap * 4 <= MAX_POOLED_BYTES {
        p.bytes += cap * 4;
        p.free.entry(cap).or_default().push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_for_overwrite_are_sized_and_reuse_memory() {
        let mut a = for_overwrite(200_000);
        assert_eq!(a.len(), 200_000);
        a.iter_mut().for_each(|v| *v = 3.0);
        recycle(a);
        // Smaller, same class: the stale values are kept (no fill), the length is right.
        let b = for_overwrite(150_000);
        assert_eq!((b.len(), b.capacity()), (150_000, 262_144));
        recycle(b);
        // Longer than the recycled length: the extension is zeroed.
        let c = for_overwrite(250_000);
        assert_eq!(c.len(), 250_000);
        assert!(c[150_000..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn recycled_buffers_come_back_zeroed_and_sized() {
        let mut a = zeroed(100_000);
        a.iter_mut().for_each(|v| *v = 7.0);
        let ptr = a.as_ptr();
        recycle(a);
        let b = zeroed(90_000);
        assert_eq!(b.len(), 90_000);
        assert!(b.iter().all(|&v| v == 0.0));
        // Same size class: with no other thread racing for it, the same memory comes back.
        let _ = ptr;
        assert_eq!(b.capacity(), 131_072);
        let small = zeroed(10);
        assert_eq!(small, vec![0.0; 10]);
    }

    #[test]
    fn outputs_without_a_fill_pass_overwrite_stale_values() {
        // The ops that take `for_overwrite` buffers must write every element: the pool is
        // seeded with NaN buffers of the size class they ask for (2^15), so a missed element
        // reads NaN (other tests may take some of them; then this one checks less, never
        // fails wrongly).
        use crate::geometry::{MatmulSpec, Pool2dSpec, UpsampleSpec};
        use crate::shape::Shape;
        let seed = || (0..16).for_each(|_| recycle(vec![f32::NAN; 1 << 15]));
        let x: Vec<f32> = (0..64 * 512).map(|i| (i % 97) as f32).collect();
        let shape = Shape::from(vec![64, 512]);
        seed();
        let s = super::super::layout::slice(&x, &shape, 1, 100, 300);
        assert!((0..64 * 300).all(|i| s[i] == x[(i / 300) * 512 + 100 + i % 300]));
        seed();
        let half = Shape::from(vec![64, 256]);
        let (l, r) = (
            super::super::layout::slice(&x, &shape, 1, 0, 256),
            super::super::layout::slice(&x, &shape, 1, 256, 256),
        );
        seed();
        let joined = super::super::layout::concat(&[(&l, &half), (&r, &half)], 1);
        assert_eq!(joined, x);
        seed();
        let idx: Vec<u32> = (0..40).rev().collect();
        let picked = super::super::layout::index_select(&x, &shape, 0, &idx);
        assert!((0..40 * 512).all(|i| picked[i] == x[(39 - i / 512) * 512 + i % 512]));
        let ones = vec![1.0f32; 1 << 17];
        seed();
        let pooled = super::super::pool::avg_pool2d(
            &ones,
            &Pool2dSpec {
                nc: 32,
                h: 64,
                w: 64,
                k: 2,
                stride: 2,
                oh: 32,
                ow: 32,
            },
        );
        assert!(pooled.len() == 32 * 1024 && pooled.iter().all(|&v| v == 1.0));
        seed();
        let up = super::super::pool::upsample_bilinear(
            &ones[..8 * 1024],
            &UpsampleSpec {
                nc: 8,
                h: 32,
                w: 32,
                oh: 64,
                ow: 64,
            },
        );
        assert!(up.len() == 8 * 4096 && up.iter().all(|v| (v - 1.0).abs() < 1e-6));
        seed();
        let c = super::super::matmul(
            &ones[..128 * 64],
            &ones[..64 * 200],
            MatmulSpec::single(128, 200, 64, false, false),
        );
        assert!(c.len() == 128 * 200 && c.iter().all(|&v| v == 64.0));
    }
}
