//! Splunk's chunked search-command protocol (SCP v2): frames, the search
//! arguments and the getinfo/execute session.

pub mod frame;
pub mod options;
pub mod session;
