//! WeChat Pay v2 timestamps: `time_start` of a pay request and `time_end` of a paid order,
//! `yyyyMMddHHmmss` in China Standard Time (the micropay and orderquery parameter tables:
//! <https://pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=9_10&index=1>,
//! <https://pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=9_2>).
//!
//! The machine has no clock: the host stamps the order (`OrderRequest::time_start`) from
//! its own wall clock, and the machine only compares that with the `time_end` a query
//! reports, to tell this order's payment from an older one under the same out_trade_no.

use core::fmt;

use crate::text::{Field, FieldError};

/// A `yyyyMMddHHmmss` timestamp, kept as seconds since 2000-01-01 00:00:00 (same zone as
/// the wire text: WeChat's is China Standard Time, no daylight saving).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WxTime(u64);

/// Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's `days_from_civil`).
const fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
const fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

const EPOCH_2000_DAYS: i64 = days_from_civil(2000, 1, 1);

const fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl WxTime {
    /// The timestamp of a calendar date and time, or `None` if it does not exist or is
    /// before 2000 (WeChat Pay did not).
    pub const fn from_civil(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Option<WxTime> {
        let (y, m, d) = (year as i64, month as u32, day as u32);
        if year < 2000 || month == 0 || month > 12 || day == 0 || d > days_in_month(y, m) {
            return None;
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let days = (days_from_civil(y, m, d) - EPOCH_2000_DAYS) as u64;
        Some(WxTime(
            days * 86_400 + hour as u64 * 3600 + minute as u64 * 60 + second as u64,
        ))
    }

    /// The timestamp `secs` seconds after 2000-01-01 00:00:00.
    pub const fn from_secs(secs: u64) -> WxTime {
        WxTime(secs)
    }

    /// Seconds since 2000-01-01 00:00:00.
    pub const fn secs(self) -> u64 {
        self.0
    }

    /// Parses the 14-digit wire form; anything else is `Malformed` for `field`.
    pub fn parse(field: Field, text: &str) -> Result<WxTime, FieldError> {
        let b = text.as_bytes();
        if b.len() != 14 || !b.iter().all(u8::is_ascii_digit) {
            return Err(FieldError::Malformed { field });
        }
        let num = |from: usize, to: usize| {
            b.get(from..to)
                .unwrap_or_default()
                .iter()
                .fold(0u16, |acc, c| acc * 10 + u16::from(c - b'0'))
        };
        // Every part is at most 4 digits, so the narrowing never loses a digit that matters.
        let part = |from, to| u8::try_from(num(from, to)).unwrap_or(u8::MAX);
        WxTime::from_civil(
            num(0, 4),
            part(4, 6),
            part(6, 8),
            part(8, 10),
            part(10, 12),
            part(12, 14),
        )
        .ok_or(FieldError::Malformed { field })
    }

    /// The 14-digit wire form, written into `buf`.
    pub fn write(self, buf: &mut [u8; 14]) -> &str {
        let (y, m, d) = civil_from_days(EPOCH_2000_DAYS + (self.0 / 86_400) as i64);
        let rest = self.0 % 86_400;
        let parts = [
            (y as u64, 4),
            (u64::from(m), 2),
            (u64::from(d), 2),
            (rest / 3600, 2),
            (rest / 60 % 60, 2),
            (rest % 60, 2),
        ];
        let mut at = 0;
        for (value, width) in parts {
            let mut v = value;
            for i in (0..width).rev() {
                if let Some(slot) = buf.get_mut(at + i) {
                    *slot = b'0' + (v % 10) as u8;
                }
                v /= 10;
            }
            at += width;
        }
        core::str::from_utf8(buf).unwrap_or_default()
    }
}

impl fmt::Display for WxTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 14];
        f.write_str(self.write(&mut buf))
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for WxTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 14];
        s.serialize_str(self.write(&mut buf))
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for WxTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = WxTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a yyyyMMddHHmmss timestamp")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<WxTime, E> {
                WxTime::parse(Field::TimeEnd, v).map_err(|_| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_wire_form_and_orders_by_time() {
        let t = WxTime::parse(Field::TimeEnd, "20261201061502").unwrap();
        let mut buf = [0u8; 14];
        assert_eq!(t.write(&mut buf), "20261201061502");
        let leap = WxTime::parse(Field::TimeEnd, "20240229235959").unwrap();
        assert_eq!(
            leap.secs() + 1,
            WxTime::parse(Field::TimeEnd, "20240301000000").unwrap().secs()
        );
        assert!(leap < t);
        assert_eq!(WxTime::from_secs(0).to_string(), "20000101000000");
    }

    /// Every day of the century, counted by a calendar written independently here (the
    /// Gregorian leap rule and month lengths from a table): the wire form, the seconds
    /// and the order agree with it, and the day after each month's last does not exist.
    #[test]
    fn every_day_from_2000_to_2100_matches_a_calendar_counted_by_hand() {
        const LENGTHS: [u8; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        let leap = |y: u16| y.is_multiple_of(400) || (y.is_multiple_of(4) && !y.is_multiple_of(100));
        let mut day: u64 = 0;
        let mut buf = [0u8; 14];
        for y in 2000u16..=2100 {
            for m in 1u8..=12 {
                let len = LENGTHS[usize::from(m - 1)] + u8::from(m == 2 && leap(y));
                for d in 1..=len {
                    let t = WxTime::from_civil(y, m, d, 23, 59, 58).unwrap();
                    assert_eq!(t.secs(), day * 86_400 + 86_398, "{y}-{m}-{d}");
                    let wire = wire_form(y, m, d, "235958");
                    assert_eq!(t.write(&mut buf), wire.as_str(), "{y}-{m}-{d}");
                    assert_eq!(WxTime::parse(Field::TimeEnd, &wire), Ok(t));
                    assert_eq!(
                        WxTime::from_secs(day * 86_400).write(&mut buf),
                        wire_form(y, m, d, "000000")
                    );
                    day += 1;
                }
                assert_eq!(WxTime::from_civil(y, m, len + 1, 0, 0, 0), None, "{y}-{m}-{}", len + 1);
            }
        }
        // 2000 is a leap year (divisible by 400), 2100 is not (by 100).
        assert!(WxTime::from_civil(2000, 2, 29, 0, 0, 0).is_some());
        assert!(WxTime::from_civil(2100, 2, 29, 0, 0, 0).is_none());
        assert_eq!(WxTime::from_civil(2026, 12, 1, 24, 0, 0), None);
        assert_eq!(WxTime::from_civil(2026, 12, 1, 0, 60, 0), None);
        assert_eq!(WxTime::from_civil(2026, 12, 1, 0, 0, 60), None);
        assert_eq!(WxTime::from_civil(2026, 0, 1, 0, 0, 0), None);
        assert_eq!(WxTime::from_civil(2026, 1, 0, 0, 0, 0), None);
    }

    /// `yyyyMMdd` + `hhmmss` as the wire writes them (std's formatter, not the code under test).
    fn wire_form(y: u16, m: u8, d: u8, hms: &str) -> std::string::String {
        std::format!("{y:04}{m:02}{d:02}{hms}")
    }

    #[test]
    fn rejects_what_is_not_a_time() {
        for bad in [
            "2026120106150",
            "20261301000000",
            "20230229000000",
            "2026120106150x",
            "19991231235959",
        ] {
            assert_eq!(
                WxTime::parse(Field::TimeEnd, bad),
                Err(FieldError::Malformed { field: Field::TimeEnd }),
                "{bad}"
            );
        }
    }
}
