//! Shape and layout ops: reshape, permute, transpose, slice, concat, gather by index.

use crate::backend::Storage;
use crate::error::{shape_err, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

impl Tensor {
    /// The same data under a new shape with the same element count (free: shares storage).
    pub fn reshape(&self, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if shape.numel() != self.numel() {
            return shape_err(
                "reshape",
                format!(
                    "cannot reshape {} ({} values) to {shape}",
                    self.shape(),
                    self.numel()
                ),
            );
        }
        if &shape == self.shape() {
            return Ok(self.clone());
        }
        Ok(Tensor::view_op(self, shape, "reshape", |g, _, inp, _| {
            Ok(vec![Some(g.reshape(inp[0].shape().clone())?)])
        }))
    }
    /// Flattens every dimension from `start` on into one (`[N, C, H, W]`.flatten(1) = `[N, C*H*W]`).
    pub fn flatten(&self, start: usize) -> Result<Tensor> {
        if start >= self.rank() {
            return shape_err(
                "flatten",
                format!("start {start} out of range for {}", self.shape()),
            );
        }
        let mut d = self.dims()[..start].to_vec();
        d.push(self.dims()[start..].iter().product());
        self.reshape(d)
    }
    /// Inserts a size-1 axis at `axis`.
    pub fn unsqueeze(&self, axis: usize) -> Result<Tensor> {
        if axis > self.rank() {
            return shape_err(
                "unsqueeze",
                format!("axis {axis} out of range for {}", self.shape()),
            );
        }
        let mut d = self.dims().to_vec();
        d.insert(axis, 1);
        self.reshape(d)
    }
    /// Output axis i is input axis `perm[i]` (copies into a contiguous tensor).
    pub fn permute(&self, perm: &[usize]) -> Result<Tensor> {
        let r = self.rank();
        let mut seen = vec![false; r];
        if perm.len() != r
            || perm
                .iter()
                .any(|&p| p >= r || std::mem::replace(&mut seen[p], true))
        {
            return shape_err(
                "permute",
                format!(
                    "{perm:?} is not a permutation of the axes of {}",
                    self.shape()
                ),
            );
        }
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return Ok(self.clone());
        }
        let out: Vec<usize> = perm.iter().map(|&p| self.dims()[p]).collect();
        let s = self.storage().permute(self.shape(), perm)?;
        let mut inv = vec![0; r];
        for (i, &p) in perm.iter().enumerate() {
            inv[p] = i;
        }
        Ok(Tensor::from_op(
            s,
            Shape::from(out),
            "permute",
            &[self],
            move |g, _, _, _| Ok(vec![Some(g.permute(&inv)?)]),
        ))
    }
    /// Swaps two axes.
    pub fn transpose(&self, a: usize, b: usize) -> Result<Tensor> {
        if a >= self.rank() || b >= self.rank() {
            return shape_err(
                "transpose",
                format!("axes ({a}, {b}) out of range for {}", self.shape()),
            );
        }
        let mut perm: Vec<usize> = (0..self.rank()).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }
    /// `len` entries from `start` along `axis` (a copy).
    pub fn slice(&self, axis: usize, start: usize, len: usize) -> Result<Tensor> {
        if axis >= self.rank() || start + len > self.dims()[axis] {
            return shape_err(
                "slice",
                format!(
                    "[{start}, {}) along axis {axis} is outside {}",
                    start + len,
                    self.shape()
                ),
            );
        }
        if start == 0 && len == self.dims()[axis] {
            return Ok(self.clone());
        }
        let mut out = self.dims().to_vec();
        out[axis] = len;
        let s = self.storage().slice(self.shape(), axis, start, len)?;
        Ok(Tensor::from_op(
            s,
            Shape::from(out),
            "slice",
            &[self],
            move |g, _, inp, _| Ok(vec![Some(g.pad_axis(axis, start, inp[0].dims()[axis])?)]),
        ))
    }
    /// Places this tensor at `start` along `axis` inside zeros of length `full` there (the
    /// adjoint of [`Tensor::slice`]).
    pub fn pad_axis(&self, axis: usize, start: usize, full: usize) -> Result<Tensor> {
        if axis >= self.rank() || start + self.dims()[axis] > full {
            return shape_err(
                "pad_axis",
                format!(
                    "{} does not fit at {start} in length {full} along axis {axis}",
                    self.shape()
                ),
            );
        }
        let mut out = self.dims().to_vec();
        out[axis] = full;
        let len = self.dims()[axis];
        let s = self.storage().pad_axis(self.shape(), axis, start, full)?;
        Ok(Tensor::from_op(
            s,
            Shape::from(out),
            "pad_axis",
            &[self],
            move |g, _, _, _| Ok(vec![Some(g.slice(axis, start, len)?)]),
        ))
    }
    /// Splits `axis` into pieces of the given lengths.
    pub fn split(&self, axis: usize, lens: &[usize]) -> Result<Vec<Tensor>> {
        let mut at = 0;
        let mut out = Vec::with_capacity(lens.len());
        for &l in lens {
            out.push(self.slice(axis, at, l)?);
            at += l;
        }
        Ok(out)
    }
    /// Concatenates tensors along `axis`; they must agree on every other dimension.
    pub fn concat(parts: &[Tensor], axis: usize) -> Result<Tensor> {
        let Some(first) = parts.first() else {
            return shape_err("concat", "no tensors to concatenate");
        };
        for p in parts {
            first.same_device("concat", p)?;
            let ok = p.rank() == first.rank()
                && axis < p.rank()
                && p.dims()
                    .iter()
                    .zip(first.dims())
                    .enumerate()
                    .all(|(i, (a, b))| i == axis || a == b);
            if !ok {
                let shapes: Vec<String> = parts.iter().map(|t| t.shape().to_string()).collect();
                return shape_err(
                    "concat",
                    format!("shapes {} do not agree off axis {axis}", shapes.join(", ")),
                );
            }
        }
        let guards: Vec<_> = parts.iter().map(|p| p.storage()).collect();
        let refs: Vec<(&Storage, &Shape)> = guards
            .iter()
            .zip(parts)
            .map(|(g, p)| (&**g, p.shape()))
            .collect();
        let s = Storage::concat(&refs, axis)?;
        drop(refs);
        drop(guards);
        let mut out = first.dims().to_vec();
        out[axis] = parts.iter().map(|p| p.dims()[axis]).sum();
        let lens: Vec<usize> = parts.iter().map(|p| p.dims()[axis]).collect();
        let inputs: Vec<&Tensor> = parts.iter().collect();
        Ok(Tensor::from_op(
            s,
            Shape::from(out),
            "concat",
            &inputs,
            move |g, _, _, needs| {
                let pieces = g.split(axis, &lens)?;
                Ok(pieces
                    .into_iter()
                    .zip(needs)
                    .map(|(p, &n)| n.then_some(p))
                    .collect())
            },
        ))
    }
    /// Entries `indices` along `axis` (a gather; repeated indices allowed).
    pub fn index_select(&self, axis: usize, indices: &[u32]) -> Result<Tensor> {
        if axis >= self.rank() {
            return shape_err(
                "index_select",
                format!("axis {axis} out of range for {}", self.shape()),
            );
        }
        let full = self.dims()[axis];
        if let Some(&bad) = indices.iter().find(|&&i| i as usize >= full) {
            return shape_err(
                "index_select",
                format!(
                    "index {bad} out of range for axis {axis} of {}",
                    self.shape()
                ),
            );
        }
        let mut out = self.dims().to_vec();
        out[axis] = indices.len();
        let s = self.storage().index_select(self.shape(), axis, indices)?;
        let idx = indices.to_vec();
        Ok(Tensor::from_op(
            s,
            Shape::from(out),
            "index_select",
            &[self],
            move |g, _, _, _| Ok(vec![Some(g.index_add(axis, &idx, full)?)]),
        ))
    }
    /// The adjoint of [`Tensor::index_select`]: entry j along `axis` is added into entry
    /// `indices[j]` of zeros of length `full`.
    pub fn index_add(&self, axis: usize, indices: &[u32], full: usize) -> Result<Tensor> {
        if axis >= self.rank() || indices.len() != self.dims()[axis] {
            return shape_err(
                "index_add",
                format!(
                    "{} indices for axis {axis} of {}",
                    indices.len(),
                    self.shape()
                ),
            );
        }
        if let Some(&bad) = indices.iter().find(|&&i| i as usize >= full) {
            return shape_err(
                "index_add",
                format!("index {bad} out of range for length {full}"),
            );
        }
        let mut out = self.dims().to_vec();
        out[axis] = full;
        let s = self
            .storage()
            .index_add(self.shape(), axis, indices, full)?;
        let idx = indices.to_vec();
        Ok(Tensor::from_op(
            s,
            Shape::from(out),
            "index_add",
            &[self],
            move |g, _, _, _| Ok(vec![Some(g.index_select(axis, &idx)?)]),
        ))
    }
}
