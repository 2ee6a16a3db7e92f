//! Formatting into a stack buffer: the hot paths build face codes, transaction ids and
//! out_trade_nos for the fsm's fixed-capacity texts without touching the heap.

use core::fmt;

/// Up to `N` bytes of formatted text on the stack. Text past `N` is cut (never panics).
pub struct StackText<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackText<N> {
    /// Formats `args` (use `format_args!`).
    pub fn format(args: fmt::Arguments<'_>) -> Self {
        let mut s = StackText { buf: [0; N], len: 0 };
        let _ = fmt::write(&mut s, args);
        s
    }

    /// The text of `bytes` (ASCII), cut to nothing if it does not fit.
    pub fn from_ascii(bytes: &[u8]) -> Self {
        let mut s = StackText { buf: [0; N], len: 0 };
        if bytes.len() <= N && bytes.is_ascii() {
            s.buf[..bytes.len()].copy_from_slice(bytes);
            s.len = bytes.len();
        }
        s
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only whole `&str`s are copied in, and only when they fit.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> fmt::Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes `v` as exactly `buf.len()` lower-case hex digits (the low ones), as `{:0Nx}`
/// does for a value that fits.
pub fn put_hex(buf: &mut [u8], mut v: u64) {
    for b in buf.iter_mut().rev() {
        *b = b"0123456789abcdef"[(v & 0xF) as usize];
        v >>= 4;
    }
}

/// Writes `v` as exactly `buf.len()` decimal digits (the low ones), as `{:0N}` does for a
/// value that fits.
pub fn put_dec(buf: &mut [u8], mut v: u64) {
    for b in buf.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// The number of hex digits of `v`, at least `min`: the width `{:0minx}` prints.
pub fn hex_width(v: u64, min: usize) -> usize {
    let bits = 64 - v.leading_zeros() as usize;
    bits.div_ceil(4).max(1).max(min)
}

/// The number of decimal digits of `v`, at least `min`: the width `{:0min}` prints.
pub fn dec_width(v: u64, min: usize) -> usize {
    let mut n = 1;
    let mut x = v;
    while x >= 10 {
        x /= 10;
        n += 1;
    }
    n.max(min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_like_format() {
        for (p, n) in [(0u32, 0u8), (0xdead_beef, 7), (0x1234, 99), (u32::MAX, 100), (5, 255)] {
            let mut b = [0u8; 13];
            b[..2].copy_from_slice(b"FP");
            put_hex(&mut b[2..10], u64::from(p));
            let w = dec_width(u64::from(n), 2);
            put_dec(&mut b[10..10 + w], u64::from(n));
            assert_eq!(core::str::from_utf8(&b[..10 + w]).unwrap(), format!("FP{p:08x}{n:02}"));
        }
        for (s, e) in [(0u32, 0u64), (7, 1_700_000_000_123), (u32::MAX, u64::MAX)] {
            let mut b = [0u8; 40];
            let mid = dec_width(u64::from(s), 1);
            put_dec(&mut b[..mid], u64::from(s));
            b[mid] = b'-';
            let end = mid + 1 + dec_width(e, 1);
            put_dec(&mut b[mid + 1..end], e);
            assert_eq!(core::str::from_utf8(&b[..end]).unwrap(), format!("{s}-{e}"));
        }
        for v in [0u64, 1, 0xf, 0x10, 0xffff, 0x1_0000, u64::MAX] {
            let mut b = [0u8; 16];
            let w = hex_width(v, 4);
            put_hex(&mut b[..w], v);
            assert_eq!(core::str::from_utf8(&b[..w]).unwrap(), format!("{v:04x}"));
            assert_eq!(StackText::<40>::from_ascii(&b[..w]).as_str(), format!("{v:04x}"));
        }
        for n in [0u32, 1, 42, 1_000_000, u32::MAX] {
            let mut b = [0u8; 15];
            put_dec(&mut b, u64::from(n));
            assert_eq!(core::str::from_utf8(&b).unwrap(), format!("{n:015}"));
        }
    }

    #[test]
    fn formats_like_format() {
        let s = StackText::<32>::format(format_args!("13{:010}{:06}", 7u32, 42u32));
        assert_eq!(s.as_str(), format!("13{:010}{:06}", 7u32, 42u32));
        let cut = StackText::<4>::format(format_args!("{}", "toolong"));
        assert_eq!(cut.as_str(), "");
    }
}
