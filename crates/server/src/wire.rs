//! Conversions from domain and vault types to the wire types of
//! `confidant-protocol`. The API and the CLI's `--format json` output both
//! go through these functions, so the two always print the same JSON.

use confidant_core::{Column, DocumentMeta, Person, RecordSetMeta};
use confidant_protocol::{
    AccessedInfo, ColumnInfo, DocumentInfo, OffboardResponse, PersonDetailInfo, PersonInfo,
    RecordPageInfo, RecordSetInfo, RowInfo, ScanInfo, SessionInfo,
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
        }),
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

pub fn offboard_info(done: &confidant_vault::Offboarded) -> OffboardResponse {
    OffboardResponse {
        person: person_info(&done.person),
        sessions_ended: done.sessions_ended,
        invites_cancelled: done.invites_cancelled,
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
