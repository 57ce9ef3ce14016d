//! conv2d, conv_transpose2d and the two conv2d gradients, as three ops that differentiate
//! into each other: each is linear in each argument, so the set is closed under backward
//! and supports gradients of any order.

use crate::error::{shape_err, Result};
use crate::geometry::Conv2dGeometry;
use crate::shape::Shape;
use crate::tensor::Tensor;

fn conv_forward(x: &Tensor, w: &Tensor, g: Conv2dGeometry) -> Result<Tensor> {
    x.same_device("conv2d", w)?;
    let s = x.storage().conv2d(&w.storage(), &g)?;
    let out = Shape::from(vec![g.n, g.c_out, g.oh, g.ow]);
    Ok(Tensor::from_op(
        s,
        out,
        "conv2d",
        &[x, w],
        move |gy, _, inp, needs| {
            Ok(vec![
                needs[0]
                    .then(|| backward_data(gy, &inp[1], g))
                    .transpose()?,
                needs[1]
                    .then(|| backward_weight(&inp[0], gy, g))
                    .transpose()?,
            ])
        },
    ))
}

fn backward_data(dy: &Tensor, w: &Tensor, g: Conv2dGeometry) -> Result<Tensor> {
    dy.same_device("conv2d_backward_data", w)?;
    let s = dy.storage().conv2d_backward_data(&w.storage(), &g)?;
    let out = Shape::from(vec![g.n, g.c_in, g.h, g.w]);
    Ok(Tensor::from_op(
        s,
        out,
        "conv2d_backward_data",
        &[dy, w],
        move |gx, _, inp, needs| {
            Ok(vec![
                needs[0].then(|| conv_forward(gx, &inp[1], g)).transpose()?,
                needs[1]
                    .then(|| backward_weight(gx, &inp[0], g))
                    .transpose()?,
            ])
        },
    ))
}

fn backward_weight(x: &Tensor, dy: &Tensor, g: Conv2dGeometry) -> Result<Tensor> {
    x.same_device("conv2d_backward_weight", dy)?;
    let s = x.storage().conv2d_backward_weight(&dy.storage(), &g)?;
    let out = Shape::from(vec![g.c_out, g.c_in, g.kh, g.kw]);
    Ok(Tensor::from_op(
        s,
        out,
        "conv2d_backward_weight",
        &[x, dy],
        move |gw, _, inp, needs| {
            Ok(vec![
                needs[0]
                    .then(|| backward_data(&inp[1], gw, g))
                    .transpose()?,
                needs[1].then(|| conv_forward(&inp[0], gw, g)).transpose()?,
            ])
        },
    ))
}

fn check4(op: &'static str, what: &str, t: &Tensor) -> Result<()> {
    if t.rank() != 4 {
        return shape_err(op, format!("{what} must be 4-D, got {}", t.shape()));
    }
    Ok(())
}

fn add_bias(y: Tensor, bias: Option<&Tensor>, op: &'static str) -> Result<Tensor> {
    match bias {
        None => Ok(y),
        Some(b) => {
            if b.dims() != [y.dims()[1]] {
                return shape_err(
                    op,
                    format!("bias {} for {} output channels", b.shape(), y.dims()[1]),
                );
            }
            y.add(&b.reshape(vec![1, y.dims()[1], 1, 1])?)
        }
    }
}

impl Tensor {
    /// 2-D convolution (cross-correlation) of x `[N, C_in, H, W]` with w `[C_out, C_in, kh, kw]`.
    pub fn conv2d(
        &self,
        w: &Tensor,
        bias: Option<&Tensor>,
        stride: usize,
        padding: usize,
    ) -> Result<Tensor> {
        check4("conv2d", "input", self)?;
        check4("conv2d", "weight", w)?;
        let (x, k) = (self.dims(), w.dims());
        if x[1] != k[1] {
            return shape_err(
                "conv2d",
                format!(
                    "input {} has {} channels but weight {} expects {}",
                    self.shape(),
                    x[1],
                    w.shape(),
                    k[1]
                ),
            );
        }
        let Some(g) = Conv2dGeometry::new(
            [x[0], x[1], x[2], x[3]],
            k[0],
            (k[2], k[3]),
            (stride, stride),
            (padding, padding),
        ) else {
            return shape_err(
                "conv2d",
                format!(
                    "kernel {}x{} (stride {stride}, padding {padding}) does not fit input {}",
                    k[2],
                    k[3],
                    self.shape()
                ),
            );
        };
        add_bias(conv_forward(self, w, g)?, bias, "conv2d")
    }

