//! One line after the header: the time, and an input, a timer firing, or an output.
//!
//! The wire form is `{"t":<ms>,"input":<Event>}`, `{"t":<ms>,"timeout":<RecordedTimer|null>}`,
//! `{"t":<ms>,"output":<Command>}` or `{"t":<ms>,"persisted":"ok"|"write_failed"}`, with the serde forms of the machine's own types. The
//! (de)serializers are written by hand so a record is read in one pass without buffering.

use core::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::command::Command;
use crate::event::Event;
use crate::session::PersistError;
use crate::time::Instant;
use crate::timer::Timer;

/// A trace record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// When, in the host's milliseconds (as given to the machine).
    pub t: Instant,
    /// What.
    pub kind: RecordKind,
}

/// What a [`Record`] holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// The host called `Session::handle(t, event)`.
    Input(Event),
    /// The host called `Session::handle_timeout(t)`; the timer that fired, when known
    /// (`None` also when nothing was due).
    Timeout(Option<RecordedTimer>),
    /// The machine emitted this command in the step at `t`.
    Output(Command),
    /// The host reported the write of the last `Command::Persist` with
    /// `Session::persisted(t, result)`. Traces written before the handshake have none:
    /// replay counts a Persist with no such record before the next record as written.
    Persisted(Result<(), PersistError>),
}

/// The timer a `timeout` record names.
///
/// Traces written before the state waits were named (`Timer::InitRetry`,
/// `Timer::NextQuery`, `Timer::NextReverse`) call each of them `"wake"`: such a record is
/// read as [`RecordedTimer::StateWait`], and replay checks that the timer that fires is
/// one of them (which one is fixed by the state, so nothing is lost). Written back, it
/// stays `"wake"`; this library never writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordedTimer {
    /// This timer fired.
    Fired(Timer),
    /// `"wake"`: the current state's own wait fired ([`Timer::is_state_wait`]).
    StateWait,
}

/// The name older traces give every state wait.
const STATE_WAIT: &str = "wake";

impl RecordedTimer {
    /// True when `fired` (what fired in replay) is what this record names.
    #[must_use]
    pub fn matches(self, fired: Option<Timer>) -> bool {
        match self {
            RecordedTimer::Fired(t) => fired == Some(t),
            RecordedTimer::StateWait => fired.is_some_and(Timer::is_state_wait),
        }
    }
}

impl From<Timer> for RecordedTimer {
    fn from(t: Timer) -> Self {
        RecordedTimer::Fired(t)
    }
}

impl Serialize for RecordedTimer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RecordedTimer::Fired(t) => t.serialize(s),
            RecordedTimer::StateWait => s.serialize_str(STATE_WAIT),
        }
    }
}

impl<'de> Deserialize<'de> for RecordedTimer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = RecordedTimer;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a timer name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RecordedTimer, E> {
                if v == STATE_WAIT {
                    return Ok(RecordedTimer::StateWait);
                }
                Timer::deserialize(de::value::StrDeserializer::<E>::new(v)).map(RecordedTimer::Fired)
            }
        }
        d.deserialize_str(NameVisitor)
    }
}

/// A borrowed record, so the writer serializes without cloning.
pub(crate) struct RecordRef<'a> {
    pub(crate) t: Instant,
    pub(crate) kind: KindRef<'a>,
}

pub(crate) enum KindRef<'a> {
    Input(&'a Event),
    Timeout(Option<RecordedTimer>),
    Output(&'a Command),
    Persisted(Result<(), PersistError>),
}

impl Serialize for RecordRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("t", &self.t)?;
        match self.kind {
            KindRef::Input(e) => m.serialize_entry("input", e)?,
            KindRef::Timeout(t) => m.serialize_entry("timeout", &t)?,
            KindRef::Output(c) => m.serialize_entry("output", c)?,
            KindRef::Persisted(r) => m.serialize_entry("persisted", &PersistedWire::from(r))?,
        }
        m.end()
    }
}

impl Record {
    pub(crate) fn as_ref(&self) -> RecordRef<'_> {
        RecordRef {
            t: self.t,
            kind: match &self.kind {
                RecordKind::Input(e) => KindRef::Input(e),
                RecordKind::Timeout(t) => KindRef::Timeout(*t),
                RecordKind::Output(c) => KindRef::Output(c),
                RecordKind::Persisted(r) => KindRef::Persisted(*r),
            },
        }
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_ref().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RecordVisitor)
    }
}

struct RecordVisitor;

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = Record;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a trace record: {\"t\": ms, and one of \"input\", \"timeout\", \"output\"}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record, A::Error> {
        let mut t: Option<Instant> = None;
        let mut kind: Option<RecordKind> = None;
        while let Some(key) = map.next_key::<RecordKey>()? {
            let seen = match key {
                RecordKey::T => {
                    if t.is_some() {
                        return Err(de::Error::duplicate_field("t"));
                    }
                    t = Some(map.next_value()?);
                    continue;
                }
                RecordKey::Input => kind.replace(RecordKind::Input(map.next_value()?)),
                RecordKey::Timeout => kind.replace(RecordKind::Timeout(map.next_value()?)),
                RecordKey::Output => kind.replace(RecordKind::Output(map.next_value()?)),
                RecordKey::Persisted => kind.replace(RecordKind::Persisted(map.next_value::<PersistedWire>()?.into())),
            };
            if seen.is_some() {
                return Err(de::Error::custom(
                    "a record holds exactly one of input, timeout, output, persisted",
                ));
            }
        }
        let t = t.ok_or_else(|| de::Error::missing_field("t"))?;
        let kind = kind.ok_or_else(|| de::Error::custom("a record needs one of input, timeout, output, persisted"))?;
        Ok(Record { t, kind })
    }
}

