//! The first line of a trace: what format it is, which library wrote it, and the policy
//! the session ran under (replay builds its machine from it).

use std::string::{String, ToString};

use serde::{Deserialize, Serialize};

use super::redaction::Redaction;
use crate::policy::Policy;

/// The `format` value of every trace header.
pub const FORMAT_NAME: &str = "facepay-trace";

/// The format version this library writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// The header line. Unknown keys are ignored (a later v1 may add some). Build one with [`TraceHeader::new`]; [`super::TraceWriter::new`]
/// writes it (with the redaction in force) before any record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceHeader {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written by this library.
    pub version: u32,
    /// `facepay-fsm <version>` of the writer, for the reader's information only.
    pub library: String,
    /// Whether secrets were replaced by placeholders.
    #[serde(default)]
    pub redaction: Redaction,
    /// The policy in force: replay builds its machine from it.
    pub policy: Policy,
    /// Free-form terminal metadata (device model, firmware, SDK version, store...).
    #[serde(default)]
    pub terminal: serde_json::Map<String, serde_json::Value>,
}

impl TraceHeader {
    /// A v1 header for a session running under `policy`, with the host's own metadata.
    pub fn new(policy: Policy, terminal: serde_json::Map<String, serde_json::Value>) -> Self {
        TraceHeader {
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION,
            library: concat!("facepay-fsm ", env!("CARGO_PKG_VERSION")).to_string(),
            redaction: Redaction::default(),
            policy,
            terminal,
        }
    }
}
