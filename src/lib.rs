//! `winrmdetect`: a Splunk chunked (SCP v2) search command that labels
//! WinRM / PowerShell-remoting / winrs / WMI lateral-movement events and
//! scores them for risk-based alerting.
//!
//! # Architecture
//!
//! ```text
//!  stdin ──► framing ──► command ──► table ──► detect ──► rules ──► targets
//!            (frames)    (getinfo/   (CSV rows  (scoring,   (matchers   (hosts in
//!                         execute)    in/out)    RBA)        + examples) strings)
//!                                        │          ▲
//!                                        ▼          │
//!                                      event ◄── xml (fields from _raw)
//!                                      (field view; kind = channel + code)
//! ```
//!
//! * [`framing`]: `read_chunk` / `write_chunk`; knows nothing about detection.
//! * [`command`]: the protocol state machine, generic over reader and writer.
//! * [`options`]: search arguments (`alerts_only=`, `min_score=`, …).
//! * [`table`]: one CSV chunk in, one out; rows copied byte for byte.
//! * [`event`]: the borrowed field view ([`event::Event`]) and per-chunk
//!   [`event::Schema`]; [`xml`] is the `_raw` fallback; [`kind`] classifies.
//! * [`rules`]: the rule table with positive/negative examples.
//! * [`detect`]: runs the rules, scores, fills the RBA fields.
//! * [`config`]: `winrmdetect.conf` overrides (default/ then local/).
//! * [`correlate`]: source/destination evidence linked into hops and chains.
//! * [`rows`]: fast CSV records of a chunk body, as spans of it (the `csv`
//!   crate for anything irregular); long rows go from the request into the
//!   reply uncopied ([`table::ChunkOutput::parts`]).
//! * [`evtx`]: EVTX records rendered as the Windows add-on renders them;
//!   [`hunt`] runs detection and correlation over EVTX/CSV files;
//!   [`modinput`] is the `evtx_input` modular input.
//! * [`scan`], [`cli`]: the offline `scan` mode and the program entry.
//! * [`error`]: the one error type.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod command;
pub mod config;
pub mod correlate;
pub mod detect;
pub mod error;
pub mod event;
pub mod evtx;
pub mod framing;
pub mod hunt;
pub mod kind;
pub mod modinput;
pub mod options;
pub mod rows;
pub mod rules;
pub mod scan;
pub mod table;
pub mod targets;
pub mod xml;
