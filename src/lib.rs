//! # vaecam
//!
//! Visually explaining variational autoencoders (Liu et al., CVPR 2020) on an engine of its
//! own. This root crate holds the command-line tool and the pipelines that combine the
//! engine (`vaecam-tensor`), the models (`vaecam-vae`) and the data (`vaecam-data`).

#![warn(missing_docs)]

pub mod ad;
pub mod commands;
pub mod disentangle;
pub mod error;
pub mod localize;
pub mod oneclass;
pub mod pictures;
pub mod plot;
pub mod source;
pub mod spec;

pub use error::{Error, Result};
