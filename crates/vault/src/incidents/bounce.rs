//! Bounces: a delivery status notification (RFC 3464, a
//! `multipart/report; report-type=delivery-status` mail) names the notice
//! it returns by the Message-ID of the quoted original (`<notice-ID@...>`)
//! and the recipients it failed for. A small parser of our own: the
//! notification is untrusted input, so it only reads headers and the
//! report's fields, bounded in size, and never fails on what it does not
//! understand beyond saying so.

use base64::Engine as _;
use confidant_core::NoticeId;

use super::{NoticeRecord, NoticeStatus, Purpose};
use crate::{Actor, Vault, VaultError};

/// The largest notification read (they are small; a quoted original with
/// attachments is cut, its headers come first).
pub const MAX_REPORT_BYTES: usize = 4 << 20;

/// One recipient's part of a delivery status notification.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecipientReport {
    /// `Final-Recipient` (or `Original-Recipient`), the address only.
    pub recipient: String,
    /// `failed`, `delayed`, `delivered`, `relayed`, `expanded`.
    pub action: String,
    /// The status code, e.g. `5.1.1`.
    pub status: String,
}

/// What a delivery status notification says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub recipients: Vec<RecipientReport>,
    /// The Message-ID of the returned message (from the quoted original or
    /// its headers), without angle brackets.
    pub original_message_id: Option<String>,
}

impl DeliveryReport {
    /// The notice the report returns, when the Message-ID is one of ours.
    pub fn notice(&self) -> Option<NoticeId> {
        let id = self.original_message_id.as_deref()?;
        let local = id.strip_prefix("notice-")?.split('@').next()?;
        local.parse().ok()
    }

    /// Whether a recipient failed for good (action `failed`, status 5.x.x).
    pub fn failed(&self) -> Option<&RecipientReport> {
        self.recipients
            .iter()
            .find(|r| r.action.eq_ignore_ascii_case("failed") || r.status.starts_with('5'))
    }
}

