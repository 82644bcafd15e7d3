//! The library's one error type.
//!
//! Every failure the command can meet is a variant here, with enough context
//! (which chunk, which byte count, which argument) for the message shown in
//! Splunk's UI to be actionable on its own.

use std::io;

/// Result alias used throughout the library.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading from or writing to the pipe failed.
    #[error("I/O error while {context}: {source}")]
    Io {
        /// What we were doing.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The input ended in the middle of a frame.
    #[error("input ended inside a chunk ({0})")]
    Truncated(&'static str),
    /// The `chunked 1.0,M,B` header line is malformed.
    #[error("malformed chunk header {0:?}: expected 'chunked 1.0,<metadata bytes>,<body bytes>'")]
    BadHeader(String),
    /// A length in the header is larger than we accept.
    #[error("chunk {what} length {len} exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Which length.
        what: &'static str,
        /// The declared length.
        len: u64,
        /// Our limit.
        limit: u64,
    },
    /// The metadata is not JSON at all.
    #[error("malformed chunk metadata: invalid JSON: {0}")]
    MetadataJson(#[source] serde_json::Error),
    /// The metadata is JSON, but not an object of the expected shape.
    #[error("malformed chunk metadata: {what}")]
    BadMetadata {
        /// What is wrong, as the user is told.
        what: &'static str,
        /// serde's account of it, when serde found it.
        #[source]
        source: Option<serde_json::Error>,
    },
    /// An execute chunk came before getinfo, or similar.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A CSV body could not be read (or written): where, and the `csv`
    /// crate's error, which names the record, line and byte.
    #[error("malformed CSV body ({context}): {source}")]
    CsvBody {
        /// The file, or what we were writing.
        context: String,
        /// The underlying error.
        #[source]
        source: csv::Error,
    },
    /// A labelled row of a CSV body is not text, so it cannot be reported.
    #[error("malformed CSV body ({context}): {source}")]
    CsvText {
        /// The file, row and field.
        context: String,
        /// The underlying error.
        #[source]
        source: std::str::Utf8Error,
    },
    /// A file could not be read (the path is in the context).
    #[error("{context}: {source}")]
    File {
        /// What we were doing, with the path.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// An EVTX file could not be read as one.
    #[error("{}: {source}", .path.display())]
    Evtx {
        /// The file.
        path: std::path::PathBuf,
        /// What the `evtx` crate said.
        #[source]
        source: Box<evtx::err::EvtxError>,
    },
    /// One record of an EVTX file could not be rendered.
    #[error("{}: record {record_id}: {source}", .path.display())]
    EvtxRecord {
        /// The file.
        path: std::path::PathBuf,
        /// The record's `EventRecordID`.
        record_id: u64,
        /// What went wrong: the `evtx` crate's error, or the XML's.
        #[source]
        source: Box<crate::evtx::RecordError>,
    },
    /// A file that should be EVTX does not start as one.
    #[error("{}: not an EVTX file", .path.display())]
    NotEvtx {
        /// The file.
        path: std::path::PathBuf,
    },
    /// The modular input's configuration is invalid.
    #[error("{0}")]
    Input(String),
    /// A search-command argument was unknown or had a bad value.
    #[error("{0}")]
    Argument(String),
    /// The rule configuration (winrmdetect.conf) is invalid.
    #[error("{file}: line {line}: {message}")]
    Config {
        /// The file.
        file: String,
        /// One-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// Wraps an I/O error with what we were doing.
    pub fn io(context: &'static str, source: io::Error) -> Self {
        Error::Io { context, source }
    }

    /// True when the error only means that the peer went away (stdin closed,
    /// stdout a broken pipe): splunkd does that on cancel or `| head`, and it
    /// is a normal end for the command.
    pub fn is_peer_gone(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}