enum RecordKey {
    T,
    Input,
    Timeout,
    Output,
    Persisted,
}

/// A `persisted` record's value: `"ok"`, or the [`PersistError`]'s name.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum PersistedWire {
    Ok,
    WriteFailed,
}

impl From<Result<(), PersistError>> for PersistedWire {
    fn from(r: Result<(), PersistError>) -> Self {
        match r {
            Ok(()) => PersistedWire::Ok,
            Err(PersistError::WriteFailed) => PersistedWire::WriteFailed,
        }
    }
}

impl From<PersistedWire> for Result<(), PersistError> {
    fn from(w: PersistedWire) -> Self {
        match w {
            PersistedWire::Ok => Ok(()),
            PersistedWire::WriteFailed => Err(PersistError::WriteFailed),
        }
    }
}

impl<'de> Deserialize<'de> for RecordKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = RecordKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a record key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RecordKey, E> {
                match v {
                    "t" => Ok(RecordKey::T),
                    "input" => Ok(RecordKey::Input),
                    "timeout" => Ok(RecordKey::Timeout),
                    "output" => Ok(RecordKey::Output),
                    "persisted" => Ok(RecordKey::Persisted),
                    other => Err(E::custom(format_args!(
                        "{UNKNOWN_KIND} `{other}`, expected one of `t`, `input`, `timeout`, `output`, `persisted`"
                    ))),
                }
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

/// The start of the error message for an unknown key; the reader recognises it.
pub(crate) const UNKNOWN_KIND: &str = "unknown record kind";

#[cfg(test)]
mod tests {
    use super::*;

    fn timeout(line: &str) -> Option<RecordedTimer> {
        match serde_json::from_str::<Record>(line).map(|r| r.kind) {
            Ok(RecordKind::Timeout(t)) => t,
            other => panic!("not a timeout record: {other:?}"),
        }
    }

    #[test]
    fn an_older_traces_wake_reads_as_a_state_wait_and_is_written_back_as_it_was() {
        let line = r#"{"t":600,"timeout":"wake"}"#;
        let t = timeout(line);
        assert_eq!(t, Some(RecordedTimer::StateWait));
        let r = Record {
            t: Instant(600),
            kind: RecordKind::Timeout(t),
        };
        assert_eq!(serde_json::to_string(&r).unwrap(), line);
    }

    #[test]
    fn a_persisted_record_round_trips() {
        for (line, result) in [
            (r#"{"t":5,"persisted":"ok"}"#, Ok(())),
            (r#"{"t":5,"persisted":"write_failed"}"#, Err(PersistError::WriteFailed)),
        ] {
            let r: Record = serde_json::from_str(line).unwrap();
            assert_eq!(r.kind, RecordKind::Persisted(result));
            assert_eq!(serde_json::to_string(&r).unwrap(), line);
        }
        assert!(serde_json::from_str::<Record>(r#"{"t":5,"persisted":"maybe"}"#).is_err());
    }

    #[test]
    fn a_named_timer_reads_as_itself() {
        assert_eq!(
            timeout(r#"{"t":1,"timeout":"next_reverse"}"#),
            Some(RecordedTimer::Fired(Timer::NextReverse))
        );
        assert_eq!(timeout(r#"{"t":1,"timeout":null}"#), None);
        assert!(serde_json::from_str::<Record>(r#"{"t":1,"timeout":"snooze"}"#).is_err());
        // A line error says what was expected there.
        let e = serde_json::from_str::<RecordedTimer>("5").unwrap_err().to_string();
        assert!(e.contains("expected a timer name"), "{e}");
    }

    #[test]
    fn a_state_wait_matches_only_a_state_wait() {
        // Spelled out, not read back from `is_state_wait`: the three waits older traces
        // call "wake", and nothing else.
        for (t, state_wait) in [
            (Timer::SdkDeadline, false),
            (Timer::BackendDeadline, false),
            (Timer::InitRetry, true),
            (Timer::NextQuery, true),
            (Timer::NextReverse, true),
            (Timer::AuthRefresh, false),
        ] {
            assert_eq!(t.is_state_wait(), state_wait, "{t:?}");
            assert_eq!(RecordedTimer::StateWait.matches(Some(t)), state_wait, "{t:?}");
            assert!(RecordedTimer::Fired(t).matches(Some(t)));
        }
        assert_eq!(Timer::VALUES.len(), 6, "a new timer must be placed in the list above");
        assert!(!RecordedTimer::StateWait.matches(None));
        assert!(!RecordedTimer::Fired(Timer::NextQuery).matches(Some(Timer::NextReverse)));
    }
}
