//! The parser: a trace from bytes, with the line and column of anything it cannot read.
//! Nothing here panics, whatever the input (a fuzz target feeds it arbitrary bytes).

use core::fmt;
use std::string::{String, ToString};
use std::vec::Vec;

use super::header::{FORMAT_NAME, FORMAT_VERSION, TraceHeader};
use super::record::{Record, UNKNOWN_KIND};

/// Why a line could not be read, with where (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the file.
    pub line: usize,
    /// 1-based column (in bytes) where the problem was found.
    pub column: usize,
    /// What is wrong.
    pub kind: LineErrorKind,
}

/// What is wrong with a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineErrorKind {
    /// The line is not JSON (the parser's message).
    NotJson(String),
    /// The line is JSON, but not a valid record or header (the message names the key).
    Invalid(String),
    /// A record key other than `t`, `input`, `timeout`, `output`.
    UnknownKind(String),
    /// The first line is not a header: the file is empty or starts with a record.
    MissingHeader,
    /// The header's `format` is not `facepay-trace`.
    NotATrace(String),
    /// The header's version is newer than this reader.
    FutureVersion {
        /// The version in the file.
        found: u64,
        /// The newest this reader knows.
        supported: u32,
    },
    /// A record's time is earlier than the record before it.
    OutOfOrder {
        /// The previous record's time (ms).
        previous: u64,
        /// This record's time (ms).
        t: u64,
    },
    /// The last line ends early, with no newline: the writer stopped mid-line (power loss).
    /// Everything before it is complete.
    Truncated,
}

impl fmt::Display for LineErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineErrorKind::NotJson(m) => write!(f, "not JSON: {m}"),
            LineErrorKind::Invalid(m) => write!(f, "invalid record: {m}"),
            LineErrorKind::UnknownKind(m) => f.write_str(m),
            LineErrorKind::MissingHeader => {
                write!(f, "missing header: the first line must be a `{FORMAT_NAME}` header")
            }
            LineErrorKind::NotATrace(found) => {
                write!(f, "not a trace: `format` is {found:?}, expected {FORMAT_NAME:?}")
            }
            LineErrorKind::FutureVersion { found, supported } => {
                write!(
                    f,
                    "format version {found} is newer than this reader (version {supported})"
                )
            }
            LineErrorKind::OutOfOrder { previous, t } => {
                write!(f, "time goes backwards: `t` is {t} after {previous}")
            }
            LineErrorKind::Truncated => f.write_str("truncated: the last line ends early (power loss?)"),
        }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.kind)
    }
}

impl std::error::Error for LineError {}

/// Converts a serde_json error on line `line` (a line with no newline is `last`).
fn json_error(e: &serde_json::Error, line: usize, len: usize, last: bool) -> LineError {
    use serde_json::error::Category;
    let text = e.to_string();
    // serde_json appends " at line L column C"; we give our own position.
    let message = match text.rfind(" at line ") {
        Some(i) => text.get(..i).unwrap_or(&text).to_string(),
        None => text,
    };
    let column = if e.column() == 0 { len.max(1) } else { e.column() };
    let kind = match e.classify() {
        Category::Eof if last => LineErrorKind::Truncated,
        Category::Eof | Category::Syntax | Category::Io => LineErrorKind::NotJson(message),
        Category::Data if message.starts_with(UNKNOWN_KIND) => LineErrorKind::UnknownKind(message),
        Category::Data => LineErrorKind::Invalid(message),
    };
    LineError { line, column, kind }
}

/// Parses a header line (line 1 of a trace). `last` says the line had no newline after
/// it, so an incomplete one is [`LineErrorKind::Truncated`].
pub fn parse_header(bytes: &[u8], last: bool) -> Result<TraceHeader, LineError> {
    let at = |column: usize, kind| LineError { line: 1, column, kind };
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| json_error(&e, 1, bytes.len(), last))?;
    let Some(obj) = value.as_object() else {
        return Err(at(1, LineErrorKind::MissingHeader));
    };
    if obj.contains_key("t") {
        return Err(at(1, LineErrorKind::MissingHeader));
    }
    match obj.get("format").and_then(|f| f.as_str()) {
        Some(FORMAT_NAME) => {}
        Some(other) => return Err(at(1, LineErrorKind::NotATrace(other.to_string()))),
        None => return Err(at(1, LineErrorKind::MissingHeader)),
    }
    match obj.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v > u64::from(FORMAT_VERSION) => {
            return Err(at(
                1,
                LineErrorKind::FutureVersion {
                    found: v,
                    supported: FORMAT_VERSION,
                },
            ));
        }
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        _ => {
            return Err(at(
                1,
                LineErrorKind::Invalid("`version` must be the integer 1".to_string()),
            ));
        }
    }
    let header: TraceHeader =
        serde_json::from_value(value).map_err(|e| at(1, LineErrorKind::Invalid(std::format!("header: {e}"))))?;
    if header.resume.as_ref().is_some_and(|r| r.bytes().is_none()) {
        return Err(at(
            1,
            LineErrorKind::Invalid("header: `resume.journal` must be even-length hex".to_string()),
        ));
    }
    Ok(header)
}

