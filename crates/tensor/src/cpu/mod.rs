pub mod conv;
pub mod gemm;
