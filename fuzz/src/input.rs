//! Building blocks shared by the targets: bounded strings at and over their caps, wire
//! codes (documented or garbage), and request ids picked from what the machine issued.

use arbitrary::Arbitrary;
use facepay_fsm::{Field, FieldError, RequestId, Text};

/// A string for a bounded field: the canonical value, or one at, over or straddling the
/// field's capacity, or anything at all.
#[derive(Arbitrary, Clone, Debug)]
pub enum StrOp {
    /// The value a well-behaved peer sends.
    Canonical,
    /// "".
    Empty,
    /// Exactly the capacity, in ASCII.
    AtCap,
    /// One byte over the capacity.
    OverCap,
    /// Three-byte characters around the capacity (fits, or ends mid-character).
    Wide(u8),
    /// Anything.
    Any(String),
}

impl StrOp {
    /// The string this op stands for, for a field of `cap` bytes.
    pub fn render(&self, cap: usize, canonical: &str) -> String {
        match self {
            StrOp::Canonical => canonical.to_owned(),
            StrOp::Empty => String::new(),
            StrOp::AtCap => "x".repeat(cap),
            StrOp::OverCap => "x".repeat(cap + 1),
            StrOp::Wide(k) => "错".repeat(cap / 3 + usize::from(k % 3)),
            StrOp::Any(s) => s.clone(),
        }
    }
}

/// A bounded text from `op`; checks that `Text::new` keeps a value that fits exactly and
/// refuses one that does not with its true length.
pub fn text<const N: usize, L: heapless::LenType>(
    field: Field,
    op: &StrOp,
    canonical: &str,
) -> Result<Text<N, L>, FieldError> {
    let s = op.render(N, canonical);
    let r = Text::<N, L>::new(field, &s);
    match &r {
        Ok(t) => assert_eq!(t.as_str(), s, "Text::new changed a value that fits"),
        Err(FieldError::TooLong { field: f, len, cap }) => {
            assert!(s.len() > N, "Text::new refused {} bytes under a cap of {N}", s.len());
            assert_eq!((*f, *len as usize, *cap as usize), (field, s.len(), N));
        }
        Err(e) => panic!("Text::new failed with {e:?}, not TooLong"),
    }
    r
}

/// A wire code: one of the documented values, or a string from the fuzzer.
#[derive(Arbitrary, Clone, Debug)]
pub enum CodeOp {
    /// `DOCUMENTED[i % len]` (index 0 is SUCCESS where there is one).
    Doc(u8),
    /// Any string (kept as `Unknown` when under 33 bytes, else a field error).
    Wire(String),
}

impl CodeOp {
    /// Parses with `parse`, picking from `documented` for [`CodeOp::Doc`].
    pub fn get<T: Clone>(&self, documented: &[T], parse: fn(&str) -> Result<T, FieldError>) -> Result<T, FieldError> {
        match self {
            CodeOp::Doc(i) if !documented.is_empty() => Ok(documented[usize::from(*i) % documented.len()].clone()),
            CodeOp::Doc(_) => parse(""),
            CodeOp::Wire(s) => parse(s),
        }
    }
}

/// Which request id an answer carries.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum IdOp {
    /// The `n`th most recent answerable command's id (0 = the last one).
    Recent(u8),
    /// Any id at all (mostly unknown to the machine).
    Raw(u32),
}

impl IdOp {
    /// The id, from the ids issued so far (oldest first).
    pub fn pick<K: Copy>(&self, issued: &[(RequestId, K)]) -> Option<(RequestId, Option<K>)> {
        match self {
            IdOp::Recent(n) => {
                let len = issued.len();
                if len == 0 {
                    return None;
                }
                let (id, k) = issued[len - 1 - usize::from(*n) % len];
                Some((id, Some(k)))
            }
            IdOp::Raw(id) => Some((RequestId(*id), None)),
        }
    }
}