    /// Transposed 2-D convolution of x `[N, C_in, H, W]` with w `[C_in, C_out, kh, kw]`
    /// (PyTorch's layout); output `(H-1)*stride - 2*padding + kh + output_padding`.
    pub fn conv_transpose2d(
        &self,
        w: &Tensor,
        bias: Option<&Tensor>,
        stride: usize,
        padding: usize,
        output_padding: usize,
    ) -> Result<Tensor> {
        check4("conv_transpose2d", "input", self)?;
        check4("conv_transpose2d", "weight", w)?;
        let (x, k) = (self.dims(), w.dims());
        if x[1] != k[0] {
            return shape_err(
                "conv_transpose2d",
                format!(
                    "input {} has {} channels but weight {} expects {}",
                    self.shape(),
                    x[1],
                    w.shape(),
                    k[0]
                ),
            );
        }
        if output_padding >= stride.max(1) {
            return shape_err(
                "conv_transpose2d",
                format!("output_padding {output_padding} must be smaller than stride {stride}"),
            );
        }
        let size = |i: usize, kk: usize| {
            (i as isize - 1) * stride as isize - 2 * padding as isize
                + kk as isize
                + output_padding as isize
        };
        let (oh, ow) = (size(x[2], k[2]), size(x[3], k[3]));
        let geom = if oh > 0 && ow > 0 {
            Conv2dGeometry::with_output_size(
                [x[0], k[1], oh as usize, ow as usize],
                k[0],
                (k[2], k[3]),
                (stride, stride),
                (padding, padding),
                (x[2], x[3]),
            )
        } else {
            None
        };
        let Some(g) = geom else {
            return shape_err("conv_transpose2d", format!("input {} with kernel {}x{}, stride {stride}, padding {padding}, output_padding {output_padding} gives no valid output", self.shape(), k[2], k[3]));
        };
        add_bias(backward_data(self, w, g)?, bias, "conv_transpose2d")
    }

    /// The gradient of conv2d with respect to its input: dy `[N, C_out, oh, ow]`, w, and the
    /// input's spatial size. Differentiable.
    pub fn conv2d_backward_data(
        &self,
        w: &Tensor,
        input_hw: (usize, usize),
        stride: usize,
        padding: usize,
    ) -> Result<Tensor> {
        check4("conv2d_backward_data", "dy", self)?;
        check4("conv2d_backward_data", "weight", w)?;
        let (d, k) = (self.dims(), w.dims());
        match Conv2dGeometry::with_output_size(
            [d[0], k[1], input_hw.0, input_hw.1],
            k[0],
            (k[2], k[3]),
            (stride, stride),
            (padding, padding),
            (d[2], d[3]),
        ) {
            Some(g) if d[1] == k[0] => backward_data(self, w, g),
            _ => shape_err(
                "conv2d_backward_data",
                format!(
                    "dy {} and weight {} do not match an input of {}x{}",
                    self.shape(),
                    w.shape(),
                    input_hw.0,
                    input_hw.1
                ),
            ),
        }
    }

    /// The gradient of conv2d with respect to its weight: x (self), dy, kernel size. Differentiable.
    pub fn conv2d_backward_weight(
        &self,
        dy: &Tensor,
        kernel_hw: (usize, usize),
        stride: usize,
        padding: usize,
    ) -> Result<Tensor> {
        check4("conv2d_backward_weight", "input", self)?;
        check4("conv2d_backward_weight", "dy", dy)?;
        let (x, d) = (self.dims(), dy.dims());
        match Conv2dGeometry::with_output_size(
            [x[0], x[1], x[2], x[3]],
            d[1],
            kernel_hw,
            (stride, stride),
            (padding, padding),
            (d[2], d[3]),
        ) {
            Some(g) if d[0] == x[0] => backward_weight(self, dy, g),
            _ => shape_err(
                "conv2d_backward_weight",
                format!(
                    "input {} and dy {} do not match a {}x{} kernel",
                    self.shape(),
                    dy.shape(),
                    kernel_hw.0,
                    kernel_hw.1
                ),
            ),
        }
    }
}