/// Parses one record line. `line` is its 1-based number (for the error); `last` says the
/// line had no newline after it, so an incomplete one is [`LineErrorKind::Truncated`].
pub fn parse_record(bytes: &[u8], line: usize, last: bool) -> Result<Record, LineError> {
    serde_json::from_slice(bytes).map_err(|e| json_error(&e, line, bytes.len(), last))
}

/// The records of a trace held in memory, one at a time, with their line numbers. Stops
/// after the first error (it yields that error, then `None`).
#[derive(Debug)]
pub struct TraceLines<'a> {
    rest: &'a [u8],
    line: usize,
    previous_t: u64,
    done: bool,
}

impl<'a> TraceLines<'a> {
    /// Reads the header of `bytes`; the iterator yields the records after it.
    pub fn new(bytes: &'a [u8]) -> Result<(TraceHeader, TraceLines<'a>), LineError> {
        let mut lines = TraceLines {
            rest: bytes,
            line: 0,
            previous_t: 0,
            done: false,
        };
        let Some((first, last)) = lines.next_line() else {
            return Err(LineError {
                line: 1,
                column: 1,
                kind: LineErrorKind::MissingHeader,
            });
        };
        let header = parse_header(first, last)?;
        Ok((header, lines))
    }

    /// The number of the last line read (0 before the header).
    pub fn line(&self) -> usize {
        self.line
    }

    /// The next line without its newline (and `\r`), and whether it had no newline.
    fn next_line(&mut self) -> Option<(&'a [u8], bool)> {
        if self.rest.is_empty() {
            return None;
        }
        self.line += 1;
        let (line, last) = match self.rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let (line, rest) = self.rest.split_at(i);
                self.rest = rest.get(1..).unwrap_or(&[]);
                (line, false)
            }
            None => (core::mem::take(&mut self.rest), true),
        };
        Some((line.strip_suffix(b"\r").unwrap_or(line), last))
    }
}

impl Iterator for TraceLines<'_> {
    type Item = Result<(usize, Record), LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let (bytes, last) = self.next_line()?;
        let line = self.line;
        let result = parse_record(bytes, line, last).and_then(|r| {
            if r.t.0 < self.previous_t {
                Err(LineError {
                    line,
                    column: 1,
                    kind: LineErrorKind::OutOfOrder {
                        previous: self.previous_t,
                        t: r.t.0,
                    },
                })
            } else {
                self.previous_t = r.t.0;
                Ok((line, r))
            }
        });
        self.done = result.is_err();
        Some(result)
    }
}

/// A whole trace read from memory: the header, the records up to the first error, and
/// that error.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedTrace {
    /// The header, if line 1 was one.
    pub header: Option<TraceHeader>,
    /// Every record before the first error, with its line number.
    pub records: Vec<(usize, Record)>,
    /// The first error (a truncated last line is [`LineErrorKind::Truncated`]).
    pub error: Option<LineError>,
    /// The number of lines in the buffer.
    pub lines: usize,
}

/// Parses a whole trace. Never panics; reads up to the first bad line.
pub fn parse_trace(bytes: &[u8]) -> ParsedTrace {
    let lines = bytes.split(|&b| b == b'\n').count() - usize::from(bytes.ends_with(b"\n"));
    let (header, iter) = match TraceLines::new(bytes) {
        Ok(x) => x,
        Err(e) => {
            return ParsedTrace {
                header: None,
                records: Vec::new(),
                error: Some(e),
                lines,
            };
        }
    };
    let mut records = Vec::new();
    let mut error = None;
    for r in iter {
        match r {
            Ok(x) => records.push(x),
            Err(e) => error = Some(e),
        }
    }
    ParsedTrace {
        header: Some(header),
        records,
        error,
        lines,
    }
}
