//! Matrix products (2-D and batched 3-D) and the linear layer's op.

use crate::error::{shape_err, Result};
use crate::geometry::MatmulSpec;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// `op(a) op(b)` where op transposes the last two axes when asked; 2-D operands broadcast over
/// the other's batch. Recorded with a backward rule made of the same op, so it differentiates
/// to any order.
pub fn matmul_t(a: &Tensor, b: &Tensor, trans_a: bool, trans_b: bool) -> Result<Tensor> {
    a.same_device("matmul", b)?;
    let (ra, rb) = (a.rank(), b.rank());
    if !(2..=3).contains(&ra) || !(2..=3).contains(&rb) {
        return shape_err(
            "matmul",
            format!(
                "needs 2-D or 3-D operands, got {} and {}",
                a.shape(),
                b.shape()
            ),
        );
    }
    let (ad, bd) = (a.dims(), b.dims());
    let (am, ak) = if trans_a {
        (ad[ra - 1], ad[ra - 2])
    } else {
        (ad[ra - 2], ad[ra - 1])
    };
    let (bk, bn) = if trans_b {
        (bd[rb - 1], bd[rb - 2])
    } else {
        (bd[rb - 2], bd[rb - 1])
    };
    if ak != bk {
        return shape_err(
            "matmul",
            format!(
                "inner dimensions differ: {} ({}) and {} ({})",
                a.shape(),
                if trans_a { "transposed" } else { "as is" },
                b.shape(),
                if trans_b { "transposed" } else { "as is" }
            ),
        );
    }
    let batch_a = if ra == 3 { Some(ad[0]) } else { None };
    let batch_b = if rb == 3 { Some(bd[0]) } else { None };
    let batch = match (batch_a, batch_b) {
        (Some(x), Some(y)) if x != y => {
            return shape_err(
                "matmul",
                format!("batch sizes differ: {} and {}", a.shape(), b.shape()),
            )
        }
        (Some(x), _) | (_, Some(x)) => Some(x),
        (None, None) => None,
    };
    let spec = MatmulSpec {
        batch: batch.unwrap_or(1),
        m: am,
        n: bn,
        k: ak,
        trans_a,
        trans_b,
        broadcast_a: batch_a.is_none(),
        broadcast_b: batch_b.is_none(),
    };
    let out = match batch {
        Some(bs) => Shape::from(vec![bs, am, bn]),
        None => Shape::from(vec![am, bn]),
    };
    let s = a.storage().matmul(&b.storage(), spec)?;
    Ok(Tensor::from_op(
        s,
        out,
        "matmul",
        &[a, b],
        move |g, _, inp, needs| {
            let (a, b) = (&inp[0], &inp[1]);
            // C = op(A) op(B): dop(A) = G op(B)^T, dop(B) = op(A)^T G, transposed back when stored so.
            let ga = if needs[0] {
                let d = if !trans_a {
                    matmul_t(g, b, false, !trans_b)?
                } else {
                    matmul_t(b, g, trans_b, true)?
                };
                Some(d.sum_to(a.shape())?)
            } else {
                None
            };
            let gb = if needs[1] {
                let d = if !trans_b {
                    matmul_t(a, g, !trans_a, false)?
                } else {
                    matmul_t(g, a, true, trans_a)?
                };
                Some(d.sum_to(b.shape())?)
            } else {
                None
            };
            Ok(vec![ga, gb])
        },
    ))
}

impl Tensor {
    /// Matrix product `self @ rhs` (2-D or batched 3-D).
    pub fn matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        matmul_t(self, rhs, false, false)
    }
    /// `x @ w^T + b` for x `[N, in]`, w `[out, in]`, b `[out]` (PyTorch's layout).
    pub fn linear(&self, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
        if self.rank() != 2 || w.rank() != 2 || self.dims()[1] != w.dims()[1] {
            return shape_err(
                "linear",
                format!(
                    "input {} and weight {} (expected [N, in] and [out, in])",
                    self.shape(),
                    w.shape()
                ),
            );
        }
        let y = matmul_t(self, w, false, true)?;
        match b {
            Some(b) => {
                if b.dims() != [w.dims()[0]] {
                    return shape_err(
                        "linear",
                        format!("bias {} for weight {}", b.shape(), w.shape()),
                    );
                }
                y.add(b)
            }
            None => Ok(y),
        }
    }
}
