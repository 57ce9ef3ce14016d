//! # vaecam
//!
//! Visually explaining variational autoencoders (Liu et al., CVPR 2020) on an engine of its
//! own. This root crate holds the command-line tool (`commands`: flag parsing and one call
//! each), the pipelines that combine the engine (`vaecam-tensor`), the models (`vaecam-vae`)
//! and the data (`vaecam-data`), and the reports that write results for people to read.

#![warn(missing_docs)]

pub mod commands;
pub mod error;
pub mod pipelines;
pub mod report;
pub mod run_folder;
pub mod settings;
pub mod source;
pub mod spec;

pub use error::{Error, Result};
