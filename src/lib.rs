//! `winrmdetect`: a Splunk chunked (SCP v2) search command that labels
//! WinRM / PowerShell-remoting / winrs / WMI lateral-movement events and
//! scores them for risk-based alerting.
//!
//! # Map
//!
//! Folders are layers; imports point down the list only.
//!
//! ```text
//!  cli/ (scan, hunt)   modinput/   scp/ (frame, options, session)
//!          \              |          /
//!           +------------ chunk/ ---+        one CSV chunk in, one out
//!                        /      \
//!                 detect/     correlate/    rules → detections → hops
//!                 (rules/, targets)
//!                        \      /
//!                         event/            the field view, kinds, _raw XML
//!                           |
//!                        csvio/  evtx/      Splunk CSV; EVTX records
//! ```
//!
//! * [`scp`]: frames (`read_chunk` / `write_chunk`, knowing nothing about
//!   detection), the search arguments and the getinfo/execute session,
//!   generic over reader and writer.
//! * [`chunk`]: one CSV chunk in, one out; rows copied byte for byte.
//! * [`csvio`]: fast CSV records of a chunk body, as spans of it (the `csv`
//!   crate for anything irregular).
//! * [`event`]: the borrowed field view ([`event::Event`]), the per-chunk
//!   [`event::Schema`], event kinds and the `_raw` XML fallback.
//! * [`detect`]: the rule table with its examples ([`detect::rules`]), the
//!   engine that scores and fills the RBA fields, hosts in strings.
//! * [`conf`]: `winrmdetect.conf` overrides (default/ then local/).
//! * [`correlate`]: source/destination evidence linked into hops and chains.
//! * [`evtx`]: EVTX records rendered as the Windows add-on renders them.
//! * [`modinput`]: the `evtx_input` modular input.
//! * [`cli`]: the program entry, the offline `scan` and `hunt`.
//! * [`error`]: the one error type.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod chunk;
pub mod cli;
pub mod conf;
pub mod correlate;
pub mod csvio;
pub mod detect;
pub mod error;
pub mod event;
pub mod evtx;
pub mod modinput;
pub mod scp;
