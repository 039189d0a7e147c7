//! Conversions from domain and vault types to the wire types of
//! `confidant-protocol`. The API and the CLI's `--format json` output both
//! go through these functions, so the two always print the same JSON.

use confidant_core::{Column, DocumentMeta, Person, RecordSetMeta};
use confidant_protocol::{
    AccessedInfo, ColumnInfo, ColumnSuggestionInfo, ColumnSuggestions, DocumentInfo, GrantInfo,
    OffboardResponse, PersonDetailInfo, PersonInfo, RecordPageInfo, RecordSetInfo, RowInfo,
    ScanInfo, SessionInfo,
};
use confidant_vault::{Actor, RecordPage};
use serde_json::{Map, Value};

pub fn document_info(meta: &DocumentMeta) -> DocumentInfo {
    DocumentInfo {
        id: meta.id.to_string(),
        name: meta.name.clone(),
        label: meta.label.as_str().to_owned(),
        size: meta.size,
        version: meta.version,
        created_at: meta.created_at,
        updated_at: meta.updated_at,
        scan: meta.scan.as_ref().map(|scan| ScanInfo {
            kinds: scan.kinds.clone(),
            categories: scan
                .categories
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
            suggested_label: scan.suggested_label.as_str().to_owned(),
            scanned_bytes: scan.scanned_bytes,
            complete: scan.complete,
            binary: scan.binary,
            extracted: scan.extracted.clone(),
            unreadable: scan.unreadable.clone(),
        }),
    }
}

pub fn column_suggestions(
    suggestions: &[confidant_vault::columns::ColumnSuggestion],
) -> ColumnSuggestions {
    ColumnSuggestions {
        columns: suggestions
            .iter()
            .map(|s| ColumnSuggestionInfo {
                position: s.position,
                column: s.column.clone(),
                category: s.category.as_str().to_owned(),
                matched: s.matched,
                values: s.values,
                summary: s.describe(),
            })
            .collect(),
        argument: confidant_vault::columns::columns_argument(suggestions),
    }
}

pub fn column_info(column: &Column) -> ColumnInfo {
    ColumnInfo {
        name: column.name.clone(),
        category: column.category.as_str().to_owned(),
        indexed: column.indexed,
    }
}

pub fn record_set_info(meta: &RecordSetMeta) -> RecordSetInfo {
    RecordSetInfo {
        id: meta.id.to_string(),
        name: meta.name.clone(),
        label: meta.label.as_str().to_owned(),
        columns: meta.columns.iter().map(column_info).collect(),
        rows_are_customers: meta.rows_are_customers,
        contact_column: meta.contact_column.clone(),
        row_count: meta.row_count,
        created_at: meta.created_at,
    }
}

/// A page of rows, each row's values keyed by column name (as JSON
/// strings, exactly as imported).
pub fn record_page_info(page: &RecordPage) -> RecordPageInfo {
    let rows = page
        .rows
        .iter()
        .map(|row| {
            let values: Map<String, Value> = page
                .set
                .columns
                .iter()
                .zip(&row.values)
                .map(|(column, value)| (column.name.clone(), Value::String(value.clone())))
                .collect();
            RowInfo {
                id: row.id.to_string(),
                values,
            }
        })
        .collect();
    RecordPageInfo {
        set: record_set_info(&page.set),
        offset: page.offset,
        rows,
        masked: page.masked.clone(),
    }
}

pub fn person_info(person: &Person) -> PersonInfo {
    PersonInfo {
        id: person.id.to_string(),
        email: person.email.clone(),
        name: person.name.clone(),
        role: person.role.as_str().to_owned(),
        status: person.status.as_str().to_owned(),
    }
}

/// The person behind an actor (who signed in).
pub fn actor_info(actor: &Actor) -> PersonInfo {
    PersonInfo {
        id: actor.person.to_string(),
        email: actor.email.clone(),
        name: actor.name.clone(),
        role: actor.role.as_str().to_owned(),
        status: "active".to_owned(),
    }
}

pub fn session_info(session: &confidant_vault::SessionInfo) -> SessionInfo {
    SessionInfo {
        id: session.id.clone(),
        kind: if session.api { "api" } else { "web" }.to_owned(),
        label: session.label.clone(),
        created_at: session.created_at,
        last_used_at: session.last_used_at,
        expires_at: session.expires_at,
    }
}

pub fn person_detail_info(detail: &confidant_vault::PersonDetail) -> PersonDetailInfo {
    PersonDetailInfo {
        person: person_info(&detail.person),
        created_at: detail.created_at,
        second_factor: detail.has_second_factor,
        recovery_codes_left: detail.recovery_codes_left,
        sessions: detail.sessions.iter().map(session_info).collect(),
        offboarded_at: detail.offboarded_at,
        offboard_reason: detail.offboard_reason.clone(),
    }
}

