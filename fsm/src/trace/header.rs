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

/// `facepay-fsm <version>` of this build, as written in [`TraceHeader::library`].
pub const LIBRARY: &str = concat!("facepay-fsm ", env!("CARGO_PKG_VERSION"));

/// The git commit this build was made from (short hash; empty when built without git),
/// as written in [`TraceHeader::commit`].
pub const COMMIT: &str = env!("FACEPAY_GIT_COMMIT");

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
    /// The git commit the writer was built from (absent in old traces, empty when built
    /// without git): replay prints it when it differs from its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// This session's name, unique on its terminal (the device uses its file name):
    /// what a later session's [`TraceHeader::continues`] refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// For a session resumed after a power loss: the [`TraceHeader::session`] of the one
    /// it continues, so support can follow an order across boots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continues: Option<String>,
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
            library: LIBRARY.to_string(),
            commit: Some(COMMIT.to_string()),
            session: None,
            continues: None,
            redaction: Redaction::default(),
            policy,
            terminal,
            resume: None,
        }
    }

    /// The same header, naming this session `session` (see [`TraceHeader::session`]).
    #[must_use]
    pub fn named(mut self, session: impl Into<String>) -> Self {
        self.session = Some(session.into());
        self
    }

    /// The same header, continuing the session named `previous`.
    #[must_use]
    pub fn continuing(mut self, previous: impl Into<String>) -> Self {
        self.continues = Some(previous.into());
        self
    }

    /// How this header's writer differs from this build, if it does: `None` when the
    /// library is the same and the commit is the same or unknown on either side.
    pub fn writer_differs(&self) -> Option<String> {
        let theirs = self.commit.as_deref().filter(|c| !c.is_empty());
        let ours = Some(COMMIT).filter(|c| !c.is_empty());
        let commit_differs = matches!((theirs, ours), (Some(a), Some(b)) if a != b);
        if self.library == LIBRARY && !commit_differs {
            return None;
        }
        let show = |lib: &str, commit: Option<&str>| match commit {
            Some(c) => std::format!("{lib} ({c})"),
            None => std::format!("{lib} (commit unknown)"),
        };
        Some(std::format!(
            "written by {}, replayed by {}",
            show(&self.library, theirs),
            show(LIBRARY, ours)
        ))
    }

    /// The same header for a session resumed from `journal` at `at`.
    pub fn resumed(mut self, at: Instant, journal: &[u8]) -> Self {
        self.resume = Some(TraceResume::new(at, journal));
        self
    }
}
