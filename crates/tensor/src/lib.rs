//! # vaecam-tensor
//!
//! vaecam's engine: f32 tensors on a device, reverse-mode autograd with gradients of any
//! order and of intermediate tensors, neural-network layers, optimizers and safetensors
//! checkpoints.
//!
//! ```
//! use vaecam_tensor::{grad, Device, Tensor};
//! # fn main() -> vaecam_tensor::Result<()> {
//! let dev = Device::cpu();
//! let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], [3], &dev)?.requires_grad_();
//! let y = x.square()?.sum_all()?; // y = sum x^2
//! let dx = grad(&[y], &[x.clone()], None, true)?; // dy/dx = 2x, recorded
//! let ddx = grad(&[dx[0].sum_all()?], &[x], None, false)?; // d/dx sum 2x = 2
//! assert_eq!(ddx[0].to_vec()?, vec![2.0, 2.0, 2.0]);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod autograd;
pub mod backend;
pub mod cpu;
pub mod device;
pub mod error;
pub mod geometry;
pub mod gpu;
pub mod io;
pub mod kernels;
pub mod nn;
pub mod op_table;
pub mod ops;
pub mod optim;
pub mod rng;
pub mod shape;
pub mod tensor;

pub use autograd::{
    backward, backward_for, grad, is_grad_enabled, no_grad, set_grad_enabled, Gradients,
};
pub use device::Device;
pub use error::{Error, Result};
pub use ops::Reduction;
pub use shape::Shape;
pub use tensor::{Tensor, TensorId};