pub fn grant_info(view: &confidant_vault::GrantView, now: time::OffsetDateTime) -> GrantInfo {
    let g = &view.grant;
    GrantInfo {
        id: g.id.to_string(),
        person: view.person_email.clone(),
        item: view.item.clone(),
        actions: g.actions.iter().map(|a| a.as_str().to_owned()).collect(),
        purpose: g.purpose.clone(),
        status: g.status.as_str().to_owned(),
        live: g.is_live(now),
        request_reason: g.request_reason.clone(),
        created_at: g.created_at,
        expires_at: g.expires_at,
        ended_at: g.ended_at,
        end_reason: g.end_reason.clone(),
    }
}

pub fn offboard_info(done: &confidant_vault::Offboarded) -> OffboardResponse {
    let now = time::OffsetDateTime::now_utc();
    OffboardResponse {
        person: person_info(&done.person),
        sessions_ended: done.sessions_ended,
        invites_cancelled: done.invites_cancelled,
        grants_ended: done.grants_ended,
        devices_revoked: done.devices_revoked,
        grants: done.grants.iter().map(|g| grant_info(g, now)).collect(),
        role_access: done.role_access.clone(),
        accessed: done
            .accessed
            .iter()
            .map(|a| AccessedInfo {
                kind: a.kind.clone(),
                id: a.id.clone(),
                name: a.name.clone(),
                actions: a.actions.clone(),
                last: a.last,
            })
            .collect(),
    }
}

/// A grant as asked over the wire (or on the command line), checked and
/// turned into the vault's request; the error says what to fix.
pub fn grant_request(
    body: &confidant_protocol::GrantRequestBody,
) -> Result<confidant_vault::GrantRequest, String> {
    use confidant_vault::{GrantRequest, GrantTarget};
    let target = match (&body.document, &body.folder, &body.records) {
        (Some(doc), None, None) => GrantTarget::Document(confidant_vault::DocRef::parse(doc)),
        (None, Some(folder), None) => GrantTarget::Folder(folder.clone()),
        (None, None, Some(set)) => {
            let rows = match &body.rows {
                None => None,
                Some(text) => {
                    let (column, equals) = text.split_once('=').ok_or_else(|| {
                        format!("the row filter {text:?} is not COLUMN=VALUE (like region=West)")
                    })?;
                    Some(confidant_core::RowFilter {
                        column: column.trim().to_owned(),
                        equals: equals.trim().to_owned(),
                    })
                }
            };
            GrantTarget::Records {
                set: set.clone(),
                columns: body.columns.clone(),
                rows,
            }
        }
        _ => {
            return Err(
                "name exactly one item: a document, a folder or a record set (with its columns)"
                    .into(),
            );
        }
    };
    let actions = body
        .actions
        .iter()
        .flat_map(|a| a.split(','))
        .filter(|a| !a.trim().is_empty())
        .map(|a| {
            a.parse::<confidant_core::Access>()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    Ok(GrantRequest {
        target,
        actions,
        purpose: body.purpose.clone(),
        until: parse_until(&body.until)?,
        require_passcode: body.require_passcode,
    })
}

/// An RFC 3339 time, or a date meaning the end of that day (UTC).
pub fn parse_until(text: &str) -> Result<time::OffsetDateTime, String> {
    let text = text.trim();
    if let Ok(at) =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
    {
        return Ok(at);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format)
        .ok()
        .and_then(|day| day.with_hms(23, 59, 59).ok())
        .map(|at| at.assume_utc())
        .ok_or_else(|| {
            format!(
                "{text:?} is not a date: give the last day like 2026-12-31 (or an RFC 3339 time)"
            )
        })
}

/// A device as the API and `confidant devices list --format json` show it.
pub fn device_info(view: &confidant_vault::DeviceView) -> confidant_protocol::device::DeviceInfo {
    confidant_protocol::device::DeviceInfo {
        id: view.id.to_string(),
        person: view.person_email.clone(),
        name: view.name.clone(),
        os: view.os.clone(),
        enrolled_at: view.enrolled_at,
        revoked_at: view.revoked_at,
        checked_at: view.checked_at,
        status: view.status().to_owned(),
        checks: view
            .report
            .as_ref()
            .map(|r| r.checks.clone())
            .unwrap_or_default(),
    }
}

/// The posture policy on the wire.
pub fn policy_info(
    policy: &confidant_core::device::PosturePolicy,
) -> confidant_protocol::device::PosturePolicyInfo {
    confidant_protocol::device::PosturePolicyInfo {
        requirements: policy.requirements_text(),
        max_age_hours: policy.max_age_hours,
    }
}
