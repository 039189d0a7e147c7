//! Scanning a reader of any size in constant memory.
//!
//! The input is read in windows of [`WINDOW`] bytes. Each window is scanned
//! together with [`MARGIN`] bytes before it (so a match that began in the
//! previous window is seen whole and not found again as a shorter match)
//! and [`MARGIN`] bytes after it (so a match that runs over the window's
//! end is seen whole). A window reports only the findings that start inside
//! it, so each finding is reported once, with offsets and line numbers
//! relative to the whole input. A single match longer than [`MARGIN`] that
//! straddles a window boundary can be missed or cut; no pattern but a
//! private key block comes near that length.
//!
//! A table's header may lie any distance above a window: each window's scan
//! hands on the header in effect at the first line start of the next
//! window's text, so column context is the same as in a whole-text scan.
//! A table row longer than [`MARGIN`] that runs over a window boundary may
//! lose its column context there.

use std::io::{self, Read};

use crate::detector::finish;
use crate::{Detector, Finding};

/// Bytes per window.
pub const WINDOW: usize = 1 << 20;
/// Bytes of context kept on each side of a window.
pub const MARGIN: usize = 16 * 1024;

/// What a streaming scan saw, besides its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamSummary {
    /// Bytes read.
    pub bytes: u64,
    /// The input looked binary (a NUL byte in its first 8 KiB) and was not
    /// scanned further.
    pub binary: bool,
}

/// True when `head` (the start of a file) looks like binary data rather
/// than text: it holds a NUL byte, which text encodings we scan never do.
pub fn looks_binary(head: &[u8]) -> bool {
    head.iter().take(8192).any(|b| *b == 0)
}

impl Detector {
    /// Scans everything `reader` yields, in memory bounded by the window
    /// size, calling `on_finding` for each finding in order of position.
    pub fn scan_reader<R: Read>(
        &self,
        reader: R,
        on_finding: impl FnMut(Finding),
    ) -> io::Result<StreamSummary> {
        self.scan_reader_with(reader, WINDOW, MARGIN, on_finding)
    }

    /// [`Detector::scan_reader`] with windows of `window` bytes and margins
    /// of `margin` bytes (tests use small ones to put many matches across
    /// window boundaries). A margin shorter than a match plus the context
    /// window can miss or change findings at boundaries.
    pub fn scan_reader_with<R: Read>(
        &self,
        mut reader: R,
        window: usize,
        margin: usize,
        mut on_finding: impl FnMut(Finding),
    ) -> io::Result<StreamSummary> {
        let window = window.max(1);
        // buf holds [left margin][window][right margin]; `owned_from` is
        // where the window starts in buf, `base` the input offset of buf[0].
        let mut buf: Vec<u8> = Vec::with_capacity(window + 2 * margin);
        let mut base: u64 = 0;
        let mut owned_from = 0usize;
        let mut line_at_base: u64 = 1;
        let mut summary = StreamSummary::default();
        let mut first = true;
        // The table header in effect at the first line start in buf, and
        // whether buf[0] starts a line.
        let mut header = None;
        let mut at_line_start = true;
        let mut scratch = self.scratch();
        loop {
            let want = owned_from + window + margin;
            let eof = fill(&mut reader, &mut buf, want)?;
            if first {
                first = false;
                if looks_binary(&buf) {
                    summary.binary = true;
                    summary.bytes = buf.len() as u64;
                    // Count the rest without scanning it.
                    summary.bytes += io::copy(&mut reader, &mut io::sink())?;
                    return Ok(summary);
                }
            }
            let owned_to = if eof {
                buf.len()
            } else {
                (owned_from + window).min(buf.len())
            };
            // Slide: keep `margin` bytes before the next window.
            let drop = owned_to.saturating_sub(margin);
            let (candidates, next_header) =
                self.candidates_in(&buf, at_line_start, header.take(), drop, &mut scratch);
            let candidates: Vec<_> = candidates
                .into_iter()
                .filter(|c| c.start >= owned_from && c.start < owned_to)
                .collect();
            for f in finish(&buf, &candidates, base, line_at_base) {
                on_finding(f);
            }
            if eof {
                summary.bytes = base + buf.len() as u64;
                return Ok(summary);
            }
            header = next_header;
            if drop > 0 {
                at_line_start = buf[drop - 1] == b'\n';
            }
            line_at_base += memchr::memchr_iter(b'\n', &buf[..drop]).count() as u64;
            buf.drain(..drop);
            base += drop as u64;
            owned_from = owned_to - drop;
        }
    }
}

/// Reads until `buf` holds `want` bytes or the reader ends; true at the end.
fn fill<R: Read>(reader: &mut R, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    let mut chunk = [0u8; 64 * 1024];
    while buf.len() < want {
        let n = (want - buf.len()).min(chunk.len());
        match reader.read(&mut chunk[..n]) {
            Ok(0) => return Ok(true),
            Ok(read) => buf.extend_from_slice(&chunk[..read]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}
