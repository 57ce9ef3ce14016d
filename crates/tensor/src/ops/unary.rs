//! Elementwise unary ops and their derivatives.

use crate::backend::UnaryOp;
use crate::error::Result;
use crate::tensor::Tensor;

/// Applies `op` without recording it (derivative masks, constants).
pub(crate) fn unary_untracked(x: &Tensor, op: UnaryOp) -> Result<Tensor> {
    let s = x.storage().unary(op)?;
    Ok(Tensor::make(s, x.shape().clone(), None, false))
}

/// `dx = rule(grad_out, out, x)`.
type UnaryRule = fn(&Tensor, &Tensor, &Tensor) -> Result<Tensor>;

fn unary(x: &Tensor, op: UnaryOp, name: &'static str, rule: UnaryRule) -> Result<Tensor> {
    let s = x.storage().unary(op)?;
    Ok(Tensor::from_op(
        s,
        x.shape().clone(),
        name,
        &[x],
        move |g, out, inp, _| Ok(vec![Some(rule(g, out, &inp[0])?)]),
    ))
}

impl Tensor {
    /// -x
    pub fn neg(&self) -> Result<Tensor> {
        unary(self, UnaryOp::Neg, "neg", |g, _, _| g.neg())
    }
    /// e^x
    pub fn exp(&self) -> Result<Tensor> {
        unary(self, UnaryOp::Exp, "exp", |g, y, _| g.mul(y))
    }
    /// Natural logarithm.
    pub fn log(&self) -> Result<Tensor> {
        unary(self, UnaryOp::Log, "log", |g, _, x| g.div(x))
    }
    /// Square root.
    pub fn sqrt(&self) -> Result<Tensor> {
        unary(self, UnaryOp::Sqrt, "sqrt", |g, y, _| {
            g.div(y)?.mul_scalar(0.5)
        })
    }
    /// |x| (derivative sign(x), 0 at 0).
    pub fn abs(&self) -> Result<Tensor> {
        unary(self, UnaryOp::Abs, "abs", |g, _, x| {
            g.mul(&unary_untracked(x, UnaryOp::Sign)?)
        })
    }
    /// sign(x) in {-1, 0, 1}; not differentiable (zero gradient).
    pub fn sign(&self) -> Result<Tensor> {
        unary_untracked(self, UnaryOp::Sign)
    }
    /// max(x, 0)
    pub fn relu(&self) -> Result<Tensor> {
        unary(self, UnaryOp::Relu, "relu", |g, _, x| {
            g.mul(&unary_untracked(x, UnaryOp::Step)?)
        })
    }
    /// x for x > 0, else `slope * x`.
    pub fn leaky_relu(&self, slope: f32) -> Result<Tensor> {
        let s = self.storage().unary(UnaryOp::LeakyRelu(slope))?;
        Ok(Tensor::from_op(
            s,
            self.shape().clone(),
            "leaky_relu",
            &[self],
            move |g, _, inp, _| {
                Ok(vec![Some(g.mul(&unary_untracked(
                    &inp[0],
                    UnaryOp::LeakyReluGrad(slope),
                )?)?)])
            },
        ))
    }
    /// The logistic sigmoid.
    pub fn sigmoid(&self) -> Result<Tensor> {
        // dy/dx = y (1 - y), written through y so that second derivatives flow through y too.
        unary(self, UnaryOp::Sigmoid, "sigmoid", |g, y, _| {
            g.mul(&y.mul(&y.affine(-1.0, 1.0)?)?)
        })
    }
    /// Hyperbolic tangent.
    pub fn tanh(&self) -> Result<Tensor> {
        unary(self, UnaryOp::Tanh, "tanh", |g, y, _| {
            g.mul(&y.mul(y)?.affine(-1.0, 1.0)?)
        })
    }
    /// ln(1 + e^x), stable for large |x|.
    pub fn softplus(&self) -> Result<Tensor> {
        unary(self, UnaryOp::Softplus, "softplus", |g, _, x| {
            g.mul(&x.sigmoid()?)
        })
    }
    /// Clamps into [lo, hi] (gradient 1 inside, 0 outside).
    pub fn clamp(&self, lo: f32, hi: f32) -> Result<Tensor> {
        let s = self.storage().unary(UnaryOp::Clamp(lo, hi))?;
        Ok(Tensor::from_op(
            s,
            self.shape().clone(),
            "clamp",
            &[self],
            move |g, _, inp, _| {
                Ok(vec![Some(g.mul(&unary_untracked(
                    &inp[0],
                    UnaryOp::ClampMask(lo, hi),
                )?)?)])
            },
        ))
    }
    /// x^p for a constant p.
    pub fn powf(&self, p: f32) -> Result<Tensor> {
        let s = self.storage().unary(UnaryOp::Powf(p))?;
        Ok(Tensor::from_op(
            s,
            self.shape().clone(),
            "powf",
            &[self],
            move |g, _, inp, _| {
                let d = if p == 2.0 {
                    inp[0].mul_scalar(2.0)?
                } else {
                    inp[0].powf(p - 1.0)?.mul_scalar(p)?
                };
                Ok(vec![Some(g.mul(&d)?)])
            },
        ))
    }
    /// x * x
    pub fn square(&self) -> Result<Tensor> {
        self.powf(2.0)
    }
    /// a * x + b for constants a, b.
    pub fn affine(&self, a: f32, b: f32) -> Result<Tensor> {
        let s = self.storage().unary(UnaryOp::Affine(a, b))?;
        Ok(Tensor::from_op(
            s,
            self.shape().clone(),
            "affine",
            &[self],
            move |g, _, _, _| Ok(vec![Some(g.mul_scalar(a)?)]),
        ))
    }
    /// x * c
    pub fn mul_scalar(&self, c: f32) -> Result<Tensor> {
        self.affine(c, 0.0)
    }
    /// x + c
    pub fn add_scalar(&self, c: f32) -> Result<Tensor> {
        self.affine(1.0, c)
    }
    /// 1 / x
    pub fn recip(&self) -> Result<Tensor> {
        unary(self, UnaryOp::Recip, "recip", |g, y, _| {
            g.mul(&y.mul(y)?)?.neg()
        })
    }
}
