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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_format() {
        let s = StackText::<32>::format(format_args!("13{:010}{:06}", 7u32, 42u32));
        assert_eq!(s.as_str(), format!("13{:010}{:06}", 7u32, 42u32));
        let cut = StackText::<4>::format(format_args!("{}", "toolong"));
        assert_eq!(cut.as_str(), "");
    }
}
