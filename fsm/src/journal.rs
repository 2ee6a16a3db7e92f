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
use core::ops::Range;

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
    /// Reverse attempts spent so far, each recorded before its call leaves, so the last may
    /// not have left (the reverse budget continues from here).
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

    /// The fixed 64-byte form, laid out by [`JournalField::LAYOUT`] (docs/journal-format.md):
    /// `FPJR`, version, phase, outcome, api, total_fee (LE u32), elapsed_ms (LE u32),
    /// queries, reverse_attempts, out_trade_no length and 32 bytes, 9 reserved zero bytes,
    /// CRC-32 (ISO-HDLC, LE) of the bytes before it.
    pub fn encode(&self) -> [u8; JOURNAL_BYTES] {
        let mut b = [0u8; JOURNAL_BYTES];
        let (phase, outcome) = match self.phase {
            JournalPhase::Submitting => (0, 0xFF),
            JournalPhase::Querying => (1, 0xFF),
            JournalPhase::Reversing => (2, 0xFF),
            JournalPhase::Concluded(o) => (3, outcome_byte(o)),
        };
        let otn = self.out_trade_no.as_bytes();
        let api = match self.api {
            PayApi::Micropay => 0,
            PayApi::Facepay => 1,
        };
        write(&mut b, JournalField::Magic, &MAGIC);
        write(&mut b, JournalField::Version, &[self.version]);
        write(&mut b, JournalField::Phase, &[phase]);
        write(&mut b, JournalField::Outcome, &[outcome]);
        write(&mut b, JournalField::Api, &[api]);
        write(&mut b, JournalField::TotalFee, &self.total_fee.to_le_bytes());
        write(&mut b, JournalField::ElapsedMs, &self.elapsed_ms.to_le_bytes());
        write(&mut b, JournalField::Queries, &[self.queries]);
        write(&mut b, JournalField::ReverseAttempts, &[self.reverse_attempts]);
        write(
            &mut b,
            JournalField::OutTradeNoLen,
            &[u8::try_from(otn.len()).unwrap_or(u8::MAX)],
        );
        write(&mut b, JournalField::OutTradeNo, otn);
        let crc = CRC.checksum(body(&b)).to_le_bytes();
        write(&mut b, JournalField::Crc, &crc);
        b
    }

    /// Reads the binary form. Every failure is typed; nothing panics.
    pub fn decode(bytes: &[u8]) -> Result<JournalRecord, JournalError> {
        let b: &[u8; JOURNAL_BYTES] = bytes
            .get(..JOURNAL_BYTES)
            .and_then(|s| s.try_into().ok())
            .ok_or(JournalError::TooShort { len: bytes.len() })?;
        if read::<4>(b, JournalField::Magic) != MAGIC {
            return Err(JournalError::BadMagic);
        }
        let [version] = read(b, JournalField::Version);
        if version > JOURNAL_VERSION {
            return Err(JournalError::FutureVersion(version));
        }
        if read::<4>(b, JournalField::Crc) != CRC.checksum(body(b)).to_le_bytes() {
            return Err(JournalError::Corrupt);
        }
        let [len] = read(b, JournalField::OutTradeNoLen);
        let out_trade_no = read_out_trade_no(len, field(b, JournalField::OutTradeNo))?;
        let phase = match (read(b, JournalField::Phase), read(b, JournalField::Outcome)) {
            ([0], _) => JournalPhase::Submitting,
            ([1], _) => JournalPhase::Querying,
            ([2], _) => JournalPhase::Reversing,
            ([3], [o]) => {
                JournalPhase::Concluded(outcome_from_byte(o).ok_or(JournalError::Malformed(Field::TradeState))?)
            }
            _ => return Err(JournalError::Malformed(Field::TradeState)),
        };
        let api = match read(b, JournalField::Api) {
            [0] => PayApi::Micropay,
            [1] => PayApi::Facepay,
            _ => return Err(JournalError::Malformed(Field::FaceCodeType)),
        };
        let [queries] = read(b, JournalField::Queries);
        let [reverse_attempts] = read(b, JournalField::ReverseAttempts);
        Ok(JournalRecord {
            version,
            out_trade_no,
            api,
            total_fee: u32::from_le_bytes(read(b, JournalField::TotalFee)),
            phase,
            elapsed_ms: u32::from_le_bytes(read(b, JournalField::ElapsedMs)),
            queries,
            reverse_attempts,
        })
    }

    /// The out_trade_no and API of a record that fails [`JournalRecord::decode`] for its
    /// checksum or version, when those two fields still read cleanly: enough to query and
    /// reverse the order rather than forget it. It reads only the fields whose
    /// [`JournalField::damage`] is not [`JournalDamage::Salvaged`].
    pub fn salvage(bytes: &[u8]) -> Option<(OutTradeNo, PayApi)> {
        if bytes.get(JournalField::Magic.range())? != MAGIC {
            return None;
        }
        let api = match bytes.get(JournalField::Api.start())? {
            1 => PayApi::Facepay,
            _ => PayApi::Micropay,
        };
        let len = *bytes.get(JournalField::OutTradeNoLen.start())?;
        let rest = bytes.get(JournalField::OutTradeNo.range())?;
        read_out_trade_no(len, rest).ok().map(|o| (o, api))
    }
}

