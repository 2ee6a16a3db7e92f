//! The power-loss journal: a small fixed-size record of an order whose money may be moving.
//!
//! From the submit until the conclusion the machine emits [`crate::Command::Persist`] with a
//! [`JournalRecord`]. The host must write it durably (fsync, or an atomically replaced
//! file) **before** executing the next command, so that a terminal killed at any moment
//! restarts knowing which order to query and reverse, and never submits it again. A record
//! with phase [`JournalPhase::Concluded`] means the journal may be cleared.
//!
//! Two encodings, both stable and versioned (docs/journal-format.md): the serde form
//! (feature `serde`) and a fixed 64-byte binary form with a CRC-32 ([`JournalRecord::encode`],
//! [`JournalRecord::decode`]) for hosts with a raw flash sector and no serializer.

use core::fmt;

use crate::command::{Outcome, PayApi};
use crate::text::{Field, OutTradeNo};

/// The version this library writes.
pub const JOURNAL_VERSION: u8 = 1;

/// The size of the binary form, in bytes.
pub const JOURNAL_BYTES: usize = 64;

const MAGIC: [u8; 4] = *b"FPJR";
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// How far the order had got when the record was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum JournalPhase {
    /// The submit is about to be sent (or was sent): its answer is unknown.
    Submitting,
    /// The answer was ambiguous; the order is being queried.
    Querying,
    /// The order is being reversed.
    Reversing,
    /// The order concluded; the journal may be cleared.
    Concluded(Outcome),
}

/// What the host keeps across a power loss for the one order that may be settling.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct JournalRecord {
    /// The format version ([`JOURNAL_VERSION`]).
    pub version: u8,
    /// The order.
    pub out_trade_no: OutTradeNo,
    /// Which API family settles it (micropay/orderquery/reverse or the facepay ones).
    pub api: PayApi,
    /// `total_fee` in fen.
    pub total_fee: u32,
    /// How far it got.
    pub phase: JournalPhase,
    /// Milliseconds since the submit when the record was written: the part of the query
    /// budget already spent. The downtime is not known, so a resumed order counts from here
    /// (it queries a little longer and reverses a little later, never earlier).
    pub elapsed_ms: u32,
    /// Queries sent so far.
    pub queries: u8,
    /// Reverse calls sent so far (the reverse budget continues from here).
    pub reverse_attempts: u8,
}

/// Why a stored record cannot be used as it is. The caller must still resume: see
/// `Session::resume_from_bytes`, which treats the order as ambiguous when it can read the
/// out_trade_no, and reports it for reconciliation when it cannot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JournalError {
    /// Fewer than [`JOURNAL_BYTES`] bytes.
    TooShort {
        /// Bytes present.
        len: usize,
    },
    /// The first four bytes are not `FPJR`: not a journal record.
    BadMagic,
    /// Written by a newer library.
    FutureVersion(u8),
    /// The CRC does not match: the record was torn or the storage is damaged.
    Corrupt,
    /// A field holds a value no writer produces.
    Malformed(Field),
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JournalError::TooShort { len } => write!(f, "journal record is {len} bytes, expected {JOURNAL_BYTES}"),
            JournalError::BadMagic => f.write_str("not a facepay journal record (bad magic)"),
            JournalError::FutureVersion(v) => {
                write!(
                    f,
                    "journal record version {v} is newer than this library's {JOURNAL_VERSION}"
                )
            }
            JournalError::Corrupt => f.write_str("journal record checksum mismatch (torn write or damaged storage)"),
            JournalError::Malformed(field) => write!(f, "journal record field `{field}` is malformed"),
        }
    }
}

impl core::error::Error for JournalError {}

impl JournalRecord {
    /// The record a damaged journal is resumed from when its out_trade_no still reads
    /// ([`JournalRecord::salvage`]): the order is ambiguous, queried from the start of the
    /// budget. Its `total_fee` is 0 (unknown; no order is taken for 0 fen), which marks it
    /// salvaged in every record the resumed session writes ([`JournalRecord::is_salvaged`]).
    pub fn salvaged(out_trade_no: OutTradeNo, api: PayApi) -> JournalRecord {
        JournalRecord {
            version: JOURNAL_VERSION,
            out_trade_no,
            api,
            total_fee: 0,
            phase: JournalPhase::Querying,
            elapsed_ms: 0,
            queries: 0,
            reverse_attempts: 0,
        }
    }

