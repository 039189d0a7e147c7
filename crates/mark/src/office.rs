//! DOCX and XLSX (Office Open XML zip packages).
//!
//! - DOCX: the stamp line as a centred, bold, dark red paragraph in the
//!   header and the footer of every page (added to the document's own
//!   headers and footers, first-page and even-page ones included, and as new
//!   default ones for sections without), and at the start and the end of
//!   the body; the invisible fingerprint in the document's text runs
//!   (`<w:t>`).
//! - XLSX: a first sheet named after the label (e.g. "CONFIDENTIAL") with
//!   the stamp's pieces in A1-A4 and the whole line in A6; the workbook
//!   still opens on the sheet it opened on before. The fingerprint goes
//!   into the shared strings (`<t>`), so it travels with copied cells.
//!   Printed pages of every worksheet get the stamp line as the centre of
//!   their header and footer (their own left and right parts stay).
//! - Both: a custom document property `ConfidantDelivery` (in
//!   `docProps/custom.xml`, shown by Office under File > Properties >
//!   Custom) holding the delivery id.
//!
//! Parts that are not changed are copied as they were (still compressed),
//! so the rest of the package is byte for byte the original's.

use std::io::{Cursor, Read, Write};

use confidant_core::delivery::DeliveryId;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::fingerprint::{self, Marker, Syntax};
use crate::stamp::StampParts;
use crate::trace::{Scan, read_limited};
use crate::{Format, MarkError, Stamp};

/// Largest part read (decompressed), when stamping and tracing.
const MAX_PART: u64 = 256 * 1024 * 1024;

const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const CUSTOM_PROPS_REL: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties";
const WORKSHEET_REL: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet";
const CUSTOM_PROPS_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.custom-properties+xml";
const WORKSHEET_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml";
const HEADER_REL: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/header";
const FOOTER_REL: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer";
const HEADER_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml";
const FOOTER_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml";
const W_NS: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const VT_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes";
/// The format id Office uses for user-defined properties.
const USER_PROPS_FMTID: &str = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}";
/// Name of the custom property holding the delivery id.
pub(crate) const PROPERTY: &str = "ConfidantDelivery";

fn malformed(format: Format, detail: impl std::fmt::Display) -> MarkError {
    MarkError::Malformed {
        format,
        detail: detail.to_string(),
    }
}

/// XML text or attribute value, escaped.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A package opened for stamping: every part's name, and the text of the
/// parts we change.
struct Package {
    format: Format,
    archive: ZipArchive<Cursor<Vec<u8>>>,
    names: Vec<String>,
}

impl Package {
    fn open(format: Format, input: &[u8]) -> Result<Self, MarkError> {
        let mut archive =
            ZipArchive::new(Cursor::new(input.to_vec())).map_err(|e| malformed(format, e))?;
        let mut names = Vec::with_capacity(archive.len());
        for i in 0..archive.len() {
            let file = archive.by_index_raw(i).map_err(|e| malformed(format, e))?;
            if file.encrypted() {
                return Err(MarkError::Encrypted { format });
            }
            names.push(file.name().map_err(|e| malformed(format, e))?.into_owned());
        }
        Ok(Package {
            format,
            archive,
            names,
        })
    }

    fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    fn text(&mut self, name: &str) -> Result<String, MarkError> {
        let format = self.format;
        let file = self
            .archive
            .by_name(name)
            .map_err(|e| malformed(format, format!("cannot read {name}: {e}")))?;
        let bytes = read_limited(file, MAX_PART)
            .map_err(|e| malformed(format, format!("cannot read {name}: {e}")))?;
        String::from_utf8(bytes).map_err(|_| malformed(format, format!("{name} is not UTF-8 XML")))
    }

    /// Writes the package with `changed` parts replaced and `added` parts
    /// appended; everything else is copied as it was.
    fn write(mut self, changed: &[(String, String)]) -> Result<Vec<u8>, MarkError> {
        let format = self.format;
        let encode = |e: zip::result::ZipError| MarkError::Encode {
            format,
            detail: e.to_string(),
        };
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..self.archive.len() {
            let name = self.names[i].clone();
            if let Some((_, content)) = changed.iter().find(|(n, _)| *n == name) {
                writer.start_file(name.as_str(), options).map_err(encode)?;
                writer.write_all(content.as_bytes())?;
            } else {
                let file = self
                    .archive
                    .by_index_raw(i)
                    .map_err(|e| malformed(format, e))?;
                writer.raw_copy_file(file).map_err(encode)?;
            }
        }
        for (name, content) in changed {
            if !self.names.contains(name) {
                writer.start_file(name.as_str(), options).map_err(encode)?;
                writer.write_all(content.as_bytes())?;
            }
        }
        Ok(writer.finish().map_err(encode)?.into_inner())
    }
}

