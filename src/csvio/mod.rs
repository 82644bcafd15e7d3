//! Splunk's CSV: chunk bodies read as spans of their bytes.

pub mod read;
