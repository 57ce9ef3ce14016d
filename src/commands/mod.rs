//! The `vaecam` subcommands.

pub mod compare;
pub mod disentangle;
pub mod explain;
pub mod export_arch;
pub mod localize;
pub mod make_benchmark;
pub mod reconstruct;
pub mod train;
