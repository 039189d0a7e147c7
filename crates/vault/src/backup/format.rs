//! The plaintext container inside a backup's age encryption and zstd
//! compression (docs/backup.md): a magic line, then frames of
//! `tag (1 byte) || length (u32, big-endian) || payload`, in the order
//! `H (P D* E)* M S Z`, then nothing. Row values inside table parts are
//! tagged and length-prefixed too. Reading is strict: an unknown tag, a
//! frame out of order, an oversized length or a byte after `Z` is an error.

use std::io::{self, Read, Write};

use confidant_store::Value;
use serde::{Deserialize, Serialize};

use crate::VaultError;

pub(crate) const MAGIC: &[u8] = b"CONFIDANT-BACKUP-1\n";

pub(crate) const TAG_HEADER: u8 = b'H';
pub(crate) const TAG_PART: u8 = b'P';
pub(crate) const TAG_DATA: u8 = b'D';
pub(crate) const TAG_END_PART: u8 = b'E';
pub(crate) const TAG_MANIFEST: u8 = b'M';
pub(crate) const TAG_SIGNATURE: u8 = b'S';
pub(crate) const TAG_END: u8 = b'Z';

/// The largest data frame written (and accepted).
pub(crate) const MAX_DATA: usize = 1024 * 1024;
/// The largest header, part or signature frame accepted.
const MAX_SMALL: usize = 64 * 1024;
/// The largest manifest accepted (a manifest lists every part).
const MAX_MANIFEST: usize = 512 * 1024 * 1024;
/// The largest single value in a table row.
pub(crate) const MAX_VALUE: usize = 256 * 1024 * 1024;

/// What a part holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    /// Every row of one database table.
    Table,
    /// One encrypted blob (a document body), byte for byte.
    Blob,
    /// A small file of the data dir (the backup settings).
    File,
}

impl PartKind {
    pub(crate) fn code(self) -> u8 {
        match self {
            PartKind::Table => 1,
            PartKind::Blob => 2,
            PartKind::File => 3,
        }
    }
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(PartKind::Table),
            2 => Some(PartKind::Blob),
            3 => Some(PartKind::File),
            _ => None,
        }
    }
}

pub(crate) fn corrupt(what: impl std::fmt::Display) -> VaultError {
    VaultError::Integrity(format!(
        "the backup is damaged or was changed: {what}; nothing was restored from it"
    ))
}

/// Writes one frame.
pub(crate) fn write_frame(out: &mut Vec<u8>, tag: u8, payload: &[u8]) -> Result<(), VaultError> {
    let len = u32::try_from(payload.len())
        .map_err(|_| VaultError::Internal("a backup frame is too large".into()))?;
    out.push(tag);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// The payload of a part frame: index, kind, name.
pub(crate) fn part_payload(index: u32, kind: PartKind, name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + name.len());
    out.extend_from_slice(&index.to_be_bytes());
    out.push(kind.code());
    out.extend_from_slice(name.as_bytes());
    out
}

pub(crate) fn parse_part_payload(payload: &[u8]) -> Result<(u32, PartKind, String), VaultError> {
    let (index, rest) = payload
        .split_first_chunk::<4>()
        .ok_or_else(|| corrupt("a part frame is too short"))?;
    let (&code, name) = rest
        .split_first()
        .ok_or_else(|| corrupt("a part frame is too short"))?;
    let kind = PartKind::from_code(code).ok_or_else(|| corrupt("a part has an unknown kind"))?;
    let name = String::from_utf8(name.to_vec()).map_err(|_| corrupt("a part name is not UTF-8"))?;
    Ok((u32::from_be_bytes(*index), kind, name))
}

/// Reads one frame: `Ok(None)` at a clean end of input (only valid after
/// `Z`, which the caller checks).
pub(crate) fn read_frame(
    input: &mut impl Read,
    buf: &mut Vec<u8>,
) -> Result<Option<u8>, VaultError> {
    let mut head = [0u8; 5];
    let mut got = 0;
    while got < head.len() {
        match input.read(&mut head[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(corrupt("it ends in the middle of a frame (truncated)")),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_error(&e)),
        }
    }
    let tag = head[0];
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let max = match tag {
        TAG_DATA => MAX_DATA,
        TAG_MANIFEST => MAX_MANIFEST,
        TAG_HEADER | TAG_PART | TAG_SIGNATURE => MAX_SMALL,
        TAG_END_PART | TAG_END => 0,
        other => return Err(corrupt(format!("unknown frame tag {other:#04x}"))),
    };
    if len > max {
        return Err(corrupt(format!(
            "a frame claims {len} bytes, more than its kind allows"
        )));
    }
    buf.clear();
    buf.resize(len, 0);
    input.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            corrupt("it ends in the middle of a frame (truncated)")
        } else {
            read_error(&e)
        }
    })?;
    Ok(Some(tag))
}

