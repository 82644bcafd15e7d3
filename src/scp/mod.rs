//! Splunk's chunked search-command protocol (SCP v2): frames, the search
//! arguments, the typed request and reply metadata and the getinfo/execute
//! session.

pub mod frame;
pub mod options;
pub mod request;
pub mod session;
