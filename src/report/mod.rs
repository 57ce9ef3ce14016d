//! Everything that turns results into files a person reads: pictures, plots, tables.

pub mod npy;
pub mod pictures;
pub mod plot;
