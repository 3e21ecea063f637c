//! What the access log says about sign-ins and about who touched a
//! patient's conversations: the coarse device and network of a sign-in
//! (never a full address), failed sign-ins, and a caregiver's reads and
//! sends or anybody else's downloads, appended to the patient's log
//! ([`crate::history`] chains them).

use std::net::IpAddr;

use axum::http::{HeaderMap, header};
use ward_proto::account::{AccountEventKind, SignInDetail, SignInMethod, ThreadActivity};

use crate::error::ApiError;
use crate::{AppState, history, store};

/// How many of an account's newest sign-ins are searched for one from the
/// same kind of device.
const DEVICES_LOOKBACK: i64 = 500;

/// A sign-in, made or attempted: how, from what, from where.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// How.
    pub method: SignInMethod,
    /// "Chrome on Android".
    pub device: String,
    /// "203.0.113.0/24".
    pub network: String,
    /// The `User-Agent` itself (at most 200 characters), for the owner's
    /// own list of sessions; never written to the log.
    pub user_agent: Option<String>,
    /// Made by Ward inside another site's frame (its `Ward-Frame: 1`
    /// header): the session cookie is then partitioned
    /// ([`crate::sessions::cookie`]).
    pub framed: bool,
}

impl Attempt {
    /// The attempt a request makes: its `User-Agent`, described coarsely,
    /// and the client address ([`crate::extract::ClientAddr`]) cut to its
    /// network.
    pub fn new(method: SignInMethod, headers: &HeaderMap, addr: &str) -> Self {
        let user_agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        Self {
            method,
            device: device(user_agent.unwrap_or("")),
            network: network(addr),
            user_agent: user_agent.map(|ua| ua.chars().take(200).collect()),
            framed: crate::sessions::framed(headers),
        }
    }

    fn detail(&self, new_device: bool) -> Result<String, ApiError> {
        serde_json::to_string(&SignInDetail {
            method: self.method,
            device: self.device.clone(),
            network: self.network.clone(),
            new_device,
        })
        .map_err(|e| ApiError::internal("sign-in detail", &e))
    }
}

/// A coarse description of a browser ([`ward_proto::account::device_description`]).
pub fn device(user_agent: &str) -> String {
    ward_proto::account::device_description(user_agent)
}

/// The network of a client address: its /24 for IPv4, its /48 for IPv6
/// (an IPv4 address mapped into IPv6 as IPv4), or "unknown".
pub fn network(addr: &str) -> String {
    match addr.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
            format!("{prefix}/48")
        }
        Err(_) => "unknown".into(),
    }
}

/// The device an earlier `signed_in` event names: its [`SignInDetail`], or
/// for one written before details were JSON, its raw `User-Agent`.
fn device_of(detail: &str) -> String {
    serde_json::from_str::<SignInDetail>(detail)
        .map_or_else(|_| device(detail), |detail| detail.device)
}

/// The detail to record for a sign-in by `account_id`: new-device when the
/// account signed in before, but never from this kind of device.
pub async fn sign_in_detail(
    state: &AppState,
    account_id: &str,
    attempt: &Attempt,
) -> Result<String, ApiError> {
    let earlier: Vec<String> = store::history::events_of_kind(
        &state.db,
        account_id,
        AccountEventKind::SignedIn,
        DEVICES_LOOKBACK,
    )
    .await?
    .into_iter()
    .map(|event| event.detail.as_deref().map(device_of).unwrap_or_default())
    .collect();
    let new_device = !earlier.is_empty() && !earlier.contains(&attempt.device);
    attempt.detail(new_device)
}

/// Records a failed sign-in into `account_id`'s log, in the background:
/// the refusal the caller answers with takes the same time whether or not
/// the attempt named an account, and a failure to record is logged, never
/// shown. At most [`crate::lockout::RECORDED_FAILURES`] an hour per
/// account are written; more are refused as usual, unrecorded.
pub fn failed(state: &AppState, account_id: &str, attempt: &Attempt) {
    let (state, account_id) = (state.clone(), account_id.to_owned());
    let detail = attempt.detail(false);
    tokio::spawn(async move {
        let within = crate::lockout::count(
            &state,
            &[(crate::lockout::RECORDED_FAILURES, account_id.as_str())],
        )
        .await
        .is_ok();
        if !within {
            return;
        }
        let recorded = match detail {
            Ok(detail) => {
                history::record(
                    &state.db,
                    &account_id,
                    AccountEventKind::SignInFailed,
                    None,
                    Some(&detail),
                )
                .await
            }
            Err(error) => Err(error),
        };
        if let Err(error) = recorded {
            tracing::error!(?error, "a failed sign-in was not recorded");
        }
    });
}

/// Records into the patient's log that `by` (a caregiver, the clinic)
/// read, sent or downloaded in their conversation `thread_id`. Called after
/// the action itself is done: a failure to record is logged, and the
/// action still answers as done.
pub async fn thread_activity(
    state: &AppState,
    patient_id: &str,
    kind: AccountEventKind,
    activity: &ThreadActivity,
) {
    let recorded = match serde_json::to_string(activity) {
        Ok(detail) => history::record(&state.db, patient_id, kind, None, Some(&detail)).await,
        Err(error) => Err(ApiError::internal("thread activity", &error)),
    };
    if let Err(error) = recorded {
        tracing::error!(
            ?error,
            kind = kind.name(),
            "conversation activity not recorded in the access log"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_network_of_an_address_is_kept() {
        assert_eq!(network("203.0.113.77"), "203.0.113.0/24");
        assert_eq!(network("2001:db8:1234:5678::1"), "2001:db8:1234::/48");
        assert_eq!(network("::ffff:198.51.100.9"), "198.51.100.0/24");
        assert_eq!(network("unknown"), "unknown");
    }

    #[test]
    fn an_old_raw_user_agent_detail_still_names_its_device() {
        assert_eq!(
            device_of("Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36"),
            "Chrome on Linux"
        );
        let json = r#"{"method":"passkey","device":"Safari on iPhone","network":"unknown","new_device":false}"#;
        assert_eq!(device_of(json), "Safari on iPhone");
    }
}
