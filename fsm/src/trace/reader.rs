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
    /// The log ends in the middle of a step: every record was read and matched, but the
    /// machine still had commands to emit (the writer stopped at a line boundary; each
    /// line is one write). `pending` is how many.
    EndsMidStep {
        /// Commands the machine emitted that the log does not hold.
        pending: usize,
    },
    /// The file holds nothing but whitespace (or nothing at all).
    Empty,
    /// The header itself is cut short: nothing of the session can be checked.
    TruncatedHeader,
}

impl LineErrorKind {
    /// Whether this is a log cut short (mid-line or mid-step) after a readable header:
    /// everything before it was checked, nothing contradicts the machine.
    pub fn is_cut(&self) -> bool {
        matches!(self, LineErrorKind::Truncated | LineErrorKind::EndsMidStep { .. })
    }
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
            LineErrorKind::EndsMidStep { pending } => write!(
                f,
                "truncated: the log ends mid-step, {pending} command(s) of the last step not logged (power loss?)"
            ),
            LineErrorKind::Empty => f.write_str("empty: no header, no records"),
            LineErrorKind::TruncatedHeader => {
                f.write_str("truncated header: the first line ends early, nothing can be replayed")
            }
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
    parse_header_at(bytes, 1, last)
}

/// [`parse_header`] for a header on line `line` (a file holding several sessions).
pub fn parse_header_at(bytes: &[u8], line: usize, last: bool) -> Result<TraceHeader, LineError> {
    let at = |column: usize, kind| LineError { line, column, kind };
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        let mut err = json_error(&e, line, bytes.len(), last);
        // A cut header leaves nothing to check: unreadable, never "exact".
        if err.kind == LineErrorKind::Truncated {
            err.kind = LineErrorKind::TruncatedHeader;
        }
        err
    })?;
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

/// The UTF-8 byte order mark some Windows tools put before the first line.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Whether a line holds only spaces, tabs or a `\r` (skipped wherever it is).
fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// Whether a line is (meant to be) a header: a JSON object with a `format` key and no
/// `t`. Cheap on records: only a line holding the text `"format"` is parsed.
fn looks_like_header(line: &[u8]) -> bool {
    const KEY: &[u8] = b"\"format\"";
    if !line.windows(KEY.len()).any(|w| w == KEY) {
        return false;
    }
    #[derive(serde::Deserialize)]
    struct Probe {
        format: Option<serde::de::IgnoredAny>,
        t: Option<serde::de::IgnoredAny>,
    }
    matches!(
        serde_json::from_slice::<Probe>(line),
        Ok(Probe {
            format: Some(_),
            t: None
        })
    )
}

/// One session of a trace file: the bytes from its header up to the next header (or the
/// end), and the file line its header is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionSlice<'a> {
    /// The 1-based file line of the session's first line (its header).
    pub first_line: usize,
    /// The session's lines, header first.
    pub bytes: &'a [u8],
}

/// Splits a trace file at each header line: a file the device appended several sessions
/// to (an app restart, a resume after a power loss) holds one slice per session. A UTF-8
/// BOM and blank lines before the first header are skipped. A file with no header line at
/// all is one slice (whose reader reports the missing header). Never panics.
pub fn split_sessions(bytes: &[u8]) -> Vec<SessionSlice<'_>> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut slices = Vec::new();
    let mut start: Option<(usize, usize)> = None; // (byte offset, line)
    let mut offset = 0;
    let mut line = 0;
    while offset < bytes.len() {
        line += 1;
        let rest = bytes.get(offset..).unwrap_or(&[]);
        let len = rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |i| i + 1);
        let text = rest.get(..len).unwrap_or(&[]);
        let blank = is_blank(text.strip_suffix(b"\n").unwrap_or(text));
        match start {
            None if blank => {}
            None => start = Some((offset, line)),
            Some((from, first_line)) if !blank && looks_like_header(text) => {
                slices.push(SessionSlice {
                    first_line,
                    bytes: bytes.get(from..offset).unwrap_or(&[]),
                });
                start = Some((offset, line));
            }
            Some(_) => {}
        }
        offset += len;
    }
    match start {
        Some((from, first_line)) => slices.push(SessionSlice {
            first_line,
            bytes: bytes.get(from..).unwrap_or(&[]),
        }),
        None => slices.push(SessionSlice {
            first_line: 1,
            bytes: &[],
        }),
    }
    slices
}

/// The records of a trace held in memory, one at a time, with their line numbers. Stops
/// after the first error (it yields that error, then `None`). Blank lines are skipped;
/// a header line ends the records (the next session of the file, see [`split_sessions`]).
#[derive(Debug)]
pub struct TraceLines<'a> {
    rest: &'a [u8],
    line: usize,
    previous_t: u64,
    done: bool,
}

impl<'a> TraceLines<'a> {
    /// Reads the header of `bytes`; the iterator yields the records after it. A leading
    /// UTF-8 BOM is skipped; an empty file is [`LineErrorKind::Empty`].
    pub fn new(bytes: &'a [u8]) -> Result<(TraceHeader, TraceLines<'a>), LineError> {
        Self::at_line(bytes, 1)
    }

    /// As [`TraceLines::new`] for a session whose header is on file line `first_line`
    /// (a [`SessionSlice`]), so every error names the line of the file.
    pub fn at_line(bytes: &'a [u8], first_line: usize) -> Result<(TraceHeader, TraceLines<'a>), LineError> {
        let mut lines = TraceLines {
            rest: bytes.strip_prefix(BOM).unwrap_or(bytes),
            line: first_line.saturating_sub(1),
            previous_t: 0,
            done: false,
        };
        let missing = |line: usize, kind| LineError { line, column: 1, kind };
        let (first, last) = loop {
            match lines.next_line() {
                None if lines.line < first_line => return Err(missing(first_line, LineErrorKind::Empty)),
                None => return Err(missing(lines.line, LineErrorKind::Empty)),
                Some((l, _)) if is_blank(l) => continue,
                Some(x) => break x,
            }
        };
        let header = parse_header_at(first, lines.line, last)?;
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
        let (bytes, last) = loop {
            let (bytes, last) = self.next_line()?;
            if !is_blank(bytes) {
                break (bytes, last);
            }
        };
        if looks_like_header(bytes) {
            // The next session of the file starts here: these records are done.
            self.done = true;
            return None;
        }
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
