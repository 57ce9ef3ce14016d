//! The pipelines behind the commands: what `explain`, `localize` and `disentangle` compute,
//! independent of flag parsing and of how results are written.

pub mod ad;
pub mod category;
pub mod disentangle;
pub mod localize;
pub mod maps;
pub mod model_source;
pub mod oneclass;
pub mod training;