/// An error from reading the decrypted stream: age reports changed or
/// truncated ciphertext as an I/O error of kind `InvalidData`.
pub(crate) fn read_error(e: &io::Error) -> VaultError {
    match e.kind() {
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => corrupt(format!(
            "the encrypted file does not authenticate ({e}): a byte was changed or it was truncated"
        )),
        _ => VaultError::Unavailable(format!("cannot read the backup: {e}")),
    }
}

pub(crate) fn check_magic(input: &mut impl Read) -> Result<(), VaultError> {
    let mut magic = [0u8; MAGIC.len()];
    input.read_exact(&mut magic).map_err(|e| read_error(&e))?;
    if magic != MAGIC {
        return Err(corrupt("it is not a confidant backup (wrong magic line)"));
    }
    Ok(())
}

/// The start of a table part: its column names (`u16` count, then each
/// as `u16` length and UTF-8), so rows decode before the manifest arrives.
pub(crate) fn column_header(columns: &[String]) -> Result<Vec<u8>, VaultError> {
    let too_many = || VaultError::Internal("a table has too many or too long columns".into());
    let mut out = Vec::new();
    out.extend_from_slice(
        &u16::try_from(columns.len())
            .map_err(|_| too_many())?
            .to_be_bytes(),
    );
    for c in columns {
        out.extend_from_slice(
            &u16::try_from(c.len())
                .map_err(|_| too_many())?
                .to_be_bytes(),
        );
        out.extend_from_slice(c.as_bytes());
    }
    Ok(out)
}

/// Parses a column header at the start of `buf`: `Ok(None)` when `buf`
/// ends before it does; otherwise the columns and the bytes they took.
pub(crate) fn parse_column_header(buf: &[u8]) -> Result<Option<(Vec<String>, usize)>, VaultError> {
    let Some(count) = take(buf, 0, 2) else {
        return Ok(None);
    };
    let count = u16::from_be_bytes([count[0], count[1]]);
    let mut at = 2;
    let mut out = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let Some(len) = take(buf, at, 2) else {
            return Ok(None);
        };
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let Some(name) = take(buf, at + 2, len) else {
            return Ok(None);
        };
        let name = std::str::from_utf8(name).map_err(|_| corrupt("a column name is not UTF-8"))?;
        out.push(name.to_owned());
        at += 2 + len;
    }
    Ok(Some((out, at)))
}

/// Appends the encoding of one row.
pub(crate) fn encode_row(values: &[Value], out: &mut Vec<u8>) {
    for value in values {
        match value {
            Value::Null => out.push(0),
            Value::Integer(v) => {
                out.push(1);
                out.extend_from_slice(&v.to_be_bytes());
            }
            Value::Real(v) => {
                out.push(2);
                out.extend_from_slice(&v.to_bits().to_be_bytes());
            }
            Value::Text(s) => {
                out.push(3);
                push_len(out, s.len());
                out.extend_from_slice(s.as_bytes());
            }
            Value::Bytes(b) => {
                out.push(4);
                push_len(out, b.len());
                out.extend_from_slice(b);
            }
            Value::Bool(b) => {
                out.push(5);
                out.push(u8::from(*b));
            }
        }
    }
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    // Values above MAX_VALUE are refused when read; the database holds none.
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
}

/// Decodes the complete rows at the start of `buf` (rows of `width`
/// values), returning them and how many bytes they took. An incomplete
/// row at the end is left for the next chunk.
pub(crate) fn decode_rows(
    buf: &[u8],
    width: usize,
) -> Result<(Vec<Vec<Value>>, usize), VaultError> {
    let mut rows = Vec::new();
    let mut pos = 0;
    'rows: loop {
        let mut at = pos;
        let mut row = Vec::with_capacity(width);
        for _ in 0..width {
            match decode_value(buf, at)? {
                Some((value, next)) => {
                    row.push(value);
                    at = next;
                }
                None => break 'rows,
            }
        }
        rows.push(row);
        pos = at;
        if width == 0 || pos == buf.len() {
            break;
        }
    }
    Ok((rows, pos))
}

