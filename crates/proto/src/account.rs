//! The account's own history of security-relevant changes.

use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccountEventKind {
    /// The first key bundle was published.
    BundlePublished,
    /// A different key bundle replaced the current one.
    BundleChanged,
    /// The encrypted vault was written.
    VaultChanged,
    /// A passkey was added.
    PasskeyAdded,
    /// A passkey was removed.
    PasskeyRemoved,
    /// An authenticator app was confirmed.
    TotpEnabled,
    /// The authenticator app was turned off.
    TotpDisabled,
    /// A sign-in (a new session).
    SignedIn,
    /// A session was signed out remotely.
    SessionRevoked,
    /// The patient invited a caregiver (the detail is the name on the invite).
    CaregiverInvited,
    /// The patient shared a thread with a caregiver (the detail is the
    /// caregiver's account id).
    ThreadShared,
    /// The patient stopped sharing a thread with a caregiver (the detail
    /// is the caregiver's account id).
    ThreadUnshared,
    /// The patient changed what a caregiver may do (read only or not) or
    /// renewed their access (the detail is the caregiver's account id).
    CaregiverChanged,
    /// The patient removed a caregiver (the detail is the caregiver's
    /// account id).
    CaregiverRemoved,
    /// A caregiver stopped helping the patient (the detail is the
    /// caregiver's account id).
    CaregiverLeft,
    /// A caregiver's access ran out (the detail is the caregiver's account
    /// id).
    CaregiverExpired,
    /// Somebody tried to sign in to the account and failed (the detail is a
    /// [`SignInDetail`] as JSON).
    SignInFailed,
    /// The account signed out on a device (the session is the one ended).
    SignedOut,
    /// A caregiver the patient invited enrolled and may now be given
    /// conversations (the detail is the caregiver's account id).
    CaregiverAccepted,
    /// A caregiver read messages in one of the patient's conversations (the
    /// detail is a [`ThreadActivity`] as JSON).
    CaregiverRead,
    /// A caregiver sent a message in one of the patient's conversations
    /// (the detail is a [`ThreadActivity`] as JSON).
    CaregiverSent,
    /// Somebody other than the patient downloaded an attachment from one of
    /// the patient's conversations (the detail is a [`ThreadActivity`] as
    /// JSON).
    AttachmentDownloaded,
    /// The account agreed to the clinic's messaging consent (the detail is
    /// a [`ConsentDetail`] as JSON).
    ConsentGiven,
    /// The account withdrew its consent to messaging (the detail is a
    /// [`ConsentDetail`] as JSON: the version withdrawn).
    ConsentWithdrawn,
    /// A teen agreed to a guardian the clinic appointed (detail: the
    /// caregiver's account id).
    CaregiverAssented,
    /// The account was opened with its recovery code, as the patient's app
    /// reported right after (the relay never sees the code); no detail.
    RecoveryCodeUsed,
}

impl AccountEventKind {
    /// Every kind, in the order they were added.
    pub const ALL: [Self; 26] = [
        Self::BundlePublished,
        Self::BundleChanged,
        Self::VaultChanged,
        Self::PasskeyAdded,
        Self::PasskeyRemoved,
        Self::TotpEnabled,
        Self::TotpDisabled,
        Self::SignedIn,
        Self::SessionRevoked,
        Self::CaregiverInvited,
        Self::ThreadShared,
        Self::ThreadUnshared,
        Self::CaregiverChanged,
        Self::CaregiverRemoved,
        Self::CaregiverLeft,
        Self::CaregiverExpired,
        Self::SignInFailed,
        Self::SignedOut,
        Self::CaregiverAccepted,
        Self::CaregiverRead,
        Self::CaregiverSent,
        Self::AttachmentDownloaded,
        Self::ConsentGiven,
        Self::ConsentWithdrawn,
        Self::CaregiverAssented,
        Self::RecoveryCodeUsed,
    ];