    /// True for a record salvaged from a damaged one (`total_fee` 0), or written by a
    /// session resumed from one. Its order may have concluded Paid, and the goods been
    /// handed over, before the damage, or had a reverse sent: it never concludes Paid,
    /// and is reversed only after a query showed it not yet paid. Otherwise it concludes
    /// NeedsReconciliation (`Reason::JournalDamaged`).
    #[must_use]
    pub fn is_salvaged(&self) -> bool {
        self.total_fee == 0
    }

    /// True when the order concluded and the journal may be cleared.
    pub fn is_concluded(&self) -> bool {
        matches!(self.phase, JournalPhase::Concluded(_))
    }

    /// Checks what the serde form cannot: the version and a non-empty out_trade_no.
    pub fn check(&self) -> Result<(), JournalError> {
        if self.version > JOURNAL_VERSION {
            return Err(JournalError::FutureVersion(self.version));
        }
        if self.out_trade_no.is_empty() {
            return Err(JournalError::Malformed(Field::OutTradeNo));
        }
        Ok(())
    }

    /// The fixed 64-byte form: `FPJR`, version, phase, outcome, api, total_fee (LE u32),
    /// elapsed_ms (LE u32), queries, reverse_attempts, out_trade_no length and 32 bytes,
    /// 9 reserved zero bytes, CRC-32 (ISO-HDLC, LE) of the first 60 bytes.
    pub fn encode(&self) -> [u8; JOURNAL_BYTES] {
        let mut b = [0u8; JOURNAL_BYTES];
        let (phase, outcome) = match self.phase {
            JournalPhase::Submitting => (0, 0xFF),
            JournalPhase::Querying => (1, 0xFF),
            JournalPhase::Reversing => (2, 0xFF),
            JournalPhase::Concluded(o) => (3, outcome_byte(o)),
        };
        let otn = self.out_trade_no.as_bytes();
        let head = [
            MAGIC[0],
            MAGIC[1],
            MAGIC[2],
            MAGIC[3],
            self.version,
            phase,
            outcome,
            match self.api {
                PayApi::Micropay => 0,
                PayApi::Facepay => 1,
            },
        ];
        let counts = [
            self.queries,
            self.reverse_attempts,
            u8::try_from(otn.len()).unwrap_or(u8::MAX),
        ];
        let fields = head
            .into_iter()
            .chain(self.total_fee.to_le_bytes())
            .chain(self.elapsed_ms.to_le_bytes())
            .chain(counts)
            .chain(otn.iter().copied());
        for (slot, byte) in b.iter_mut().zip(fields) {
            *slot = byte;
        }
        let (body, tail) = b.split_at_mut(JOURNAL_BYTES - 4);
        tail.copy_from_slice(&CRC.checksum(body).to_le_bytes());
        b
    }

    /// Reads the binary form. Every failure is typed; nothing panics.
    pub fn decode(bytes: &[u8]) -> Result<JournalRecord, JournalError> {
        let b: &[u8; JOURNAL_BYTES] = bytes
            .get(..JOURNAL_BYTES)
            .and_then(|s| s.try_into().ok())
            .ok_or(JournalError::TooShort { len: bytes.len() })?;
        let [
            m0,
            m1,
            m2,
            m3,
            version,
            phase,
            outcome,
            api,
            f0,
            f1,
            f2,
            f3,
            e0,
            e1,
            e2,
            e3,
            queries,
            reverse_attempts,
            otn_len,
            rest @ ..,
        ] = *b;
        if [m0, m1, m2, m3] != MAGIC {
            return Err(JournalError::BadMagic);
        }
        if version > JOURNAL_VERSION {
            return Err(JournalError::FutureVersion(version));
        }
        let (body, tail) = b.split_at(JOURNAL_BYTES - 4);
        if tail != CRC.checksum(body).to_le_bytes() {
            return Err(JournalError::Corrupt);
        }
        let out_trade_no = read_out_trade_no(otn_len, &rest)?;
        let phase = match (phase, outcome) {
            (0, _) => JournalPhase::Submitting,
            (1, _) => JournalPhase::Querying,
            (2, _) => JournalPhase::Reversing,
            (3, o) => JournalPhase::Concluded(outcome_from_byte(o).ok_or(JournalError::Malformed(Field::TradeState))?),
            _ => return Err(JournalError::Malformed(Field::TradeState)),
        };
        let api = match api {
            0 => PayApi::Micropay,
            1 => PayApi::Facepay,
            _ => return Err(JournalError::Malformed(Field::FaceCodeType)),
        };
        Ok(JournalRecord {
            version,
            out_trade_no,
            api,
            total_fee: u32::from_le_bytes([f0, f1, f2, f3]),
            phase,
            elapsed_ms: u32::from_le_bytes([e0, e1, e2, e3]),
            queries,
            reverse_attempts,
        })
    }