/// A named byte range of the binary form ([`JournalRecord::encode`]). The encoder, the
/// decoder and [`JournalRecord::salvage`] read and write the record only through these,
/// so the layout is stated once; fault injection asks them where to damage a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JournalField {
    /// `FPJR`: tells a journal record from erased or foreign storage.
    Magic,
    /// The format version ([`JOURNAL_VERSION`]).
    Version,
    /// The phase: 0 submitting, 1 querying, 2 reversing, 3 concluded.
    Phase,
    /// The outcome when concluded (0 paid, 1 not paid, 2 reversed, 3 needs reconciliation),
    /// else 0xFF.
    Outcome,
    /// The API family: 0 micropay, 1 facepay.
    Api,
    /// `total_fee`, LE u32.
    TotalFee,
    /// `elapsed_ms`, LE u32.
    ElapsedMs,
    /// Queries sent.
    Queries,
    /// Reverse calls sent.
    ReverseAttempts,
    /// The out_trade_no's length, 1 to 32.
    OutTradeNoLen,
    /// The out_trade_no, ASCII, zero padded.
    OutTradeNo,
    /// Zero; room for later versions.
    Reserved,
    /// CRC-32 (ISO-HDLC, LE) of every byte before it.
    Crc,
}

/// What [`crate::Session::resume_from_bytes`] makes of a record damaged in one field only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JournalDamage {
    /// The record fails its checksum or version check, and [`JournalRecord::salvage`]
    /// still reads its out_trade_no and API exactly: the order is resumed as salvaged
    /// ([`JournalRecord::is_salvaged`]).
    Salvaged,
    /// Salvage reads what the damaged byte says: maybe another out_trade_no or API than
    /// the one written, maybe nothing. No recovery can be promised: a host must keep this
    /// field intact (the simulator never damages it).
    Misread,
    /// Salvage reads nothing: the session reports `Notice::JournalUnreadable` and a
    /// person reconciles the day's orders.
    Unreadable,
}

impl JournalField {
    /// Every field, in byte order: together they tile the [`JOURNAL_BYTES`] of a record.
    pub const LAYOUT: [JournalField; 13] = [
        JournalField::Magic,
        JournalField::Version,
        JournalField::Phase,
        JournalField::Outcome,
        JournalField::Api,
        JournalField::TotalFee,
        JournalField::ElapsedMs,
        JournalField::Queries,
        JournalField::ReverseAttempts,
        JournalField::OutTradeNoLen,
        JournalField::OutTradeNo,
        JournalField::Reserved,
        JournalField::Crc,
    ];

    /// Its size in bytes.
    pub const fn size(self) -> usize {
        match self {
            JournalField::Magic | JournalField::TotalFee | JournalField::ElapsedMs | JournalField::Crc => 4,
            JournalField::OutTradeNo => OutTradeNo::CAPACITY,
            JournalField::Reserved => 9,
            JournalField::Version
            | JournalField::Phase
            | JournalField::Outcome
            | JournalField::Api
            | JournalField::Queries
            | JournalField::ReverseAttempts
            | JournalField::OutTradeNoLen => 1,
        }
    }