pub(crate) fn stamp(
    format: Format,
    input: &[u8],
    stamp: &Stamp,
    parts: &StampParts,
) -> Result<Vec<u8>, MarkError> {
    let mut package = Package::open(format, input)?;
    let mut changed = Vec::new();
    match format {
        Format::Docx => stamp_docx(&mut package, stamp, parts, &mut changed)?,
        _ => stamp_xlsx(&mut package, stamp, parts, &mut changed)?,
    }
    add_custom_property(&mut package, &stamp.delivery, &mut changed)?;
    package.write(&changed)
}

/// Copies `xml`, passing the text of every `<tag>` / `<tag ...>` element
/// through the marker.
fn mark_text_elements(xml: &str, tag: &str, marker: &mut Marker) -> String {
    let mut out = String::with_capacity(xml.len() + xml.len() / 8);
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let is_element = after.starts_with('>') || after.starts_with(' ');
        let Some(gt) = after.find('>') else { break };
        out.push_str(&rest[..i + open.len() + gt + 1]);
        rest = &after[gt + 1..];
        if !is_element || after[..gt].ends_with('/') {
            continue;
        }
        let Some(end) = rest.find(&close) else { break };
        let mut text = String::new();
        marker.push(&rest[..end], &mut text);
        out.push_str(&text);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn docx_paragraph(line: &str) -> String {
    format!(
        "<w:p><w:pPr><w:jc w:val=\"center\"/></w:pPr><w:r><w:rPr><w:b/>\
         <w:color w:val=\"C00000\"/><w:sz w:val=\"18\"/></w:rPr>\
         <w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
        xml_escape(line)
    )
}

fn stamp_docx(
    package: &mut Package,
    stamp: &Stamp,
    parts: &StampParts,
    changed: &mut Vec<(String, String)>,
) -> Result<(), MarkError> {
    let name = "word/document.xml";
    let xml = package.text(name)?;
    if !xml.contains(&format!("xmlns:w=\"{W_NS}\"")) {
        return Err(MarkError::Unsupported {
            what: "this DOCX does not use the usual w: prefix for WordprocessingML".to_owned(),
        });
    }
    let mut marker = Marker::new(
        &stamp.delivery,
        Syntax::Prose,
        fingerprint::interval_for(Some(xml.len() as u64 / 4)),
    );
    let line = format!("{}{}", parts.line(), marker.frame());
    let paragraph = docx_paragraph(&line);
    let xml = mark_text_elements(&xml, "w:t", &mut marker);
    let body_open = xml
        .find("<w:body")
        .and_then(|i| xml[i..].find('>').map(|j| i + j + 1))
        .ok_or_else(|| malformed(Format::Docx, "word/document.xml has no <w:body>"))?;
    let body_close = xml
        .rfind("</w:body>")
        .ok_or_else(|| malformed(Format::Docx, "word/document.xml has no </w:body>"))?;
    // The body's own section properties must stay its last child.
    let end_at = match xml[..body_close].rfind("<w:sectPr") {
        Some(s) if s > body_open && !xml[s..body_close].contains("</w:p>") => s,
        _ => body_close,
    };
    let mut out = String::with_capacity(xml.len() + 2 * paragraph.len());
    out.push_str(&xml[..body_open]);
    out.push_str(&paragraph);
    out.push_str(&xml[body_open..end_at]);
    out.push_str(&paragraph);
    out.push_str(&xml[end_at..]);
    let out = docx_headers_and_footers(package, &out, &paragraph, changed)?;
    changed.push((name.to_owned(), out));
    Ok(())
}

/// The stamp in the header and the footer of every section: appended to
/// the headers and footers the document has (first-page and even-page ones
/// included), and as new default ones for sections without. Returns the
/// document with the new references.
fn docx_headers_and_footers(
    package: &mut Package,
    document: &str,
    paragraph: &str,
    changed: &mut Vec<(String, String)>,
) -> Result<String, MarkError> {
    let f = Format::Docx;
    let rels_name = "word/_rels/document.xml.rels";
    let mut rels = if package.has(rels_name) {
        package.text(rels_name)?
    } else {
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships \
         xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"></Relationships>"
            .to_owned()
    };
    // Existing headers and footers get the stamp as their last paragraph.
    for (kind, close) in [(HEADER_REL, "</w:hdr>"), (FOOTER_REL, "</w:ftr>")] {
        for target in relationship_targets(&rels, kind) {
            let part = format!("word/{}", target.trim_start_matches("/word/"));
            if !package.has(&part) {
                continue;
            }
            let xml = package.text(&part)?;
            if !xml.contains(&format!("xmlns:w=\"{W_NS}\"")) {
                continue;
            }
            if let Some(new) = insert_before_last(&xml, close, paragraph) {
                changed.push((part, new));
            }
        }
    }
    // New default header and footer for sections that have none.
    let (r, declare) = match prefix_of(document, REL_NS) {
        Some(p) => (p, String::new()),
        None => ("r".to_owned(), format!(" xmlns:r=\"{REL_NS}\"")),
    };
    let header_id = free_rel_id(&rels);
    let header_rel = format!(
        "<Relationship Id=\"{header_id}\" Type=\"{HEADER_REL}\" Target=\"confidant-header.xml\"/>"
    );
    rels = insert_before_last(&rels, "</Relationships>", &header_rel).ok_or_else(|| {
        malformed(
            f,
            "word/_rels/document.xml.rels is not a relationships part",
        )
    })?;
    let footer_id = free_rel_id(&rels);
    let footer_rel = format!(
        "<Relationship Id=\"{footer_id}\" Type=\"{FOOTER_REL}\" Target=\"confidant-footer.xml\"/>"
    );
    rels = insert_before_last(&rels, "</Relationships>", &footer_rel).ok_or_else(|| {
        malformed(
            f,
            "word/_rels/document.xml.rels is not a relationships part",
        )
    })?;

    let mut out = String::with_capacity(document.len() + 512);
    let mut rest = document;
    while let Some(i) = rest.find("<w:sectPr") {
        let after = &rest[i + "<w:sectPr".len()..];
        let Some(gt) = after.find('>') else { break };
        let is_element = after.starts_with('>') || after.starts_with(' ') || after.starts_with('/');
        if !is_element {
            out.push_str(&rest[..i + "<w:sectPr".len()]);
            rest = after;
            continue;
        }
        let self_closing = after[..gt].ends_with('/');
        let start_tag = &rest[i..i + "<w:sectPr".len() + gt + 1];
        let body_end = if self_closing {
            0
        } else {
            after[gt + 1..].find("</w:sectPr>").unwrap_or(0)
        };
        let body = &after[gt + 1..gt + 1 + body_end];
        let mut refs = String::new();
        if !body.contains("w:headerReference w:type=\"default\"") {
            refs.push_str(&format!(
                "<w:headerReference{declare} w:type=\"default\" {r}:id=\"{header_id}\"/>"
            ));
        }
        if !body.contains("w:footerReference w:type=\"default\"") {
            refs.push_str(&format!(
                "<w:footerReference{declare} w:type=\"default\" {r}:id=\"{footer_id}\"/>"
            ));
        }
        out.push_str(&rest[..i]);
        if self_closing {
            out.push_str(start_tag.trim_end_matches("/>").trim_end());
            out.push('>');
            out.push_str(&refs);
            out.push_str("</w:sectPr>");
        } else {
            out.push_str(start_tag);
            out.push_str(&refs);
        }
        rest = &after[gt + 1..];
    }
    out.push_str(rest);

    let types_name = "[Content_Types].xml";
    let mut types = package.text(types_name)?;
    for (part, kind, root) in [
        ("confidant-header.xml", HEADER_TYPE, "w:hdr"),
        ("confidant-footer.xml", FOOTER_TYPE, "w:ftr"),
    ] {
        let over = format!("<Override PartName=\"/word/{part}\" ContentType=\"{kind}\"/>");
        types = insert_before_last(&types, "</Types>", &over)
            .ok_or_else(|| malformed(f, "[Content_Types].xml is not a content types part"))?;
        changed.push((
            format!("word/{part}"),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
                 <{root} xmlns:w=\"{W_NS}\">{paragraph}</{root}>"
            ),
        ));
    }
    changed.push((types_name.to_owned(), types));
    changed.push((rels_name.to_owned(), rels));
    Ok(out)
}

