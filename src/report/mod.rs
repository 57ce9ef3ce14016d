//! Everything that turns results into files a person reads: pictures, plots, tables, the
//! HTML report.

pub mod html;
pub mod npy;
pub mod panels;
pub mod pictures;
pub mod plot;
pub mod tables;