    /// The out_trade_no and API of a record that fails [`JournalRecord::decode`] for its
    /// checksum or version, when those two fields still read cleanly: enough to query and
    /// reverse the order rather than forget it.
    pub fn salvage(bytes: &[u8]) -> Option<(OutTradeNo, PayApi)> {
        let magic = bytes.get(..4)?;
        if magic != MAGIC {
            return None;
        }
        let api = match bytes.get(7)? {
            1 => PayApi::Facepay,
            _ => PayApi::Micropay,
        };
        let len = *bytes.get(18)?;
        let rest = bytes.get(19..51)?;
        read_out_trade_no(len, rest).ok().map(|o| (o, api))
    }
}

fn read_out_trade_no(len: u8, bytes: &[u8]) -> Result<OutTradeNo, JournalError> {
    let malformed = JournalError::Malformed(Field::OutTradeNo);
    let raw = bytes.get(..usize::from(len)).ok_or(malformed)?;
    // out_trade_no is ASCII letters, digits, `_-|*` (v2 API); anything else is damage.
    if raw.is_empty() || !raw.iter().all(|c| c.is_ascii_alphanumeric() || b"_-|*".contains(c)) {
        return Err(malformed);
    }
    let text = core::str::from_utf8(raw).map_err(|_| malformed)?;
    OutTradeNo::new(Field::OutTradeNo, text).map_err(|_| malformed)
}

fn outcome_byte(o: Outcome) -> u8 {
    match o {
        Outcome::Paid => 0,
        Outcome::NotPaid => 1,
        Outcome::Reversed => 2,
        Outcome::NeedsReconciliation => 3,
    }
}

fn outcome_from_byte(b: u8) -> Option<Outcome> {
    match b {
        0 => Some(Outcome::Paid),
        1 => Some(Outcome::NotPaid),
        2 => Some(Outcome::Reversed),
        3 => Some(Outcome::NeedsReconciliation),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> JournalRecord {
        JournalRecord {
            version: JOURNAL_VERSION,
            out_trade_no: OutTradeNo::new(Field::OutTradeNo, "20261127-0001").unwrap(),
            api: PayApi::Facepay,
            total_fee: 12_345,
            phase: JournalPhase::Reversing,
            elapsed_ms: 31_000,
            queries: 4,
            reverse_attempts: 2,
        }
    }

    #[test]
    fn binary_round_trip() {
        for phase in [
            JournalPhase::Submitting,
            JournalPhase::Querying,
            JournalPhase::Reversing,
            JournalPhase::Concluded(Outcome::NeedsReconciliation),
        ] {
            let r = JournalRecord { phase, ..record() };
            assert_eq!(JournalRecord::decode(&r.encode()), Ok(r));
        }
    }

    #[test]
    fn damage_is_typed_and_salvageable() {
        let mut b = record().encode();
        b[10] ^= 0x40;
        assert_eq!(JournalRecord::decode(&b), Err(JournalError::Corrupt));
        assert_eq!(JournalRecord::salvage(&b).map(|(o, _)| o), Some(record().out_trade_no));
        let mut b = record().encode();
        b[4] = 9;
        assert_eq!(JournalRecord::decode(&b), Err(JournalError::FutureVersion(9)));
        assert_eq!(JournalRecord::decode(&b[..10]), Err(JournalError::TooShort { len: 10 }));
        assert_eq!(JournalRecord::decode(&[0u8; 64]), Err(JournalError::BadMagic));
        assert_eq!(JournalRecord::salvage(&[0u8; 64]), None);
    }
}