    /// The kind's stable name: its JSON form, its database value, and the
    /// text hashed into its access-log link (crypto.md §9c), so it can never
    /// change.
    pub const fn name(self) -> &'static str {
        match self {
            Self::BundlePublished => "bundle_published",
            Self::BundleChanged => "bundle_changed",
            Self::VaultChanged => "vault_changed",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRemoved => "passkey_removed",
            Self::TotpEnabled => "totp_enabled",
            Self::TotpDisabled => "totp_disabled",
            Self::SignedIn => "signed_in",
            Self::SessionRevoked => "session_revoked",
            Self::CaregiverInvited => "caregiver_invited",
            Self::ThreadShared => "thread_shared",
            Self::ThreadUnshared => "thread_unshared",
            Self::CaregiverChanged => "caregiver_changed",
            Self::CaregiverRemoved => "caregiver_removed",
            Self::CaregiverLeft => "caregiver_left",
            Self::CaregiverExpired => "caregiver_expired",
            Self::SignInFailed => "sign_in_failed",
            Self::SignedOut => "signed_out",
            Self::CaregiverAccepted => "caregiver_accepted",
            Self::CaregiverRead => "caregiver_read",
            Self::CaregiverSent => "caregiver_sent",
            Self::AttachmentDownloaded => "attachment_downloaded",
            Self::ConsentGiven => "consent_given",
            Self::ConsentWithdrawn => "consent_withdrawn",
            Self::CaregiverAssented => "caregiver_assented",
            Self::RecoveryCodeUsed => "recovery_code_used",
        }
    }
}

/// A coarse description of a browser from its `User-Agent`: its family
/// and its system, nothing that singles a device out ("Chrome on
/// Android", "Safari on iPhone"). The relay records it in the access log;
/// the app names signed-in devices with it.
pub fn device_description(user_agent: &str) -> String {
    if user_agent.starts_with("ward-clinic") {
        return "the clinic agent".into();
    }
    // Order matters: Edge, Samsung Internet and Opera also say "Chrome",
    // and Chrome also says "Safari".
    const BROWSERS: [(&str, &str); 8] = [
        ("Edg/", "Edge"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ];
    const SYSTEMS: [(&str, &str); 7] = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "Mac"),
        ("Linux", "Linux"),
    ];
    let browser = BROWSERS
        .iter()
        .find(|(token, _)| user_agent.contains(token))
        .map(|(_, name)| *name);
    let system = SYSTEMS
        .iter()
        .find(|(token, _)| user_agent.contains(token))
        .map(|(_, name)| *name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(system)) => format!("a browser on {system}"),
        (None, None) => "an unknown browser".into(),
    }
}

/// The detail of a `consent_given` or `consent_withdrawn` event (as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentDetail {
    /// The text's version.
    pub version: String,
    /// The SHA-256 of the text's UTF-8 bytes, in lowercase hex.
    pub sha256: String,
    /// How the account agreed: `enrollment` (in the session its invite code
    /// and one-time code opened, before its passkey was made) or
    /// `signed_in` (later, in Settings) for the consent to messaging;
    /// `caregiver_invite` (inviting a caregiver) or `caregiver_assent`
    /// (agreeing to a guardian the clinic appointed) for the caregiver
    /// terms; empty for a withdrawal.
    #[serde(default)]
    pub method: String,
    /// For the caregiver terms: the caregiver, by the name the patient gave
    /// (`caregiver_invite`) or by account id (`caregiver_assent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caregiver: Option<String>,
}

/// `GET /v1/consent`: the clinic's consent to messaging as it stands now
/// (no session needed: it is shown before an account can sign in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentText {
    /// Its version, as the clinic names it.
    pub version: String,
    /// The text, paragraphs separated by blank lines.
    pub text: String,
    /// SHA-256 of `text`'s UTF-8 bytes: what an acceptance names.
    pub sha256: crate::Bytes,
}

/// `POST /v1/account/consent`: the caller agrees to exactly this text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConsentAccept {
    /// The version shown.
    pub version: String,
    /// The SHA-256 of the text shown.
    pub sha256: crate::Bytes,
}

/// What an account agreed to, and whether it withdrew.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentStatus {
    /// The text agreed to last (its version, hash and words), if any.
    pub agreed: Option<ConsentText>,
    /// When (Unix seconds).
    pub agreed_at: Option<u64>,
    /// How ([`ConsentDetail::method`]).
    pub method: Option<String>,
    /// When the account withdrew (Unix seconds), if it did and has not
    /// agreed again since: messaging is stopped for it.
    pub withdrawn_at: Option<u64>,
    /// The text as it stands now (to agree to, or again).
    pub current: ConsentText,
}

