//! The errors of stamping. Every error means no copy was made: there is no
//! "serve the original instead" path, so the caller has nothing to send.

use crate::Format;

/// Why a copy could not be stamped. The messages say what was wrong and
/// what the owner can do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MarkError {
    /// The file is not of a kind this crate can stamp.
    #[error(
        "cannot stamp this file: {what}; share it as view-only, or convert it to PDF \
         (or another supported format) and upload that instead"
    )]
    Unsupported { what: String },

    /// The bytes are not a valid file of the format they claim to be.
    #[error(
        "cannot stamp this {format} file: it is damaged or not really a {format} file \
         ({detail}); open it in the program that made it, save or export it again and \
         upload the new copy"
    )]
    Malformed { format: Format, detail: String },

    /// Writing a file (an export's workbook) failed.
    #[error("cannot write the {format} file: {detail}")]
    Write { format: Format, detail: String },

    /// The file is encrypted or password protected.
    #[error(
        "cannot stamp this {format} file: it is encrypted or password protected; remove \
         the password (e.g. `qpdf --decrypt in.pdf out.pdf`) and upload the unprotected \
         copy, which the vault encrypts at rest anyway"
    )]
    Encrypted { format: Format },

    /// A text format whose bytes are not UTF-8.
    #[error(
        "cannot stamp this {format} file: it is not UTF-8 text (invalid byte at offset \
         {offset}); convert it to UTF-8 (e.g. `iconv -f WINDOWS-1252 -t UTF-8`) and upload \
         it again"
    )]
    NotUtf8 { format: Format, offset: u64 },

    /// The file is larger than stamping allows (e.g. an image whose pixels
    /// would not fit in memory).
    #[error("cannot stamp this {format} file: {detail}; share it as view-only or make it smaller")]
    TooLarge { format: Format, detail: String },

    /// The stamp itself is unusable (e.g. an empty label).
    #[error("the stamp is not valid: {0}")]
    InvalidStamp(String),

    /// Reading the input or writing the stamped copy failed (streaming).
    #[error("stamping stopped: {0}; nothing stamped was completed, so send nothing")]
    Io(#[from] std::io::Error),

    /// A stamped copy could not be written in the format (a bug or a limit
    /// of an encoder). The copy is not sent.
    #[error("could not write the stamped {format} copy: {detail}")]
    Encode { format: Format, detail: String },
}