    /// Its offset: the sum of the sizes of the fields before it in [`JournalField::LAYOUT`].
    pub const fn start(self) -> usize {
        let mut start = 0;
        let mut fields: &[JournalField] = &Self::LAYOUT;
        while let [f, rest @ ..] = fields {
            if *f as u8 == self as u8 {
                break;
            }
            start += f.size();
            fields = rest;
        }
        start
    }

    /// Its bytes in a record.
    pub const fn range(self) -> Range<usize> {
        self.start()..self.start() + self.size()
    }

    /// What resuming makes of a record damaged in this field only (held to
    /// [`JournalRecord::salvage`] by a test over every byte and every damage).
    pub const fn damage(self) -> JournalDamage {
        match self {
            JournalField::Magic => JournalDamage::Unreadable,
            JournalField::Api | JournalField::OutTradeNoLen | JournalField::OutTradeNo => JournalDamage::Misread,
            JournalField::Version
            | JournalField::Phase
            | JournalField::Outcome
            | JournalField::TotalFee
            | JournalField::ElapsedMs
            | JournalField::Queries
            | JournalField::ReverseAttempts
            | JournalField::Reserved
            | JournalField::Crc => JournalDamage::Salvaged,
        }
    }

    /// The field byte `offset` of a record belongs to (`None` past the end).
    pub fn at(offset: usize) -> Option<JournalField> {
        Self::LAYOUT.into_iter().find(|f| f.range().contains(&offset))
    }

    /// The offsets, in order, of every byte whose damage has the effect `damage`.
    pub fn bytes_with(damage: JournalDamage) -> impl Iterator<Item = usize> {
        Self::LAYOUT
            .into_iter()
            .filter(move |f| f.damage() == damage)
            .flat_map(JournalField::range)
    }
}

// The fields tile the record exactly, and the CRC is its last four bytes.
const _: () = {
    let mut end = 0;
    let mut fields: &[JournalField] = &JournalField::LAYOUT;
    while let [f, rest @ ..] = fields {
        assert!(f.start() == end);
        end += f.size();
        fields = rest;
    }
    assert!(end == JOURNAL_BYTES);
    assert!(JournalField::Crc.start() == JOURNAL_BYTES - 4);
};

/// The bytes the CRC covers: everything before it.
fn body(b: &[u8; JOURNAL_BYTES]) -> &[u8] {
    b.get(..JournalField::Crc.start()).unwrap_or(&[])
}

/// The bytes of `field` in `b` (the layout is checked above to fit).
fn field(b: &[u8; JOURNAL_BYTES], field: JournalField) -> &[u8] {
    b.get(field.range()).unwrap_or(&[])
}

/// `field` of `b` as N bytes; a field of another size is an error in this module, caught
/// by the round-trip tests (its bytes would read as zeros).
fn read<const N: usize>(b: &[u8; JOURNAL_BYTES], f: JournalField) -> [u8; N] {
    let mut out = [0u8; N];
    if f.size() == N {
        out.iter_mut().zip(field(b, f)).for_each(|(o, v)| *o = *v);
    }
    out
}