/// Read by [`AccountEventKind::name`] (one table of names) rather than a
/// derived reader, which costs the web client more code.
impl<'de> Deserialize<'de> for AccountEventKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown account event kind `{name}`")))
    }
}

/// How a sign-in was made, or attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    /// A passkey.
    Passkey,
    /// An emailed or texted code with an authenticator-app code.
    Code,
    /// The invite code, at enrollment.
    Invite,
    /// The clinic agent's account key.
    AccountKey,
    /// The relay's one-time clinic setup code.
    Setup,
}

/// The detail of a `signed_in` or `sign_in_failed` event (as JSON). No
/// full address is kept: only its network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInDetail {
    /// How.
    pub method: SignInMethod,
    /// A coarse description of the device: "Chrome on Android", "Safari on
    /// iPhone", "an unknown browser".
    pub device: String,
    /// The address's network: its /24 (IPv4) or /48 (IPv6), or "unknown".
    pub network: String,
    /// For a sign-in: whether the account had signed in before, but never
    /// from a device described this way.
    #[serde(default)]
    pub new_device: bool,
}

/// The detail of a caregiver's read or send, or of a download, in a
/// patient's conversation (as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreadActivity {
    /// Who (their account id).
    pub by: String,
    /// Which conversation.
    pub thread_id: String,
    /// For a read, up to which message; for a send, the message's seq.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountEvent {
    /// Its position in the account's history, from 0.
    pub seq: u64,
    /// What happened.
    pub kind: AccountEventKind,
    /// When (Unix seconds).
    pub at: u64,
    /// When, in Unix milliseconds: the value hashed into the link.
    pub at_ms: i64,
    /// The session that did it (for `signed_in`, the new one).
    pub session_id: Option<String>,
    /// More about it: the key-history seq, the passkey's label, the revoked
    /// session, a [`SignInDetail`] or [`ThreadActivity`] as JSON.
    pub detail: Option<String>,
    /// This entry's link: SHA-256 over it and the previous entry's link
    /// (crypto.md §9c).
    pub hash: crate::Bytes,
}

/// `GET /v1/account/history` (and the clinic's
/// `GET /v1/accounts/{account_id}/history`): one page of the access log,
/// newest first, at most 200 entries. The newest page is
/// `?limit=N`; the page before it `?before=<earlier_cursor>&limit=N`,
/// until `earlier_cursor` is absent. Pages join into one chain: the
/// oldest entry of one page links to the newest of the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountHistory {
    /// The events, newest first.
    pub events: Vec<AccountEvent>,
    /// `before` for the entries just older than these (the oldest one's
    /// seq); absent when these reach the log's first entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earlier_cursor: Option<u64>,
}

/// `PUT /v1/accounts/{account_id}/legal-hold` (the clinic only): puts an
/// account's threads on legal hold, or lifts it. While any current or past
/// member of a thread is on hold, retention deletes nothing from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LegalHoldRequest {
    /// `true` to hold, `false` to lift the hold.
    pub hold: bool,
}

/// The answer to [`LegalHoldRequest`]: the account's hold as stored now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LegalHold {
    /// The account.
    pub account_id: String,
    /// Whether it is on legal hold.
    pub hold: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_described_by_family_and_system_only() {
        let cases = [
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                "Safari on iPhone",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
                "Samsung Internet on Android",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox on Mac",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
                "Chrome on Linux",
            ),
            ("ward-clinic/0.1.0", "the clinic agent"),
            ("curl/8.5.0", "an unknown browser"),
            ("", "an unknown browser"),
        ];
        for (agent, expected) in cases {
            assert_eq!(device_description(agent), expected, "{agent}");
        }
    }
}

#[cfg(test)]
mod kind_tests {
    #![allow(clippy::unwrap_used)]

    use super::AccountEventKind;

    /// Every kind's JSON is its name, and reads back as itself.
    #[test]
    fn every_kind_round_trips_by_its_name() {
        for kind in AccountEventKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.name()));
            assert_eq!(
                serde_json::from_str::<AccountEventKind>(&json).unwrap(),
                kind
            );
        }
        assert!(serde_json::from_str::<AccountEventKind>("\"moon_landing\"").is_err());
    }
}
