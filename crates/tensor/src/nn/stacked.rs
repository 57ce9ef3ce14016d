//! Many vector-Jacobian products through a layer stack at once, without the tape.
//!
//! Per-dimension attention maps need V products (one per latent dimension) from the encoder's
//! output back to one tapped activation. They share the forward pass and the weights and
//! differ only in the seed, so instead of V walks over the tape (V small GEMMs per layer),
//! each layer maps all V x N cotangent rows at once (one big GEMM), using the input and output
//! the layer saw in the one forward pass. Only layers whose output for one sample does not
//! depend on the rest of the batch can do this: in evaluation mode BatchNorm is a fixed
//! per-channel scale, in training mode it refuses.
//!
//! The rules are written with the engine's own tensor ops, so they run on every device.

use crate::error::{shape_err, Error, Result};
use crate::tensor::Tensor;

/// Cotangents of V stacked blocks of N samples (block b = the b-th seed).
#[derive(Clone, Debug)]
pub enum StackedCotangent {
    /// One cotangent per (block, sample): `[V * N, ...]`, block-major (row `b * N + n`).
    PerSample(Tensor),
    /// One cotangent per block, the same for every sample: `[V, ...]`. A one-hot seed on the
    /// output of a linear tail stays shared until the first layer that looks at the sample
    /// (an activation's mask), which saves the GEMMs of every layer above it.
    Shared(Tensor),
}

impl StackedCotangent {
    /// The stored tensor (`[V * N, ...]` or `[V, ...]`).
    pub fn tensor(&self) -> &Tensor {
        match self {
            StackedCotangent::PerSample(t) | StackedCotangent::Shared(t) => t,
        }
    }

    /// The same kind of cotangent holding `t`.
    pub fn with(&self, t: Tensor) -> StackedCotangent {
        match self {
            StackedCotangent::PerSample(_) => StackedCotangent::PerSample(t),
            StackedCotangent::Shared(_) => StackedCotangent::Shared(t),
        }
    }

    /// Applies `f` to the stored tensor, keeping the kind (for layers that treat every row
    /// alike: convolutions, linear maps, reshapes, per-channel scales).
    pub fn map(&self, f: impl FnOnce(&Tensor) -> Result<Tensor>) -> Result<StackedCotangent> {
        Ok(self.with(f(self.tensor())?))
    }

    /// `[V * N, ...]` rows for `n` samples per block, repeating a shared cotangent.
    pub fn into_per_sample(self, n: usize) -> Result<Tensor> {
        match self {
            StackedCotangent::PerSample(t) => Ok(t),
            StackedCotangent::Shared(t) => {
                let v = t.dims()[0];
                let rest = &t.dims()[1..];
                let mut blocks = vec![v, 1];
                blocks.extend_from_slice(rest);
                let mut full = vec![v, n];
                full.extend_from_slice(rest);
                let mut rows = vec![v * n];
                rows.extend_from_slice(rest);
                t.reshape(blocks)?.broadcast_to(full)?.reshape(rows)
            }
        }
    }

    /// Multiplies every block by a per-sample factor `[N, ...]` (an activation's derivative
    /// at the forward's input): the result is per sample.
    pub fn mul_per_sample(&self, factor: &Tensor) -> Result<StackedCotangent> {
        let t = self.tensor();
        let n = factor.dims()[0];
        let rest = &factor.dims()[1..];
        if t.dims()[1..] != *rest {
            return shape_err(
                "stacked_vjp",
                format!(
                    "cotangent {} does not match the layer's saved tensor {}",
                    t.shape(),
                    factor.shape()
                ),
            );
        }
        let (v, per_block) = match self {
            StackedCotangent::PerSample(_) => {
                if n == 0 || !t.dims()[0].is_multiple_of(n) {
                    return shape_err(
                        "stacked_vjp",
                        format!("{} rows are not blocks of {n} samples", t.dims()[0]),
                    );
                }
                (t.dims()[0] / n, n)
            }
            StackedCotangent::Shared(_) => (t.dims()[0], 1),
        };
        let with_lead = |lead: &[usize]| {
            let mut d = lead.to_vec();
            d.extend_from_slice(rest);
            d
        };
        let out = t
            .reshape(with_lead(&[v, per_block]))?
            .mul(&factor.reshape(with_lead(&[1, n]))?)?
            .reshape(with_lead(&[v * n]))?;
        Ok(StackedCotangent::PerSample(out))
    }

    /// The cotangent with its row axis kept and the rest reshaped to `dims`.
    pub fn reshape_rows(&self, dims: &[usize]) -> Result<StackedCotangent> {
        self.map(|t| {
            let mut d = vec![t.dims()[0]];
            d.extend_from_slice(dims);
            t.reshape(d)
        })
    }
}

/// The message of a layer without a stacked rule.
pub(crate) fn no_stacked_rule(describe: &str) -> Error {
    Error::NotImplemented(format!(
        "{describe} has no stacked backward rule (use the per-dimension strategy)"
    ))
}

/// The default spatial sum: the full input cotangent, summed over its spatial axes.
pub(crate) fn sum_spatial(cot: StackedCotangent) -> Result<StackedCotangent> {
    let t = cot.tensor();
    if t.rank() != 4 {
        return shape_err(
            "stacked_vjp_spatial_sum",
            format!("cotangent {} is not [rows, C, H, W]", t.shape()),
        );
    }
    cot.map(|t| t.sum(&[2, 3], false))
}

/// 1 where input row `p * stride - padding + i` of a side of `size` exists, as `[out, k]`.
fn valid_taps(out: usize, k: usize, stride: usize, padding: usize, size: usize) -> Vec<f32> {
    let mut v = vec![0f32; out * k];
    for p in 0..out {
        for i in 0..k {
            let r = (p * stride + i) as isize - padding as isize;
            if r >= 0 && (r as usize) < size {
                v[p * k + i] = 1.0;
            }
        }
    }
    v
}

/// For a convolution with weight `[O, C, kh, kw]` on `[*, C, H, W]` inputs giving `oh x ow`:
/// `S[c, (o, p, q)]` = the sum of `w[o, c, i, j]` over the taps (i, j) that land inside the
/// input at output position (p, q), as `[C, O * oh * ow]`.
///
/// Summing the input cotangent `conv2d_backward_data(g)` over all input positions gives
/// `g . S` (each output position sends `g` back through its valid taps only), so the spatial
/// sum never forms the input-sized cotangent: a `C x (O oh ow)` GEMM instead of a
/// `(C kh kw) x O x (oh ow)` one and a col2im.
pub(crate) fn conv_tap_sums(
    w: &Tensor,
    stride: usize,
    padding: usize,
    input_hw: (usize, usize),
    output_hw: (usize, usize),
) -> Result<Tensor> {
    let (o, c, kh, kw) = (w.dims()[0], w.dims()[1], w.dims()[2], w.dims()[3]);
    let (oh, ow) = output_hw;
    let dev = w.device();
    let rows = Tensor::from_vec(
        valid_taps(oh, kh, stride, padding, input_hw.0),
        [oh, kh],
        dev,
    )?;
    let cols = Tensor::from_vec(
        valid_taps(ow, kw, stride, padding, input_hw.1),
        [ow, kw],
        dev,
    )?;
    // [C, O, kh, kw] -> sum over j with cols -> [C*O*kh, ow] -> sum over i with rows.
    let by_col = w
        .permute(&[1, 0, 2, 3])?
        .reshape(vec![c * o * kh, kw])?
        .linear(&cols, None)?
        .reshape(vec![c * o, kh, ow])?;
    rows.matmul(&by_col)?.reshape(vec![c, o * oh * ow])
}
