//! Text into a caller's fixed buffer, for the codecs and commands that format numbers
//! without an allocator.

use core::fmt;

/// A [`fmt::Write`] over a byte buffer; a write that does not fit fails whole.
#[derive(Debug)]
pub(crate) struct StackText<'b> {
    buffer: &'b mut [u8],
    size: usize,
}

impl<'b> StackText<'b> {
    /// Empty text over `buffer`.
    pub(crate) fn new(buffer: &'b mut [u8]) -> Self {
        Self { buffer, size: 0 }
    }

    /// The text written so far.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buffer.get(..self.size).unwrap_or_default()
    }

    /// The text written, for as long as the buffer is borrowed.
    pub(crate) fn into_bytes(self) -> &'b [u8] {
        let size = self.size;
        self.buffer.get(..size).unwrap_or_default()
    }

    /// Appends `bytes`.
    ///
    /// # Panics
    /// If they do not fit: callers size their buffers for the longest text they write.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let fits = self.try_push(bytes);
        assert!(
            fits,
            "text longer than its buffer ({} bytes)",
            self.buffer.len()
        );
    }

    /// Appends `bytes` if they fit; whether they did.
    pub(crate) fn try_push(&mut self, bytes: &[u8]) -> bool {
        let end = self.size + bytes.len();
        let Some(target) = self.buffer.get_mut(self.size..end) else {
            return false;
        };
        target.copy_from_slice(bytes);
        self.size = end;
        true
    }
}

impl fmt::Write for StackText<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if self.try_push(text.as_bytes()) {
            Ok(())
        } else {
            Err(fmt::Error)
        }
    }
}
