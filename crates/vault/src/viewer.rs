//! Documents shown in the browser instead of downloaded: the `view` action.
//!
//! A document the owner set to "view only" is never offered for download to
//! anyone but the owner and admins: it is shown on its page, stamped for
//! its viewer like any copy of a Confidential item. Text is shown as text,
//! pictures as pictures, and PDF pages as pictures rendered on the server
//! by poppler's `pdftoppm` (the stamp is on every page, and no PDF file
//! leaves). DOCX and XLSX cannot be shown this way; the refusal says so.
//!
//! A photo of the screen cannot be stopped, only traced: every rendered
//! page carries the viewer's name and the delivery id.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use confidant_core::{DocumentMeta, Label};
use confidant_ledger::{KnownAction, Target, TargetId};
use futures::StreamExt;
use rand_core::{OsRng, RngCore};

use crate::audit::Attempt;
use crate::{Actor, DocRef, Vault, VaultError};

/// The most PDF pages rendered for one view.
pub const MAX_VIEW_PAGES: u32 = 50;

/// What a view shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendered {
    /// UTF-8 text (text, Markdown, CSV, TSV, JSON), stamped.
    Text(String),
    /// A picture with its MIME type, stamped.
    Image { mime: &'static str, bytes: Vec<u8> },
    /// PNG pictures of the first pages of a PDF, stamped; `more` when the
    /// document has more pages than were rendered.
    Pages { pngs: Vec<Vec<u8>>, more: bool },
}

impl Vault {
    /// Sets or clears "view only" on a document (owner and admins).
    pub async fn set_view_only(
        &self,
        actor: &Actor,
        doc: &DocRef,
        view_only: bool,
    ) -> Result<(), VaultError> {
        self.gate(
            actor,
            "change a document's sharing",
            KnownAction::PolicyChange,
        )
        .await?;
        let record = self.find_document(doc).await?;
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::PolicyChange,
            Target::whole(TargetId::Document(record.id)),
        );
        attempt.reason = format!(
            "{}: view only turned {}",
            attempt.reason,
            if view_only { "on" } else { "off" }
        );
        self.record(&[attempt]).await?;
        self.store()
            .set_view_only(self.workspace(), record.id, view_only)
            .await?;
        Ok(())
    }

    /// The document as its page shows it, and whether it is view only:
    /// decided as `view`, stamped for the viewer when Confidential or
    /// Restricted, recorded (with the delivery id) before it is returned.
    pub async fn view_document(
        &self,
        actor: &Actor,
        doc: &DocRef,
    ) -> Result<(DocumentMeta, Rendered, bool), VaultError> {
        let (record, meta, reason) = if self.is_manager(actor) {
            self.gate(actor, "view a document", KnownAction::View)
                .await?;
            let record = self.find_document(doc).await?;
            let keys = self.keys_for(record.kek_id).await?;
            let meta = self.doc_meta(&record, &keys.names)?;
            (record, meta, None)
        } else {
            let (record, meta, decision) = self
                .authorize_document(actor, doc, confidant_core::Access::View)
                .await?;
            (record, meta, Some(crate::access::ledger_reason(&decision)))
        };
        let view_only = self.store().view_only(self.workspace(), record.id).await?;
        let format = confidant_mark::Format::from_file_name(&meta.name);
        if matches!(
            format,
            Some(confidant_mark::Format::Docx | confidant_mark::Format::Xlsx)
        ) {
            return Err(VaultError::InvalidInput(format!(
                "{:?} is a Word or Excel file, which confidant cannot show in the browser: the \
                 owner can save it as PDF and upload that",
                meta.name
            )));
        }
        let target = Target::whole(TargetId::Document(record.id));
        let mut attempt = Attempt::allowed(actor, KnownAction::View, target);
        if let Some(reason) = reason {
            attempt.reason = reason;
        }
        let (stream, what) = self.body_stream(&record, &meta).await?;
        let (meta, mut stream) = if record.label.requires_stamp() {
            self.finish_copy(actor, record.label, meta, stream, &what, attempt)
                .await?
        } else {
            self.record(&[attempt]).await?;
            (meta, stream)
        };
        let mut body = Vec::new();
        while let Some(chunk) = stream.next().await {
            body.extend_from_slice(&chunk?);
        }
        let rendered = render(&meta, record.label, body).await?;
        Ok((meta, rendered, view_only))
    }
}

async fn render(meta: &DocumentMeta, label: Label, body: Vec<u8>) -> Result<Rendered, VaultError> {
    use confidant_mark::Format;
    let cannot = || {
        VaultError::InvalidInput(format!(
            "{:?} is not a kind of file confidant can show in the browser (it shows PDF, PNG, \
             JPEG and text)",
            meta.name
        ))
    };
    match Format::detect(Some(&meta.name), &body) {
        Some(f) if f.is_text() => Ok(Rendered::Text(String::from_utf8_lossy(&body).into_owned())),
        Some(Format::Png) => Ok(Rendered::Image {
            mime: "image/png",
            bytes: body,
        }),
        Some(Format::Jpeg) => Ok(Rendered::Image {
            mime: "image/jpeg",
            bytes: body,
        }),
        Some(Format::Pdf) => {
            let name = meta.name.clone();
            tokio::task::spawn_blocking(move || pdf_pages(&name, &body))
                .await
                .map_err(|e| VaultError::Internal(format!("rendering pages: {e}")))?
        }
        _ if !label.requires_stamp() && body.is_ascii() => {
            Ok(Rendered::Text(String::from_utf8_lossy(&body).into_owned()))
        }
        _ => Err(cannot()),
    }
}

/// A folder removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where rendered pages are written for a moment: memory (`/dev/shm`)
/// when the system has it, so no plaintext page touches the disk.
fn scratch_root() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    }
}

/// The first pages of a PDF as PNGs, by `pdftoppm` (poppler-utils): the PDF
/// goes in on stdin, the pages come out in a private folder in memory.
fn pdf_pages(name: &str, pdf: &[u8]) -> Result<Rendered, VaultError> {
    use std::io::Write;
    let dir = TempDir(scratch_root().join(format!("confidant-view-{:016x}", OsRng.next_u64())));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(&dir.0)
        .map_err(|e| VaultError::Internal(format!("a folder for rendering pages: {e}")))?;
    // One page more than shown, to know whether there are more.
    let last = (MAX_VIEW_PAGES + 1).to_string();
    let mut child = Command::new("pdftoppm")
        .args(["-png", "-r", "100", "-f", "1", "-l", &last, "-"])
        .arg(dir.0.join("page"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            VaultError::Unavailable(format!(
                "PDF pages are shown by poppler's pdftoppm, which could not run ({e}): install \
                 it on the server (Debian: apt-get install poppler-utils)"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A PDF pdftoppm stops reading early still fails below, with its
        // own message.
        let _ = stdin.write_all(pdf);
    }
    let output = child
        .wait_with_output()
        .map_err(|e| VaultError::Internal(format!("rendering pages: {e}")))?;
    if !output.status.success() {
        return Err(VaultError::InvalidInput(format!(
            "{name:?} could not be shown: pdftoppm says {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir.0)
        .map_err(|e| VaultError::Internal(format!("reading rendered pages: {e}")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    // page-01.png, page-02.png, ...: the numbers have the same width.
    files.sort();
    let more = files.len() > MAX_VIEW_PAGES as usize;
    files.truncate(MAX_VIEW_PAGES as usize);
    let pngs = files
        .iter()
        .map(std::fs::read)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| VaultError::Internal(format!("reading rendered pages: {e}")))?;
    Ok(Rendered::Pages { pngs, more })
}
