//! The device API under `/api/v1/devices`: enrollment, signed posture
//! reports and session links (no sign-in: a one-time code and the device's
//! signature are the credentials), the devices list, revocation, codes and
//! the posture policy (signed in).

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use confidant_core::device::PosturePolicy;
use confidant_protocol::device::{
    CreateEnrollmentRequest, DeviceInfo, EnrollDeviceRequest, EnrolledDevice, EnrollmentCode,
    LabelPosture, LinkCode, LinkDeviceRequest, PosturePolicyInfo, ReportVerdict, SignedReport,
};
use confidant_vault::{DeviceEnrollment, IncomingReport};
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::api::{ApiJson, ApiPath};
use crate::auth::ApiCaller;
use crate::{AppError, AppState, wire};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/devices", get(list))
        .route("/api/v1/devices/enroll", post(enroll))
        .route("/api/v1/devices/report", post(report))
        .route("/api/v1/devices/link-code", post(link_code))
        .route("/api/v1/devices/link", post(link))
        .route("/api/v1/devices/enrollments", post(new_enrollment))
        .route("/api/v1/devices/policy", get(get_policy).put(set_policy))
        .route("/api/v1/devices/{id}/revoke", post(revoke))
}

/// `POST /api/v1/devices/enroll`.
async fn enroll(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EnrollDeviceRequest>,
) -> Result<Json<EnrolledDevice>, AppError> {
    let vault = state.tenants.vault_of_enrollment(&body.code).await?;
    let enrolled = vault
        .enroll_device(&DeviceEnrollment {
            code: body.code,
            public_key: body.public_key,
            name: body.name,
            os: body.os,
            signature: body.signature,
        })
        .await?;
    Ok(Json(EnrolledDevice {
        device: enrolled.device.to_string(),
        person: enrolled.person_email,
        workspace: enrolled.workspace,
    }))
}

/// `POST /api/v1/devices/report`: a signed posture report; the answer says
/// per label whether the device passes and what to fix.
async fn report(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SignedReport>,
) -> Result<Json<ReportVerdict>, AppError> {
    let vault = state.tenants.vault_of_device(&body.device).await?;
    let labels = vault
        .receive_report(&IncomingReport {
            device: body.device.clone(),
            seq: body.seq,
            body: body.body,
            signature: body.signature,
        })
        .await?;
    Ok(Json(ReportVerdict {
        device: body.device,
        labels: labels
            .into_iter()
            .map(|(label, problems)| LabelPosture {
                label: label.as_str().to_owned(),
                ok: problems.is_empty(),
                steps: problems.iter().map(|p| p.step()).collect(),
            })
            .collect(),
    }))
}

/// `POST /api/v1/devices/link-code`: a one-time code for this token.
async fn link_code(caller: ApiCaller) -> Result<Json<LinkCode>, AppError> {
    let code = caller
        .vault
        .new_link_code(&caller.actor, &caller.token)
        .await?;
    Ok(Json(LinkCode {
        code: code.code.expose_secret().to_owned(),
        expires_at: code.expires_at,
    }))
}

/// `POST /api/v1/devices/link`: the device signed a session's link code.
async fn link(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LinkDeviceRequest>,
) -> Result<Json<serde_json::Value>, AppError> {
    let vault = state.tenants.vault_of_device(&body.device).await?;
    let name = vault
        .link_device(&body.device, &body.code, &body.signature)
        .await?;
    Ok(Json(
        serde_json::json!({ "linked": true, "device_name": name }),
    ))
}

/// `GET /api/v1/devices`: every device for the owner, one's own otherwise.
async fn list(caller: ApiCaller) -> Result<Json<Vec<DeviceInfo>>, AppError> {
    let devices = caller.vault.devices(&caller.actor).await?;
    Ok(Json(devices.iter().map(wire::device_info).collect()))
}

/// `POST /api/v1/devices/enrollments` (owner and admins).
async fn new_enrollment(
    caller: ApiCaller,
    ApiJson(body): ApiJson<CreateEnrollmentRequest>,
) -> Result<Json<EnrollmentCode>, AppError> {
    let (code, person) = caller
        .vault
        .new_enrollment_code(&caller.actor, &body.person)
        .await?;
    Ok(Json(EnrollmentCode {
        code: code.code.expose_secret().to_owned(),
        person,
        expires_at: code.expires_at,
    }))
}

#[derive(Deserialize)]
struct RevokeBody {
    reason: String,
}

/// `POST /api/v1/devices/{id}/revoke` (owner and admins).
async fn revoke(
    caller: ApiCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RevokeBody>,
) -> Result<Json<serde_json::Value>, AppError> {
    caller
        .vault
        .revoke_device(&caller.actor, &id, &body.reason)
        .await?;
    Ok(Json(serde_json::json!({ "revoked": id })))
}

/// `GET /api/v1/devices/policy`.
async fn get_policy(caller: ApiCaller) -> Result<Json<PosturePolicyInfo>, AppError> {
    if !caller.actor.role.manages_people() {
        return Err(AppError::Forbidden(
            "only the owner and admins see the posture policy".into(),
        ));
    }
    let policy = caller.vault.posture_policy().await?;
    Ok(Json(wire::policy_info(&policy)))
}

/// `PUT /api/v1/devices/policy` (owner and admins).
async fn set_policy(
    caller: ApiCaller,
    ApiJson(body): ApiJson<PosturePolicyInfo>,
) -> Result<Json<PosturePolicyInfo>, AppError> {
    let policy = PosturePolicy::parse(&body.requirements, body.max_age_hours)
        .map_err(|e| AppError::InvalidInput(e.to_string()))?;
    caller
        .vault
        .set_posture_policy(&caller.actor, &policy)
        .await?;
    Ok(Json(wire::policy_info(&policy)))
}
