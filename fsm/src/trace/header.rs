//! The first line of a trace: what format it is, which library wrote it, and the policy
//! the session ran under (replay builds its machine from it).

use std::string::{String, ToString};
use std::vec::Vec;

use serde::{Deserialize, Serialize};

use super::redaction::Redaction;
use crate::policy::Policy;
use crate::time::Instant;

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
    /// Present when the session was resumed from a power-loss journal rather than started
    /// fresh: replay resumes its machine from the same bytes at the same time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<TraceResume>,
}

/// How a resumed session began: `Session::resume_from_bytes(policy, journal, at)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceResume {
    /// The time passed to `resume_from_bytes`.
    pub at: Instant,
    /// The stored journal bytes, lowercase hex (even when damaged: replay must see what
    /// the terminal saw).
    pub journal: String,
}

impl TraceResume {
    /// Records a resume from `journal` at `at`.
    pub fn new(at: Instant, journal: &[u8]) -> Self {
        use core::fmt::Write;
        let mut hex = String::with_capacity(journal.len() * 2);
        for b in journal {
            let _ = write!(hex, "{b:02x}");
        }
        TraceResume { at, journal: hex }
    }

    /// The journal bytes, or `None` if `journal` is not even-length hex.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        let s = self.journal.as_bytes();
        if !s.len().is_multiple_of(2) {
            return None;
        }
        s.chunks(2)
            .map(|pair| {
                let digit = |c: u8| (c as char).to_digit(16);
                let (hi, lo) = match pair {
                    [h, l] => (digit(*h)?, digit(*l)?),
                    _ => return None,
                };
                u8::try_from(hi * 16 + lo).ok()
            })
            .collect()
    }
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
            resume: None,
        }
    }

    /// The same header for a session resumed from `journal` at `at`.
    pub fn resumed(mut self, at: Instant, journal: &[u8]) -> Self {
        self.resume = Some(TraceResume::new(at, journal));
        self
    }
}
