//! The values the seed module exchanges with its app: request maps in, answer maps out.
//! The seed's JavaScript callers pass strings, numbers, booleans and nested objects
//! (`proxy: {ip, port, ...}`), and read numbers where the module doc says numbers
//! (`telephone_used`, `underage_state`).

use std::fmt;

/// One value of a request or an answer map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A string.
    Str(String),
    /// A boolean (`status`).
    Bool(bool),
    /// A whole number (`telephone_used`, `underage_state`, `expires_in`, `total_fee`).
    Num(i64),
    /// A nested object, keys in order (`proxy`).
    Obj(Vec<(String, Value)>),
}

impl Value {
    /// The value as the seed's string-typed keys read it: a string as is, a number in
    /// decimal, a boolean as `true`/`false`; `None` for an object.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.clone()),
            Value::Num(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Obj(_) => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Num(n) => write!(f, "{n}"),
            Value::Obj(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// A request map as the app passed it (keys in order; a later duplicate key wins).
pub type Params = Vec<(String, Value)>;

/// One answer: `{status: true, ...}` or `{status: false, errorCode, msg}`, keys in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer(pub Vec<(&'static str, Value)>);

impl Answer {
    /// `{status: true}`.
    pub fn ok() -> Self {
        Answer(vec![("status", Value::Bool(true))])
    }

    /// `{status: false, errorCode, msg}`.
    pub fn err(code: &str, msg: &str) -> Self {
        Answer(vec![
            ("status", Value::Bool(false)),
            ("errorCode", Value::Str(code.to_owned())),
            ("msg", Value::Str(msg.to_owned())),
        ])
    }

    /// Adds a string value.
    pub fn with(mut self, key: &'static str, v: &str) -> Self {
        self.0.push((key, Value::Str(v.to_owned())));
        self
    }

    /// Adds a number.
    pub fn with_num(mut self, key: &'static str, n: i64) -> Self {
        self.0.push((key, Value::Num(n)));
        self
    }

    /// `status`.
    pub fn status(&self) -> bool {
        self.0.iter().any(|(k, v)| *k == "status" && *v == Value::Bool(true))
    }

    /// A string value by key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.value(key).and_then(|v| match v {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        })
    }

    /// A number by key.
    pub fn num(&self, key: &str) -> Option<i64> {
        self.value(key).and_then(|v| match v {
            Value::Num(n) => Some(*n),
            _ => None,
        })
    }

    /// Any value by key.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// `errorCode` of a `status: false` answer.
    pub fn error_code(&self) -> Option<&str> {
        self.get("errorCode")
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}: {v}")?;
        }
        f.write_str("}")
    }
}
