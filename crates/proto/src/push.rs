//! Web Push (RFC 8030): the relay's VAPID key, this device's subscription,
//! and the notice a push carries (docs/push.md).
//!
//! A push never carries a name, a clinic name, a subject or any text: only
//! [`PushNotice`], padded to [`NOTICE_LEN`] bytes before it is encrypted to
//! the subscription (RFC 8291), so the kinds cannot be told apart by size.

use serde::{Deserialize, Serialize};

/// `GET /v1/push/key`: the relay's VAPID public key (RFC 8292), the
/// `applicationServerKey` a browser subscribes with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushKey {
    /// The uncompressed P-256 point (65 bytes), unpadded base64url.
    pub public_key: String,
}

/// `GET /v1/push/subscription`: whether this session's device has a
/// subscription on the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushStatus {
    /// A subscription is stored for this session.
    pub subscribed: bool,
}

/// `PUT /v1/push/subscription`: exactly what the browser's
/// `PushSubscription.toJSON()` gives. Replaces this session's subscription
/// (and removes the same endpoint from any other session: one device, one
/// subscription).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushSubscription {
    /// The push service's URL for this subscription (a capability: whoever
    /// knows it can push to the device). At most 2048 bytes, on one of the
    /// relay's `push_services`.
    pub endpoint: String,
    /// When the push service says it ends (Unix milliseconds), if it says;
    /// accepted and ignored (a 404 or 410 from the service ends it).
    #[serde(rename = "expirationTime", default)]
    pub expiration_time: Option<f64>,
    /// The subscription's keys.
    pub keys: PushSubscriptionKeys,
}

/// A subscription's keys, unpadded base64url as the browser gives them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushSubscriptionKeys {
    /// The device's P-256 public key (65 bytes, uncompressed point).
    pub p256dh: String,
    /// The authentication secret (16 bytes).
    pub auth: String,
}

/// The length every notice is padded to (trailing spaces) before it is
/// encrypted.
pub const NOTICE_LEN: usize = 256;

/// What a push is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PushKind {
    /// A new message in `thread`.
    Message,
    /// Someone read the account's messages in `thread`.
    Receipt,
    /// The test notification from Settings (no thread).
    Test,
}

deserialize_by_name!(PushKind, "push kind", [Message => "message", Receipt => "receipt", Test => "test"]);

/// The decrypted push body: `{"v":1,"kind":...,"thread":...,"unread":...}`,
/// then spaces up to [`NOTICE_LEN`] bytes. No names, no clinic name, no
/// subject, no text: the app shows a generic line and opens `thread` on tap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushNotice {
    /// The format's version: 1.
    pub v: u8,
    /// What happened.
    pub kind: PushKind,
    /// The thread to open (not for [`PushKind::Test`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    /// The account's unread messages over all its threads, for the app
    /// badge (not for [`PushKind::Test`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<u64>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_browser_subscription_reads_and_kinds_round_trip() {
        let json = r#"{"endpoint":"https://fcm.googleapis.com/fcm/send/abc","expirationTime":null,"keys":{"p256dh":"BNc","auth":"dGVzdA"}}"#;
        let sub: PushSubscription = serde_json::from_str(json).unwrap();
        assert_eq!(sub.expiration_time, None);
        assert_eq!(sub.keys.auth, "dGVzdA");
        let with_time: PushSubscription = serde_json::from_str(
            r#"{"endpoint":"x","expirationTime":1767225600000,"keys":{"p256dh":"a","auth":"b"}}"#,
        )
        .unwrap();
        assert_eq!(with_time.expiration_time, Some(1_767_225_600_000.0));
        for kind in [PushKind::Message, PushKind::Receipt, PushKind::Test] {
            let text = serde_json::to_string(&kind).unwrap();
            assert_eq!(serde_json::from_str::<PushKind>(&text).unwrap(), kind);
        }
        let notice = PushNotice {
            v: 1,
            kind: PushKind::Message,
            thread: Some("thr_x".into()),
            unread: Some(2),
        };
        assert_eq!(
            serde_json::to_string(&notice).unwrap(),
            r#"{"v":1,"kind":"message","thread":"thr_x","unread":2}"#
        );
    }
}

/// The endpoint is a capability (whoever has it can push to the device)
/// and `auth` a secret: neither is printed.
impl std::fmt::Debug for PushSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSubscription").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for PushSubscriptionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSubscriptionKeys")
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn debug_prints_no_endpoint_and_no_key() {
        let subscription = PushSubscription {
            endpoint: "https://fcm.googleapis.com/fcm/send/secret-token".into(),
            expiration_time: None,
            keys: PushSubscriptionKeys {
                p256dh: "public-point".into(),
                auth: "auth-secret".into(),
            },
        };
        let printed = format!("{subscription:?}");
        for secret in ["secret-token", "auth-secret", "public-point", "fcm"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}