/// Headers of a part: (lower-case name, unfolded value), in order.
fn headers(text: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = match text.find("\r\n\r\n") {
        Some(i) => (&text[..i], &text[i + 4..]),
        None => match text.find("\n\n") {
            Some(i) => (&text[..i], &text[i + 2..]),
            None => (text, ""),
        },
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    (out, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// A parameter of a Content-Type value (`boundary="x"`).
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn media_type(headers: &[(String, String)]) -> String {
    header(headers, "content-type")
        .and_then(|v| v.split(';').next())
        .unwrap_or("text/plain")
        .trim()
        .to_ascii_lowercase()
}

/// The parts of a multipart body.
fn parts<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delimiter = format!("--{boundary}");
    let mut out = Vec::new();
    let mut rest = body;
    // Skip the preamble.
    let Some(start) = rest.find(&delimiter) else {
        return out;
    };
    rest = &rest[start + delimiter.len()..];
    loop {
        if rest.starts_with("--") {
            break;
        }
        let rest_line = rest.find('\n').map_or("", |i| &rest[i + 1..]);
        match rest_line.find(&delimiter) {
            Some(end) => {
                out.push(rest_line[..end].trim_end_matches(['\r', '\n']));
                rest = &rest_line[end + delimiter.len()..];
            }
            None => {
                out.push(rest_line);
                break;
            }
        }
    }
    out
}

fn decoded(headers: &[(String, String)], body: &str) -> String {
    let encoding = header(headers, "content-transfer-encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    if encoding == "base64" {
        let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(compact) {
            return String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    body.to_owned()
}

/// The address of a `type; address` field (`rfc822; a@b`).
fn address_field(value: &str) -> String {
    value
        .split_once(';')
        .map_or(value, |(_, a)| a)
        .trim()
        .trim_matches(['<', '>'])
        .to_owned()
}

fn message_id(value: &str) -> String {
    value.trim().trim_matches(['<', '>']).trim().to_owned()
}

/// Reads a delivery status notification. Errors say what is missing.
pub fn parse_delivery_report(bytes: &[u8]) -> Result<DeliveryReport, VaultError> {
    if bytes.len() > MAX_REPORT_BYTES {
        return Err(VaultError::InvalidInput(format!(
            "the bounce is larger than {} MiB: save only the delivery status notification \
             (nothing was changed)",
            MAX_REPORT_BYTES >> 20
        )));
    }
    let text = String::from_utf8_lossy(bytes);
    let (top, body) = headers(&text);
    let content_type = header(&top, "content-type").unwrap_or("");
    let not_a_report = || {
        VaultError::InvalidInput(
            "this is not a delivery status notification (RFC 3464 multipart/report with \
             report-type=delivery-status): save the bounce itself as a .eml file \
             (nothing was changed)"
                .into(),
        )
    };
    if media_type(&top) != "multipart/report" {
        return Err(not_a_report());
    }
    let boundary = parameter(content_type, "boundary").ok_or_else(not_a_report)?;
    let mut report = DeliveryReport::default();
    let mut saw_status = false;
    for part in parts(body, &boundary) {
        let (h, part_body) = headers(part);
        match media_type(&h).as_str() {
            "message/delivery-status" | "message/global-delivery-status" => {
                saw_status = true;
                let fields = decoded(&h, part_body);
                // Groups separated by blank lines: the per-message fields,
                // then one group per recipient.
                for group in fields.replace("\r\n", "\n").split("\n\n") {
                    let (g, _) = headers(&format!("{group}\n\n"));
                    let recipient = header(&g, "final-recipient")
                        .or_else(|| header(&g, "original-recipient"))
                        .map(address_field);
                    if let Some(recipient) = recipient {
                        report.recipients.push(RecipientReport {
                            recipient,
                            action: header(&g, "action").unwrap_or("").to_ascii_lowercase(),
                            status: header(&g, "status")
                                .unwrap_or("")
                                .split_whitespace()
                                .next()
                                .unwrap_or("")
                                .to_owned(),
                        });
                    }
                }
            }
            "message/rfc822"
            | "text/rfc822-headers"
            | "message/global"
            | "message/global-headers" => {
                let original = decoded(&h, part_body);
                let (oh, _) = headers(&original);
                if let Some(id) = header(&oh, "message-id") {
                    report.original_message_id = Some(message_id(id));
                }
            }
            _ => {}
        }
    }
    if !saw_status {
        return Err(not_a_report());
    }
    if report.recipients.is_empty() {
        return Err(VaultError::InvalidInput(
            "the delivery status notification names no recipient (Final-Recipient): \
             nothing was changed"
                .into(),
        ));
    }
    Ok(report)
}

/// What recording a bounce did.
#[derive(Clone, Debug)]
pub struct BounceOutcome {
    pub notice: NoticeRecord,
    /// The status code the report gave, e.g. `5.1.1`.
    pub status: String,
}

impl Vault {
    /// Records a bounce from a delivery status notification: the notice
    /// its quoted Message-ID names (or, when the report quotes none,
    /// the notice of `incident` whose customer's address is the failed
    /// recipient) becomes `bounced`, and a letter is offered instead. The
    /// ledger entry and the timeline carry ids and the status code only.
    pub async fn record_bounce(
        &self,
        actor: &Actor,
        report: &[u8],
        incident: Option<&str>,
    ) -> Result<BounceOutcome, VaultError> {
        self.require_owner(actor, "record a bounced notice")?;
        let report = parse_delivery_report(report)?;
        let Some(failed) = report.failed().cloned() else {
            let actions: Vec<&str> = report
                .recipients
                .iter()
                .map(|r| r.action.as_str())
                .collect();
            return Err(VaultError::InvalidInput(format!(
                "the report says {} (not failed): the notice may still arrive, nothing was \
                 changed",
                actions.join(", ")
            )));
        };
        let ws = self.workspace();
        let notice = match (report.notice(), incident) {
            (Some(id), _) => self.store().notice(ws, id).await?.ok_or_else(|| {
                VaultError::NotFound(format!(
                    "the bounce returns notice {id}, which this workspace does not have \
                     (nothing was changed)"
                ))
            })?,
            (None, None) => {
                return Err(VaultError::InvalidInput(
                    "the bounce does not quote the notice's Message-ID: name the incident \
                     (--incident ID) to match it by the recipient's address (nothing was changed)"
                        .into(),
                ));
            }
            (None, Some(incident)) => {
                self.notice_by_recipient(actor, incident, &failed.recipient)
                    .await?
            }
        };
        let record = self
            .store()
            .incident(ws, notice.incident)
            .await?
            .ok_or_else(|| VaultError::Integrity("a notice's incident is gone".into()))?;
        if !matches!(notice.status, NoticeStatus::Sent | NoticeStatus::Uncertain) {
            return Err(VaultError::Conflict(format!(
                "notice {} is {}, not sent: only a sent notice can bounce (nothing was changed)",
                notice.id,
                notice.status.as_str()
            )));
        }
        let status = if failed.status.is_empty() {
            "no status code".to_owned()
        } else {
            // Only the code: the report's words may quote the address.
            failed
                .status
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '.')
                .take(12)
                .collect()
        };
        // INVARIANT: the change is on the ledger before it is made.
        self.incident_step(
            actor,
            record.id,
            super::subject(&record),
            "notice bounced",
            format!(
                "notice {} bounced (status {status}): a letter is due",
                notice.id
            ),
        )
        .await?;
        let reason =
            format!("bounced (status {status}): export it as a letter (`incident letters`)");
        let now = self.inner.clock.now();
        if !self
            .store()
            .notice_bounced(ws, notice.id, &reason, now)
            .await?
        {
            return Err(VaultError::Conflict(format!(
                "notice {} changed while the bounce was recorded: look at it again",
                notice.id
            )));
        }
        let notice = self
            .store()
            .notice(ws, notice.id)
            .await?
            .ok_or_else(|| VaultError::Integrity("a bounced notice is gone".into()))?;
        Ok(BounceOutcome { notice, status })
    }

    /// The notice of `incident` whose customer's e-mail address is
    /// `recipient` (the rows are read on the ledger first).
    async fn notice_by_recipient(
        &self,
        actor: &Actor,
        incident: &str,
        recipient: &str,
    ) -> Result<NoticeRecord, VaultError> {
        let record = self.find_incident(incident).await?;
        let drafts = self
            .drafts(
                actor,
                &record,
                None,
                None,
                Purpose {
                    action: confidant_ledger::KnownAction::View,
                    why: "matching a bounce to its notice",
                    address: false,
                },
            )
            .await?;
        let wanted = recipient.trim().to_ascii_lowercase();
        let rows: Vec<_> = drafts
            .iter()
            .filter(|d| {
                d.to.as_deref()
                    .is_some_and(|t| t.to_ascii_lowercase() == wanted)
            })
            .map(|d| (d.set, d.row))
            .collect();
        let notices = self.store().notices(self.workspace(), record.id).await?;
        let mut found = notices
            .into_iter()
            .filter(|n| rows.contains(&(n.set, n.row)));
        match (found.next(), found.next()) {
            (Some(n), None) => Ok(n),
            (None, _) => Err(VaultError::NotFound(format!(
                "no notice of incident {} went to the bounced recipient (nothing was changed)",
                record.id
            ))),
            (Some(_), Some(_)) => Err(VaultError::Conflict(
                "several notices went to the bounced recipient: record it from a bounce that \
                 quotes the Message-ID (nothing was changed)"
                    .into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "From: MAILER-DAEMON@mx.example\r\n\
To: privacy@business.example\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status;\r\n\
\tboundary=\"B0UND\"\r\n\
\r\n\
This is a MIME-encapsulated message.\r\n\
\r\n\
--B0UND\r\n\
Content-Type: text/plain\r\n\
\r\n\
I'm sorry to have to inform you that your message could not be delivered.\r\n\
--B0UND\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.example\r\n\
Arrival-Date: Sun, 29 Nov 2026 08:00:00 +0000\r\n\
\r\n\
Final-Recipient: rfc822; ann@example.net\r\n\
Original-Recipient: rfc822;ann@example.net\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <ann@example.net>: Recipient address rejected\r\n\
\r\n\
--B0UND\r\n\
Content-Type: text/rfc822-headers\r\n\
\r\n\
From: Business <privacy@business.example>\r\n\
Message-ID: <notice-0192f0c4-7c1a-7000-8000-000000000001@business.example>\r\n\
Subject: Notice of Data Breach\r\n\
\r\n\
--B0UND--\r\n";

    #[test]
    fn a_report_names_the_notice_and_the_failed_recipient() {
        let r = parse_delivery_report(REPORT.as_bytes()).unwrap();
        assert_eq!(
            r.recipients,
            [RecipientReport {
                recipient: "ann@example.net".into(),
                action: "failed".into(),
                status: "5.1.1".into(),
            }]
        );
        assert_eq!(
            r.notice().map(|n| n.to_string()).as_deref(),
            Some("0192f0c4-7c1a-7000-8000-000000000001")
        );
        assert!(r.failed().is_some());
    }

    #[test]
    fn base64_parts_and_bare_newlines_are_read() {
        let status = "Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; <bo@example.net>\nAction: delayed\nStatus: 4.4.1\n";
        let encoded = base64::engine::general_purpose::STANDARD.encode(status);
        let mail = format!(
            "Content-Type: multipart/report; boundary=x; report-type=delivery-status\n\n\
             --x\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n\
             {encoded}\n--x\nContent-Type: message/rfc822\n\nMessage-Id: <other@elsewhere>\n\nhi\n--x--\n"
        );
        let r = parse_delivery_report(mail.as_bytes()).unwrap();
        assert_eq!(r.recipients[0].recipient, "bo@example.net");
        assert_eq!(r.recipients[0].action, "delayed");
        assert!(r.failed().is_none(), "a delay is not a bounce");
        assert_eq!(r.original_message_id.as_deref(), Some("other@elsewhere"));
        assert_eq!(r.notice(), None, "not one of ours");
    }

    #[test]
    fn what_is_not_a_report_is_refused_with_a_reason() {
        for bad in [
            "Subject: hello\r\n\r\njust a mail\r\n",
            "Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n",
            "Content-Type: multipart/report\r\n\r\nno boundary\r\n",
            "",
        ] {
            let err = parse_delivery_report(bad.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(err.contains("delivery status notification"), "{err}");
        }
        let no_recipient = "Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n--x--\r\n";
        let err = parse_delivery_report(no_recipient.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no recipient"), "{err}");
        let huge = vec![b'a'; MAX_REPORT_BYTES + 1];
        assert!(parse_delivery_report(&huge).is_err());
    }
}
