//! `winrmdetect`: a Splunk chunked (SCP v2) search command that labels
//! WinRM / PowerShell-remoting / winrs / WMI lateral-movement events and
//! scores them for risk-based alerting.
//!
//! # Map
//!
//! One folder per layer; imports point down only (`framing` knows nothing
//! of detection, `detect` nothing of CSV, `evtx` nothing of either).
//!
//! ```text
//!   scp/  (frame, request, session, options)   cli/ (args, scan, hunt, input,  modinput/
//!                                               jsonl, pipeline, filter,
//!                                               progress, report, html)
//!      \________________  ________________________/    |                     |
//!                       chunk/    one row loop over sinks   |                     |
//!                      /  |  \                              |                     |
//!            correlate/   |   conf      (winrmdetect.conf)   |                     |
//!                      \  |  /  appconf (savedsearches, macros: from the rule table)
//!                      \  |  /                               |                     |
//!                       detect/   rules/{winrm,wmi,lateral}, ctx, finding, message, psmodule, targets
//!                         |                                                        |
//!               csvio/ → event/   Event, Schema, kind, pairs, raw_xml              |
//!                                                                       evtx/  ←───┘
//! ```
//!
//! Per event: [`scp::frame`] → [`scp::session`] → [`chunk`] (row loop) →
//! [`csvio::read`] → [`event::RowEvent`] → [`detect::Engine`] (rules on a
//! [`detect::ctx::Ctx`]) → a [`detect::Detection`] → the reply sink →
//! [`csvio::write`] → [`scp::frame`].
//! Correlation: the evidence sink hands each row's typed
//! [`detect::Finding`] to the [`correlate::Correlator`], which links the
//! evidence into hops and chains at the end; [`chunk`] writes them.
//!
//! * [`scp`]: frames (`read_chunk` / `write_chunk`), typed getinfo/execute
//!   requests, the session loop (generic over reader and writer, one error
//!   path, panics contained) and the search arguments.
//! * [`chunk`]: one CSV chunk in, one out, rows copied byte for byte; the
//!   sinks (reply CSV, map-phase filter, correlation evidence), the CIM
//!   fields of a detection, and the hop and annotated-event bodies.
//! * [`csvio`]: Splunk CSV: rows as spans of the body, and the one writer of
//!   fields, `__mv_` companions and headers.
//! * [`event`]: the borrowed field view ([`event::Event`]), the per-chunk
//!   [`event::Schema`], event kinds, pair events and the `_raw` XML fallback.
//! * [`detect`]: the rule table ([`detect::rules`], one entry per rule), the
//!   engine that scores and fills the RBA fields, typed meaning
//!   ([`detect::finding`]), risk messages, hosts in strings.
//! * [`conf`]: `winrmdetect.conf` overrides (default/ then local/).
//! * [`appconf`]: the app's generated `savedsearches.conf` (typed search
//!   plans: pre-filters from the rules' event classes, the risk model) and
//!   `macros.conf`.
//! * [`correlate`]: evidence ([`correlate::Evidence`]: what it claims, an
//!   execution of a technique or a corroborating connection or logon),
//!   linking into hops (one needs execution evidence at one end), hops into
//!   chains, known hosts and accounts ([`correlate::known`]).
//! * [`evtx`]: EVTX records rendered as the Windows add-on renders them
//!   (their fields collected on the way, records peeked at before).
//! * [`modinput`]: the `evtx_input` modular input.
//! * [`cli`]: the program entry: the search command, `scan`, `hunt` (inputs
//!   found and opened, read in parallel, correlated, filtered, reported as
//!   tables, JSON lines, CSV files, HTML and DOT).
//! * [`error`]: the one error type.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod appconf;
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
