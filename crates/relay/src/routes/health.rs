//! `GET /healthz`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ward_proto::{Health, HealthStatus};

use crate::{AppState, db};

/// 200 with `ok` when the database answers; 503 with `degraded` otherwise.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "OK", body = ward_proto::Health), (status = 503, description = "Degraded", body = ward_proto::Health)))]
pub async fn get(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let version = env!("CARGO_PKG_VERSION").to_owned();
    match db::migrations_applied(&state.db).await {
        Ok(migrations_applied) => (
            StatusCode::OK,
            Json(Health {
                status: HealthStatus::Ok,
                version,
                migrations_applied,
            }),
        ),
        Err(error) => {
            tracing::warn!(%error, "health check: the database did not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: HealthStatus::Degraded,
                    version,
                    migrations_applied: 0,
                }),
            )
        }
    }
}