/// The targets of the relationships of type `kind` in a relationships part.
fn relationship_targets(rels: &str, kind: &str) -> Vec<String> {
    rels.split("<Relationship ")
        .skip(1)
        .filter(|r| r.contains(&format!("Type=\"{kind}\"")))
        .filter_map(|r| {
            let at = r.find("Target=\"")? + "Target=\"".len();
            let end = r[at..].find('"')?;
            Some(r[at..at + end].to_owned())
        })
        .collect()
}

/// The value of attribute `attr` in every element of `xml` that has it.
fn attr_values<'a>(xml: &'a str, attr: &str) -> Vec<&'a str> {
    let pattern = format!(" {attr}=\"");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&pattern) {
        rest = &rest[i + pattern.len()..];
        if let Some(end) = rest.find('"') {
            out.push(&rest[..end]);
            rest = &rest[end..];
        }
    }
    out
}

/// Adds 1 to every numeric `attr="n"` in `xml`.
fn bump_attr(xml: &str, attr: &str) -> String {
    let pattern = format!(" {attr}=\"");
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(i) = rest.find(&pattern) {
        out.push_str(&rest[..i + pattern.len()]);
        rest = &rest[i + pattern.len()..];
        let end = rest.find('"').unwrap_or(rest.len());
        match rest[..end].parse::<u64>() {
            Ok(n) => out.push_str(&(n + 1).to_string()),
            Err(_) => out.push_str(&rest[..end]),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The namespace prefix bound to `ns` on the root element, e.g. "r".
fn prefix_of(xml: &str, ns: &str) -> Option<String> {
    let needle = format!("=\"{ns}\"");
    let at = xml.find(&needle)?;
    let before = &xml[..at];
    let start = before.rfind("xmlns:")?;
    Some(before[start + "xmlns:".len()..].to_owned())
}

/// A relationship id not used in `rels`.
fn free_rel_id(rels: &str) -> String {
    let used = attr_values(rels, "Id");
    (1..)
        .map(|n| format!("rIdCnfd{n}"))
        .find(|id| !used.contains(&id.as_str()))
        .unwrap_or_else(|| "rIdCnfd".to_owned())
}

fn insert_before_last(xml: &str, close: &str, insert: &str) -> Option<String> {
    let at = xml.rfind(close)?;
    let mut out = String::with_capacity(xml.len() + insert.len());
    out.push_str(&xml[..at]);
    out.push_str(insert);
    out.push_str(&xml[at..]);
    Some(out)
}

/// A sheet name from the label: at most 31 characters, none of `[]:*?/\`,
/// not taken (case-insensitively) by another sheet.
fn sheet_name(label: &str, taken: &[&str]) -> String {
    let base: String = label
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\'))
        .take(26)
        .collect();
    let base = if base.trim().is_empty() {
        "CONFIDENTIAL".to_owned()
    } else {
        base.trim().to_owned()
    };
    let free = |name: &str| {
        !taken
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&xml_escape(name)))
    };
    if free(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base} ({n})"))
        .find(|name| free(name))
        .unwrap_or(base)
}

fn banner_sheet(parts: &StampParts, frame: &str) -> String {
    let cell = |row: u32, text: &str| {
        format!(
            "<row r=\"{row}\"><c r=\"A{row}\" t=\"inlineStr\"><is><t xml:space=\"preserve\">{}</t></is></c></row>",
            xml_escape(text)
        )
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
         <worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">\
         <cols><col min=\"1\" max=\"1\" width=\"110\" customWidth=\"1\"/></cols><sheetData>{}{}{}{}{}</sheetData></worksheet>",
        cell(1, &parts.label),
        cell(2, &parts.recipient),
        cell(3, &parts.time),
        cell(4, &parts.delivery),
        cell(6, &format!("{}{frame}", parts.line())),
    )
}

fn stamp_xlsx(
    package: &mut Package,
    stamp: &Stamp,
    parts: &StampParts,
    changed: &mut Vec<(String, String)>,
) -> Result<(), MarkError> {
    let f = Format::Xlsx;
    let workbook = package.text("xl/workbook.xml")?;
    let rels_name = "xl/_rels/workbook.xml.rels";
    let rels = package.text(rels_name)?;
    let types = package.text("[Content_Types].xml")?;

    // Where the sheets are listed, with whatever prefix the workbook uses.
    let sheets_at = workbook
        .find("sheets>")
        .and_then(|i| workbook[..i].rfind('<').map(|lt| (lt, i)))
        .filter(|(lt, i)| !workbook[*lt..*i].contains('/'))
        .ok_or_else(|| malformed(f, "xl/workbook.xml lists no sheets"))?;
    let element_prefix = &workbook[sheets_at.0 + 1..sheets_at.1];
    let insert_at = sheets_at.1 + "sheets>".len();

    let rel_id = free_rel_id(&rels);
    let mut part = "xl/worksheets/confidant.xml".to_owned();
    let mut n = 1;
    while package.has(&part) {
        n += 1;
        part = format!("xl/worksheets/confidant{n}.xml");
    }
    let target = part.trim_start_matches("xl/").to_owned();
    let max_sheet_id = attr_values(&workbook, "sheetId")
        .iter()
        .filter_map(|v| v.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    let names = attr_values(&workbook, "name");
    let name = sheet_name(&parts.label, &names);
    let (r, declare) = match prefix_of(&workbook, REL_NS) {
        Some(p) => (p, String::new()),
        None => ("r".to_owned(), format!(" xmlns:r=\"{REL_NS}\"")),
    };
    let sheet = format!(
        "<{element_prefix}sheet{declare} name=\"{}\" sheetId=\"{}\" {r}:id=\"{rel_id}\"/>",
        xml_escape(&name),
        max_sheet_id + 1
    );
    let mut new_workbook = String::with_capacity(workbook.len() + sheet.len() + 32);
    new_workbook.push_str(&workbook[..insert_at]);
    new_workbook.push_str(&sheet);
    new_workbook.push_str(&workbook[insert_at..]);
    // The new sheet comes first: indexes of the others move up by one, and
    // the workbook keeps opening on the sheet it opened on.
    let mut new_workbook = bump_attr(
        &bump_attr(&bump_attr(&new_workbook, "localSheetId"), "activeTab"),
        "firstSheet",
    );
    if !new_workbook.contains(" activeTab=\"")
        && let Some(i) = new_workbook.find("workbookView ")
    {
        new_workbook.insert_str(i + "workbookView ".len(), "activeTab=\"1\" ");
    }

    let rel =
        format!("<Relationship Id=\"{rel_id}\" Type=\"{WORKSHEET_REL}\" Target=\"{target}\"/>");
    let new_rels = insert_before_last(&rels, "</Relationships>", &rel)
        .ok_or_else(|| malformed(f, "xl/_rels/workbook.xml.rels is not a relationships part"))?;
    let over = format!("<Override PartName=\"/{part}\" ContentType=\"{WORKSHEET_TYPE}\"/>");
    let new_types = insert_before_last(&types, "</Types>", &over)
        .ok_or_else(|| malformed(f, "[Content_Types].xml is not a content types part"))?;

    // Printed copies: the stamp in the page header and footer of every
    // worksheet that has none of its own.
    for target in relationship_targets(&rels, WORKSHEET_REL) {
        let part = format!("xl/{}", target.trim_start_matches("/xl/"));
        if !package.has(&part) {
            continue;
        }
        let sheet = package.text(&part)?;
        if let Some(new) = with_print_header(&sheet, &parts.line()) {
            changed.push((part, new));
        }
    }

    let mut marker = Marker::new(&stamp.delivery, Syntax::Prose, 400);
    let frame = marker.frame().to_owned();
    if package.has("xl/sharedStrings.xml") {
        let strings = package.text("xl/sharedStrings.xml")?;
        let interval = fingerprint::interval_for(Some(strings.len() as u64 / 3));
        marker = Marker::new(&stamp.delivery, Syntax::Prose, interval);
        changed.push((
            "xl/sharedStrings.xml".to_owned(),
            mark_text_elements(&strings, "t", &mut marker),
        ));
    }
    changed.push(("xl/workbook.xml".to_owned(), new_workbook));
    changed.push((rels_name.to_owned(), new_rels));
    changed.push(("[Content_Types].xml".to_owned(), new_types));
    changed.push((part, banner_sheet(parts, &frame)));
    Ok(())
}

/// Worksheet elements that come after `headerFooter` (ECMA-376 CT_Worksheet).
const AFTER_HEADER_FOOTER: [&str; 16] = [
    "rowBreaks",
    "colBreaks",
    "customProperties",
    "cellWatches",
    "ignoredErrors",
    "smartTags",
    "drawing",
    "legacyDrawing",
    "legacyDrawingHF",
    "drawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
    "extLst",
];

/// The centre section of a print header or footer replaced by `ours`,
/// keeping the left and right sections (header codes: `&L`, `&C`, `&R`
/// start sections, `&&` is an ampersand).
fn restamp_section(header: &str, ours: &str) -> String {
    let (mut left, mut right, mut centre) = (String::new(), String::new(), String::new());
    let mut current = 'C';
    let mut chars = header.chars().peekable();
    while let Some(c) = chars.next() {
        let section = match current {
            'L' => &mut left,
            'R' => &mut right,
            _ => &mut centre,
        };
        if c == '&' {
            match chars.peek().copied() {
                Some('&') => {
                    chars.next();
                    section.push_str("&&");
                }
                Some(s @ ('L' | 'C' | 'R')) => {
                    chars.next();
                    current = s;
                }
                _ => section.push(c),
            }
        } else {
            section.push(c);
        }
    }
    let mut out = String::new();
    if !left.is_empty() {
        out.push_str("&L");
        out.push_str(&left);
    }
    out.push_str("&C");
    out.push_str(ours);
    if !right.is_empty() {
        out.push_str("&R");
        out.push_str(&right);
    }
    out
}

/// The worksheet with the stamp `line` as the centre of its print header
/// and footer (first-page and even-page ones included); the left and right
/// sections it had stay. `None` for a worksheet written with a namespace
/// prefix.
fn with_print_header(sheet: &str, line: &str) -> Option<String> {
    if !sheet.contains("<worksheet") {
        return None;
    }
    // A literal ampersand is "&&"; a header holds at most 255 characters.
    let ours: String = line.replace('&', "&&").chars().take(200).collect();
    let centre_only = xml_escape(&format!("&C{ours}"));
    let fresh = format!("<oddHeader>{centre_only}</oddHeader><oddFooter>{centre_only}</oddFooter>");
    if let Some(start) = sheet.find("<headerFooter") {
        let gt = start + sheet[start..].find('>')?;
        if sheet[..gt].ends_with('/') {
            let mut out = String::with_capacity(sheet.len() + fresh.len() + 32);
            out.push_str(&sheet[..gt - 1]);
            out.push('>');
            out.push_str(&fresh);
            out.push_str("</headerFooter>");
            out.push_str(&sheet[gt + 1..]);
            return Some(out);
        }
        let end = gt + sheet[gt..].find("</headerFooter>")?;
        let mut inner = sheet[gt + 1..end].to_owned();
        for tag in [
            "oddHeader",
            "oddFooter",
            "evenHeader",
            "evenFooter",
            "firstHeader",
            "firstFooter",
        ] {
            let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
            if let (Some(a), Some(b)) = (inner.find(&open), inner.find(&close)) {
                let old = unescape(&inner[a + open.len()..b]);
                let new = xml_escape(&restamp_section(&old, &ours));
                inner.replace_range(a + open.len()..b, &new);
            } else if tag == "oddHeader" {
                inner.insert_str(0, &format!("<oddHeader>{centre_only}</oddHeader>"));
            } else if tag == "oddFooter" {
                let at = inner
                    .find("</oddHeader>")
                    .map_or(0, |i| i + "</oddHeader>".len());
                inner.insert_str(at, &format!("<oddFooter>{centre_only}</oddFooter>"));
            }
        }
        let mut out = String::with_capacity(sheet.len() + 2 * ours.len());
        out.push_str(&sheet[..=gt]);
        out.push_str(&inner);
        out.push_str(&sheet[end..]);
        return Some(out);
    }
    let element = format!("<headerFooter>{fresh}</headerFooter>");
    let at = AFTER_HEADER_FOOTER
        .iter()
        .filter_map(|name| {
            [
                format!("<{name}>"),
                format!("<{name} "),
                format!("<{name}/"),
            ]
            .iter()
            .filter_map(|open| sheet.find(open.as_str()))
            .min()
        })
        .min()
        .or_else(|| sheet.rfind("</worksheet>"))?;
    let mut out = String::with_capacity(sheet.len() + element.len());
    out.push_str(&sheet[..at]);
    out.push_str(&element);
    out.push_str(&sheet[at..]);
    Some(out)
}

fn property_xml(pid: u64, delivery: &DeliveryId) -> String {
    format!(
        "<property fmtid=\"{USER_PROPS_FMTID}\" pid=\"{pid}\" name=\"{PROPERTY}\">\
         <vt:lpwstr xmlns:vt=\"{VT_NS}\">{delivery}</vt:lpwstr></property>"
    )
}

/// Puts the delivery id in `docProps/custom.xml` (made if missing).
fn add_custom_property(
    package: &mut Package,
    delivery: &DeliveryId,
    changed: &mut Vec<(String, String)>,
) -> Result<(), MarkError> {
    let f = package.format;
    let name = "docProps/custom.xml";
    if package.has(name) {
        let xml = package.text(name)?;
        if xml.contains("<Properties") {
            let pid = attr_values(&xml, "pid")
                .iter()
                .filter_map(|v| v.parse::<u64>().ok())
                .max()
                .unwrap_or(1)
                + 1;
            let property = property_xml(pid, delivery);
            let new = if xml.contains("</Properties>") {
                insert_before_last(&xml, "</Properties>", &property)
            } else {
                // `<Properties .../>` with no properties yet.
                xml.rfind("/>")
                    .map(|at| format!("{}>{property}</Properties>{}", &xml[..at], &xml[at + 2..]))
            };
            let new =
                new.ok_or_else(|| malformed(f, "docProps/custom.xml is not a properties part"))?;
            changed.push((name.to_owned(), new));
            return Ok(());
        }
        return Err(MarkError::Unsupported {
            what: format!("the {f} file's docProps/custom.xml is written in an unusual way"),
        });
    }
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
         <Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/custom-properties\" \
         xmlns:vt=\"{VT_NS}\">{}</Properties>",
        property_xml(2, delivery)
    );
    let types_name = "[Content_Types].xml";
    let types = match changed.iter().find(|(n, _)| n == types_name) {
        Some((_, t)) => t.clone(),
        None => package.text(types_name)?,
    };
    let over = format!("<Override PartName=\"/{name}\" ContentType=\"{CUSTOM_PROPS_TYPE}\"/>");
    let types = insert_before_last(&types, "</Types>", &over)
        .ok_or_else(|| malformed(f, "[Content_Types].xml is not a content types part"))?;
    let rels_name = "_rels/.rels";
    let rels = package.text(rels_name)?;
    let rel = format!(
        "<Relationship Id=\"{}\" Type=\"{CUSTOM_PROPS_REL}\" Target=\"{name}\"/>",
        free_rel_id(&rels)
    );
    let rels = insert_before_last(&rels, "</Relationships>", &rel)
        .ok_or_else(|| malformed(f, "_rels/.rels is not a relationships part"))?;
    changed.retain(|(n, _)| n != types_name);
    changed.push((types_name.to_owned(), types));
    changed.push((rels_name.to_owned(), rels));
    changed.push((name.to_owned(), xml));
    Ok(())
}

/// XML character references and the five entities, decoded (for search).
fn unescape(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest[..rest.len().min(12)].find(';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Searches every text part of a zip package.
pub(crate) fn trace(bytes: &[u8], scan: &mut Scan) {
    let mut archive = match ZipArchive::new(Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => {
            scan.note(format!(
                "the zip package could not be opened ({e}); searched its raw bytes"
            ));
            scan.text(&String::from_utf8_lossy(bytes), "raw bytes");
            return;
        }
    };
    for i in 0..archive.len() {
        let Ok(mut file) = archive.by_index(i) else {
            scan.note(format!("part {i} of the package could not be read"));
            continue;
        };
        let name = file.name().map(|n| n.into_owned()).unwrap_or_default();
        let texty = [".xml", ".rels", ".txt", ".csv", ".json", ".md"]
            .iter()
            .any(|ext| name.to_ascii_lowercase().ends_with(ext));
        if !texty || file.encrypted() {
            continue;
        }
        let mut data = Vec::new();
        if (&mut file).take(MAX_PART).read_to_end(&mut data).is_err() {
            scan.note(format!("{name} could not be read"));
            continue;
        }
        let text = unescape(&String::from_utf8_lossy(&data));
        if name == "docProps/custom.xml"
            && let Some(at) = text.find(&format!("name=\"{PROPERTY}\""))
        {
            let after = &text[at..];
            if let (Some(s), Some(e)) = (after.find('>'), after.find("</vt:lpwstr>")) {
                let inner = &after[s + 1..e];
                let value = inner.rsplit('>').next().unwrap_or(inner);
                scan.metadata(value, "custom document property ConfidantDelivery");
            }
        }
        scan.text(&text, &name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(
            bump_attr(
                "<a localSheetId=\"0\"/><b localSheetId=\"x\"/>",
                "localSheetId"
            ),
            "<a localSheetId=\"1\"/><b localSheetId=\"x\"/>"
        );
        assert_eq!(
            unescape("a&amp;b&#8203;&#x200C;&bogus"),
            "a&b\u{200B}\u{200C}&bogus"
        );
        assert_eq!(
            sheet_name("CONFIDENTIAL", &["Confidential"]),
            "CONFIDENTIAL (2)"
        );
        assert_eq!(sheet_name("A/B:C", &[]), "ABC");
        assert_eq!(free_rel_id("<R Id=\"rIdCnfd1\"/>"), "rIdCnfd2");
        assert_eq!(
            prefix_of(&format!("<w xmlns:r=\"{REL_NS}\">"), REL_NS).as_deref(),
            Some("r")
        );
    }

    #[test]
    fn print_headers_go_where_the_schema_wants_them() {
        let sheet = "<worksheet><sheetData/><pageMargins/><drawing r:id=\"x\"/><tableParts count=\"0\"/></worksheet>";
        let out = with_print_header(sheet, "A & B <c>").unwrap_or_default();
        assert!(
            out.contains(
                "<pageMargins/><headerFooter><oddHeader>&amp;CA &amp;&amp; B &lt;c&gt;</oddHeader>"
            ),
            "{out}"
        );
        assert!(out.contains("</headerFooter><drawing"));
        let plain = "<worksheet><sheetData/></worksheet>";
        assert!(
            with_print_header(plain, "x")
                .unwrap_or_default()
                .ends_with("</headerFooter></worksheet>")
        );
        assert_eq!(
            with_print_header("<worksheet><headerFooter/></worksheet>", "x").unwrap_or_default(),
            "<worksheet><headerFooter><oddHeader>&amp;Cx</oddHeader><oddFooter>&amp;Cx</oddFooter></headerFooter></worksheet>"
        );
        let theirs = "<worksheet><headerFooter differentFirst=\"true\"><oddHeader>&amp;LAcme &amp;&amp; Co&amp;C&amp;A&amp;RPage &amp;P</oddHeader><firstHeader>Title</firstHeader></headerFooter></worksheet>";
        let out = with_print_header(theirs, "S").unwrap_or_default();
        assert_eq!(
            out,
            "<worksheet><headerFooter differentFirst=\"true\"><oddHeader>&amp;LAcme &amp;&amp; Co&amp;CS&amp;RPage &amp;P</oddHeader><oddFooter>&amp;CS</oddFooter><firstHeader>&amp;CS</firstHeader></headerFooter></worksheet>"
        );
    }

    #[test]
    fn text_elements_are_marked_and_others_kept() {
        let id = DeliveryId::from_bytes([1; 16]);
        let mut marker = Marker::new(&id, Syntax::Prose, 1);
        let xml = "<w:t>hello big world</w:t><w:tab/><w:tbl>x y</w:tbl><w:t xml:space=\"preserve\"> a b</w:t>";
        let out = mark_text_elements(xml, "w:t", &mut marker);
        assert_eq!(fingerprint::strip(&out), xml);
        assert!(out.contains("<w:tbl>x y</w:tbl>"));
        assert!(!fingerprint::decode_all(&out).is_empty());
    }
}