/// Writes `bytes` into `field` of `b`, zero padded (the caller's bytes fit: the
/// out_trade_no is at most [`OutTradeNo::CAPACITY`]).
fn write(b: &mut [u8; JOURNAL_BYTES], field: JournalField, bytes: &[u8]) {
    if let Some(slot) = b.get_mut(field.range()) {
        slot.iter_mut().zip(bytes).for_each(|(s, v)| *s = *v);
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

    /// The layout as docs/journal-format.md tables it: (field, offset, size).
    const DOCUMENTED: [(JournalField, usize, usize); 13] = [
        (JournalField::Magic, 0, 4),
        (JournalField::Version, 4, 1),
        (JournalField::Phase, 5, 1),
        (JournalField::Outcome, 6, 1),
        (JournalField::Api, 7, 1),
        (JournalField::TotalFee, 8, 4),
        (JournalField::ElapsedMs, 12, 4),
        (JournalField::Queries, 16, 1),
        (JournalField::ReverseAttempts, 17, 1),
        (JournalField::OutTradeNoLen, 18, 1),
        (JournalField::OutTradeNo, 19, 32),
        (JournalField::Reserved, 51, 9),
        (JournalField::Crc, 60, 4),
    ];

    #[test]
    fn the_layout_is_the_documented_one() {
        for (i, (field, offset, size)) in DOCUMENTED.into_iter().enumerate() {
            assert_eq!(JournalField::LAYOUT[i], field);
            assert_eq!(field.range(), offset..offset + size, "{field:?}");
            assert_eq!(JournalField::at(offset), Some(field));
            assert_eq!(JournalField::at(offset + size - 1), Some(field));
        }
        assert_eq!(JournalField::at(JOURNAL_BYTES), None);
    }

    /// A record written by the encoder before it was laid out by [`JournalField`] (the
    /// hand-packed one): old records must still decode, and new ones encode the same bytes.
    #[test]
    fn the_bytes_are_the_hand_packed_ones() {
        let mut want = [0u8; JOURNAL_BYTES];
        want[..8].copy_from_slice(&[b'F', b'P', b'J', b'R', 1, 2, 0xFF, 1]);
        want[8..12].copy_from_slice(&12_345u32.to_le_bytes());
        want[12..16].copy_from_slice(&31_000u32.to_le_bytes());
        want[16..19].copy_from_slice(&[4, 2, 13]);
        want[19..32].copy_from_slice(b"20261127-0001");
        let crc = CRC.checksum(&want[..60]).to_le_bytes();
        want[60..].copy_from_slice(&crc);
        assert_eq!(record().encode(), want);
        assert_eq!(JournalRecord::decode(&want), Ok(record()));
    }

    fn records() -> [JournalRecord; 3] {
        [
            record(),
            JournalRecord {
                api: PayApi::Micropay,
                out_trade_no: OutTradeNo::new(Field::OutTradeNo, "a_b-c|d*9a_b-c|d*9a_b-c|d*9-0123").unwrap(),
                phase: JournalPhase::Concluded(Outcome::Paid),
                ..record()
            },
            JournalRecord {
                out_trade_no: OutTradeNo::new(Field::OutTradeNo, "7").unwrap(),
                phase: JournalPhase::Submitting,
                total_fee: 1,
                ..record()
            },
        ]
    }

    /// Every byte of every field, damaged every way: what salvage and resume make of it is
    /// what the field's `damage()` says. A field said to be misread must be misread by
    /// some damage, else it is salvageable and should say so.
    #[test]
    fn each_field_is_damaged_as_it_says() {
        for r in records() {
            let good = r.encode();
            let exact = Some((r.out_trade_no.clone(), r.api));
            for field in JournalField::LAYOUT {
                let mut misread = false;
                for i in field.range() {
                    for mask in 1..=u8::MAX {
                        let mut b = good;
                        b[i] ^= mask;
                        assert!(JournalRecord::decode(&b).is_err(), "{field:?} byte {i} ^ {mask:#x}");
                        let salvaged = JournalRecord::salvage(&b);
                        match field.damage() {
                            JournalDamage::Salvaged => assert_eq!(salvaged, exact, "{field:?} byte {i} ^ {mask:#x}"),
                            JournalDamage::Unreadable => assert_eq!(salvaged, None, "{field:?} byte {i} ^ {mask:#x}"),
                            JournalDamage::Misread => misread |= salvaged != exact,
                        }
                    }
                }
                assert_eq!(misread, field.damage() == JournalDamage::Misread, "{field:?}");
            }
        }
    }

    #[test]
    fn a_salvageable_byte_damaged_resumes_the_order_salvaged() {
        let r = record();
        let bytes: heapless::Vec<usize, JOURNAL_BYTES> = JournalField::bytes_with(JournalDamage::Salvaged).collect();
        assert_eq!(bytes.len(), 26);
        for i in bytes {
            let mut b = r.encode();
            b[i] ^= 0x5A;
            let (mut s, err) = crate::Session::resume_from_bytes(crate::Policy::default(), &b, crate::Instant(0));
            assert!(err.is_some(), "byte {i}");
            let first = s.poll_command();
            assert!(
                matches!(&first, Some(crate::Command::Persist(p)) if p.is_salvaged() && p.out_trade_no == r.out_trade_no),
                "byte {i}: {first:?}"
            );
        }
    }
}