fn take(buf: &[u8], at: usize, n: usize) -> Option<&[u8]> {
    buf.get(at..at.checked_add(n)?)
}

/// One value at `at`: `Ok(None)` when `buf` ends before it does.
fn decode_value(buf: &[u8], at: usize) -> Result<Option<(Value, usize)>, VaultError> {
    let Some(&tag) = buf.get(at) else {
        return Ok(None);
    };
    let at = at + 1;
    let fixed = |n: usize| take(buf, at, n);
    Ok(match tag {
        0 => Some((Value::Null, at)),
        1 => fixed(8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            (Value::Integer(i64::from_be_bytes(a)), at + 8)
        }),
        2 => fixed(8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            (Value::Real(f64::from_bits(u64::from_be_bytes(a))), at + 8)
        }),
        3 | 4 => {
            let Some(len) = fixed(4) else {
                return Ok(None);
            };
            let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            if len > MAX_VALUE {
                return Err(corrupt("a value in a table is too large"));
            }
            match take(buf, at + 4, len) {
                None => None,
                Some(bytes) if tag == 3 => {
                    let text = std::str::from_utf8(bytes)
                        .map_err(|_| corrupt("a text value is not UTF-8"))?;
                    Some((Value::Text(text.to_owned()), at + 4 + len))
                }
                Some(bytes) => Some((Value::Bytes(bytes.to_vec()), at + 4 + len)),
            }
        }
        5 => match buf.get(at) {
            None => None,
            Some(0) => Some((Value::Bool(false), at + 1)),
            Some(1) => Some((Value::Bool(true), at + 1)),
            Some(_) => return Err(corrupt("a boolean value is neither 0 nor 1")),
        },
        _ => return Err(corrupt(format!("a value has an unknown tag {tag}"))),
    })
}

/// A writer that counts and hashes what passes through it.
pub(crate) struct HashingWriter<W> {
    pub inner: W,
    pub hasher: sha2::Sha256,
    pub len: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        use sha2::Digest as _;
        let n = self.inner.write(buf)?;
        if let Some(written) = buf.get(..n) {
            self.hasher.update(written);
        }
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn rows_round_trip_across_chunk_boundaries() {
        let rows = vec![
            vec![
                Value::Null,
                Value::Integer(-5),
                Value::Text("héllo".into()),
                Value::Bytes(vec![0, 1, 2]),
                Value::Bool(true),
                Value::Real(1.5),
            ],
            vec![
                Value::Integer(i64::MAX),
                Value::Text(String::new()),
                Value::Bytes(vec![]),
                Value::Null,
                Value::Bool(false),
                Value::Null,
            ],
        ];
        let mut bytes = Vec::new();
        for r in &rows {
            encode_row(r, &mut bytes);
        }
        for split in 0..bytes.len() {
            let (first, used) = decode_rows(&bytes[..split], 6).unwrap();
            let mut rest = bytes[used..split].to_vec();
            rest.extend_from_slice(&bytes[split..]);
            let (second, used2) = decode_rows(&rest, 6).unwrap();
            assert_eq!(used2, rest.len());
            let all: Vec<_> = first.into_iter().chain(second).collect();
            assert_eq!(all, rows, "split at {split}");
        }
    }

    #[test]
    fn frames_are_read_strictly() {
        let mut out = Vec::new();
        write_frame(&mut out, TAG_DATA, b"abc").unwrap();
        let mut buf = Vec::new();
        let mut input = &out[..];
        assert_eq!(read_frame(&mut input, &mut buf).unwrap(), Some(TAG_DATA));
        assert_eq!(buf, b"abc");
        assert_eq!(read_frame(&mut input, &mut buf).unwrap(), None);
        assert!(read_frame(&mut &out[..6], &mut buf).is_err());
        assert!(read_frame(&mut &b"Q\0\0\0\0"[..], &mut buf).is_err());
        assert!(read_frame(&mut &b"E\0\0\0\x01x"[..], &mut buf).is_err());
    }
}
