//! `GET /healthz`: is the relay up, and can it reach its database.

use serde::{Deserialize, Serialize};

/// Path of the health endpoint. It is outside `/v1` on purpose: load
/// balancers and the dev tooling probe it without knowing the API version.
pub const HEALTH_PATH: &str = "/healthz";

/// The relay's answer to a health probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// Overall state; `Ok` only when every dependency answered.
    pub status: HealthStatus,
    /// The relay's version (its crate version).
    pub version: String,
    /// How many database migrations have been applied.
    pub migrations_applied: u32,
}

/// Whether the relay can serve requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// The relay and its database answer.
    Ok,
    /// The relay runs but its database does not answer.
    Degraded,
}

deserialize_by_name!(HealthStatus, "health status", [Ok => "ok", Degraded => "degraded"]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_has_a_stable_json_shape() {
        let health = Health {
            status: HealthStatus::Ok,
            version: "0.1.0".into(),
            migrations_applied: 1,
        };
        let json = serde_json::to_string(&health).unwrap();
        assert_eq!(
            json,
            r#"{"status":"ok","version":"0.1.0","migrations_applied":1}"#
        );
        assert_eq!(serde_json::from_str::<Health>(&json).unwrap(), health);
    }
}

#[cfg(test)]
mod health_status_names {
    #![allow(clippy::unwrap_used)]

    use super::HealthStatus;

    /// Each health status reads back from what it writes; another name is an error.
    #[test]
    fn every_health_status_names_round_trips_by_name() {
        for value in [HealthStatus::Ok, HealthStatus::Degraded] {
            let json = serde_json::to_string(&value).unwrap();
            assert_eq!(serde_json::from_str::<HealthStatus>(&json).unwrap(), value);
        }
        assert!(serde_json::from_str::<HealthStatus>("\"nobody\"").is_err());
    }
}
