//! Tensor ops. Each file holds one op family: forward (validate shapes, call the backend) and
//! backward (written with differentiable ops, so gradients can be differentiated again).

pub mod binary;
pub mod conv;
pub mod layout;
pub mod loss;
pub mod matmul;
pub mod pool;
pub mod reduce;
pub mod unary;

pub use loss::Reduction;
