//! Shapes, strides and broadcasting rules (NumPy/PyTorch semantics).

use crate::error::{shape_err, Result};

/// A tensor shape: dimension sizes, outermost first (row-major).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Shape(Vec<usize>);

impl std::fmt::Debug for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl From<&[usize]> for Shape {
    fn from(d: &[usize]) -> Self {
        Shape(d.to_vec())
    }
}
impl From<Vec<usize>> for Shape {
    fn from(d: Vec<usize>) -> Self {
        Shape(d)
    }
}
impl<const N: usize> From<[usize; N]> for Shape {
    fn from(d: [usize; N]) -> Self {
        Shape(d.to_vec())
    }
}
impl<const N: usize> From<&[usize; N]> for Shape {
    fn from(d: &[usize; N]) -> Self {
        Shape(d.to_vec())
    }
}
impl From<&Shape> for Shape {
    fn from(s: &Shape) -> Self {
        s.clone()
    }
}

impl Shape {
    /// The dimension sizes.
    pub fn dims(&self) -> &[usize] {
        &self.0
    }
    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.0.len()
    }
    /// Number of elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.0.iter().product()
    }
    /// Size of dimension `i`.
    pub fn dim(&self, i: usize) -> usize {
        self.0[i]
    }
    /// Row-major strides in elements.
    pub fn strides(&self) -> Vec<usize> {
        let mut s = vec![1; self.0.len()];
        for i in (0..self.0.len().saturating_sub(1)).rev() {
            s[i] = s[i + 1] * self.0[i + 1];
        }
        s
    }
    /// The shape both operands of an elementwise op broadcast to.
    pub fn broadcast(op: &'static str, a: &Shape, b: &Shape) -> Result<Shape> {
        let r = a.rank().max(b.rank());
        let mut out = vec![0; r];
        for (i, o) in out.iter_mut().enumerate() {
            let da = if i + a.rank() >= r {
                a.0[i + a.rank() - r]
            } else {
                1
            };
            let db = if i + b.rank() >= r {
                b.0[i + b.rank() - r]
            } else {
                1
            };
            *o = if da == db || db == 1 {
                da
            } else if da == 1 {
                db
            } else {
                return shape_err(op, format!("shapes {a} and {b} do not broadcast"));
            };
        }
        Ok(Shape(out))
    }
    /// Strides for reading a tensor of this shape as if it had shape `out`
    /// (broadcast dimensions get stride 0). `out` must be a broadcast of `self`.
    pub fn broadcast_strides(&self, out: &Shape) -> Vec<usize> {
        let r = out.rank();
        let own = self.strides();
        (0..r)
            .map(|i| {
                if i + self.rank() < r {
                    0
                } else {
                    let j = i + self.rank() - r;
                    if self.0[j] == 1 && out.0[i] != 1 {
                        0
                    } else {
                        own[j]
                    }
                }
            })
            .collect()
    }
    /// Checks `axes` against the rank, removes duplicates and sorts them.
    pub fn normalize_axes(&self, op: &'static str, axes: &[usize]) -> Result<Vec<usize>> {
        let mut v = axes.to_vec();
        v.sort_unstable();
        v.dedup();
        if let Some(&a) = v.iter().find(|&&a| a >= self.rank()) {
            return shape_err(op, format!("axis {a} out of range for shape {self}"));
        }
        Ok(v)
    }
    /// The shape after reducing `axes` with keepdim (reduced sizes become 1).
    pub fn reduced_keepdim(&self, axes: &[usize]) -> Shape {
        let mut d = self.0.clone();
        for &a in axes {
            d[a] = 1;
        }
        Shape(d)
    }
    /// The shape after removing `axes`.
    pub fn reduced_squeezed(&self, axes: &[usize]) -> Shape {
        Shape(
            self.0
                .iter()
                .enumerate()
                .filter(|(i, _)| !axes.contains(i))
                .map(|(_, &d)| d)
                .collect(),
        )
    }
}
