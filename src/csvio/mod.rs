//! Splunk's CSV: chunk bodies read as spans of their bytes ([`read`]), and
//! fields, `__mv_` companions and headers written ([`mod@write`]).

pub mod read;
pub mod write;
