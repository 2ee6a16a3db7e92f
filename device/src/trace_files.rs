//! The trace directory on a terminal: one file per session, named so that they sort in
//! the order they were written, the oldest deleted past a count and a size, and a session
//! that resumes an order after a power loss linked to the file of the session it continues.
//!
//! Names are `facepay-<seq>-<UTC time>.jsonl`: `seq` (8 digits) is one more than the
//! newest file's, so the order holds even when the terminal's clock is set back; the time
//! (`20261201T061502Z`) is for people.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// What the directory keeps: at most `files` files and `bytes` bytes (the newest first;
/// the session being written is never deleted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Files kept, the new one included.
    pub files: usize,
    /// Bytes kept, summed over the files kept before the new one.
    pub bytes: u64,
}

impl Default for Retention {
    /// 200 files and 64 MiB: a session (app start to release) is about 1.5 KB per order
    /// redacted, so this is weeks of a busy till, and small next to an Android app's
    /// storage.
    fn default() -> Self {
        Retention {
            files: 200,
            bytes: 64 << 20,
        }
    }
}

/// A session's trace file, opened.
#[derive(Debug)]
pub struct SessionFile {
    /// The file, opened for writing (created new).
    pub file: std::fs::File,
    /// Its path.
    pub path: PathBuf,
    /// Its name without `.jsonl`: the header's `session`.
    pub session: String,
    /// The newest earlier session's name, when this one resumes an order: the header's
    /// `continues`.
    pub continues: Option<String>,
}

const PREFIX: &str = "facepay-";
const SUFFIX: &str = ".jsonl";

/// The trace files in `dir`, oldest first, with their sequence numbers and sizes.
fn existing(dir: &Path) -> io::Result<Vec<(u64, PathBuf, u64)>> {
    let mut v = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(PREFIX).and_then(|r| r.strip_suffix(SUFFIX)) else {
            continue;
        };
        let Some(seq) = rest.split('-').next().and_then(|s| s.parse::<u64>().ok()) else {
            continue;
        };
        let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
        v.push((seq, entry.path(), len));
    }
    v.sort();
    Ok(v)
}

/// `2026-12-01 06:15:02 UTC` as `20261201T061502Z` (civil from days: H. Hinnant's
/// algorithm, so no date crate is needed for one timestamp).
pub fn utc_stamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let s = secs % 86_400;
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Opens a new session's file in `dir` (created if need be), after deleting the oldest
/// files past `keep`. `resumes` says the session resumes an order from the journal: it
/// then continues the newest earlier session.
pub fn open_session(dir: &Path, keep: Retention, resumes: bool, now: SystemTime) -> io::Result<SessionFile> {
    std::fs::create_dir_all(dir)?;
    let files = existing(dir)?;
    let seq = files.last().map_or(1, |(s, _, _)| s + 1);
    let continues = if resumes {
        files
            .last()
            .and_then(|(_, p, _)| p.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
    } else {
        None
    };
    // Keep the newest files within the limits, counting the new one as one file.
    let mut kept_bytes = 0u64;
    let mut kept = 1usize;
    for (_, path, len) in files.iter().rev() {
        if kept < keep.files.max(1) && kept_bytes + len <= keep.bytes {
            kept += 1;
            kept_bytes += len;
        } else {
            let _ = std::fs::remove_file(path);
        }
    }
    let session = format!("{PREFIX}{seq:08}-{}", utc_stamp(now));
    let path = dir.join(format!("{session}{SUFFIX}"));
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
    Ok(SessionFile {
        file,
        path,
        session,
        continues,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("facepay-trace-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn stamps_are_utc_civil_time() {
        let t = UNIX_EPOCH + Duration::from_secs(1_796_105_702); // 2026-12-01 06:15:02 UTC
        assert_eq!(utc_stamp(t), "20261201T061502Z");
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000Z");
        assert_eq!(
            utc_stamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "20000229T000000Z"
        );
    }

    #[test]
    fn one_file_per_session_in_order_linked_and_pruned() {
        let d = dir("lifecycle");
        // The clock goes backwards between sessions: the sequence keeps the order.
        let a = open_session(
            &d,
            Retention::default(),
            false,
            UNIX_EPOCH + Duration::from_secs(2_000_000_000),
        )
        .unwrap();
        let b = open_session(&d, Retention::default(), true, UNIX_EPOCH + Duration::from_secs(1_000)).unwrap();
        assert!(a.session < b.session, "{} {}", a.session, b.session);
        assert_eq!(a.continues, None);
        assert_eq!(b.continues.as_deref(), Some(a.session.as_str()));
        let c = open_session(&d, Retention::default(), false, SystemTime::now()).unwrap();
        assert_eq!(c.continues, None);
        // Past the count, the oldest go.
        let keep = Retention {
            files: 2,
            bytes: u64::MAX,
        };
        let e = open_session(&d, keep, false, SystemTime::now()).unwrap();
        let left: Vec<_> = existing(&d).unwrap().into_iter().map(|(_, p, _)| p).collect();
        assert_eq!(left, vec![c.path.clone(), e.path.clone()]);
        // Past the size, too (the new file always stays).
        std::fs::write(&c.path, vec![b'x'; 1000]).unwrap();
        std::fs::write(&e.path, vec![b'x'; 1000]).unwrap();
        let f = open_session(&d, Retention { files: 10, bytes: 500 }, false, SystemTime::now()).unwrap();
        let left: Vec<_> = existing(&d).unwrap().into_iter().map(|(_, p, _)| p).collect();
        assert_eq!(left, vec![f.path.clone()]);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
