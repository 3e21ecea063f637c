//! Accounts, sessions, invites and one-time codes.

use serde::{Deserialize, Serialize};

use crate::Bytes;

/// `POST /v1/clinic/setup`: turns this relay's one-time setup code (written
/// to the relay's data directory at first start) into the clinic inbox
/// account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClinicSetupRequest {
    /// The code from `DATA/clinic-setup-code`.
    pub setup_code: String,
    /// The clinic's name as patients see it.
    pub display_name: String,
}

/// A new session: returned by every successful login or enrollment.
///
/// The token is also set as an `HttpOnly` cookie for same-site use; an
/// embedded (third-party iframe) client keeps it in memory and sends it as
/// `Authorization: Bearer`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionCreated {
    /// The signed-in account.
    pub account_id: String,
    /// The bearer token (at least 128 random bits).
    pub token: String,
    /// When the session ends at the latest (Unix seconds).
    pub expires_at: u64,
}

impl std::fmt::Debug for SessionCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCreated")
            .field("account_id", &self.account_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/auth/key/challenge`: the clinic agent asks for a challenge to
/// sign with its account key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyChallengeRequest {
    /// The account that will sign.
    pub account_id: String,
}

/// A challenge to sign (single use, short-lived).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyChallenge {
    /// Names the challenge in the login request.
    pub challenge_id: String,
    /// 32 random bytes to sign.
    pub challenge: Bytes,
}

/// `POST /v1/auth/key/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyLoginRequest {
    /// From [`KeyChallenge`].
    pub challenge_id: String,
    /// Ed25519 over the login transcript (see docs/api.md).
    pub signature: Bytes,
}

/// `POST /v1/invites` (clinic only): an invite for a patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InviteCreateRequest {
    /// The patient's name as the clinic records it.
    pub display_name: String,
    /// Where one-time codes go: an e-mail address or a phone number.
    pub contact: String,
}

/// The invite to hand to the patient (out of band).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteCreated {
    /// Single use; typed by the patient or carried in the invite link.
    pub invite_code: String,
    /// Unix seconds.
    pub expires_at: u64,
}

impl std::fmt::Debug for InviteCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InviteCreated")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/enroll/start`: the patient presents the invite and is shown
/// whose it is. No code is sent yet: that waits for "Yes, this is me"
/// ([`EnrollCodeRequest`]), so a stranger holding the invite who answers
/// "No" has sent nothing to anyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollStartRequest {
    /// The invite code.
    pub invite_code: String,
}

/// Whose invite it is, and where its code would go, masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollStarted {
    /// Names this enrollment in the next steps.
    pub enrollment_id: String,
    /// e.g. `d•••@example.com`, `•••• 4321`.
    pub contact_hint: String,
    /// The name on the invite, for "Is this you?".
    pub display_name: String,
}

/// `POST /v1/enroll/code`: the patient confirmed the invite is theirs; a
/// one-time code goes to the contact on file. Asked again, a new code
/// replaces the last one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollCodeRequest {
    /// From [`EnrollStarted`].
    pub enrollment_id: String,
}

/// `POST /v1/enroll/verify`: the one-time code; on success the account
/// exists and a session starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollVerifyRequest {
    /// From [`EnrollStarted`].
    pub enrollment_id: String,
    /// The six digits.
    pub code: String,
}

/// `GET /v1/clinic`: whom a patient's threads go to, and what to tell a
/// patient before their first message (the relay's `office_hours`,
/// `reply_time` and `emergency_notice` settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClinicInfo {
    /// The clinic inbox account.
    pub account_id: String,
    /// Its name.
    pub display_name: String,
    /// When the clinic reads messages, as free text for patients, e.g.
    /// "Monday to Friday, 8 am to 5 pm"; `null` when the relay does not say.
    /// At most 200 characters, no line breaks.
    #[serde(default)]
    pub office_hours: Option<String>,
    /// How soon patients can expect a reply, as free text, e.g. "within one
    /// business day" (the relay's default). At most 200 characters, no line
    /// breaks. Always sent; empty only when parsed from a relay older than
    /// this field.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub reply_time: String,
    /// What to do in an emergency, shown before a patient's first message and
    /// when their draft may describe an emergency, e.g. "If this is an
    /// emergency, call 911. For a mental health crisis, call or text 988."
    /// (the relay's default). At most 300 characters, no line breaks. Always
    /// sent; empty only when parsed from a relay older than this field.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub emergency_notice: String,
    /// The largest attachment the relay accepts, in plaintext bytes (the
    /// relay's `max_attachment_bytes`, 100 MB by default): refuse a bigger
    /// file before encrypting it. Always sent; 0 only when parsed from a
    /// relay older than this field, which takes no attachments.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub max_attachment_bytes: u64,
    /// The media types patients may attach (the relay's
    /// `allowed_attachment_types`), e.g. `image/jpeg`, `application/pdf`.
    /// The relay cannot see a file's type (names and types travel inside the
    /// encryption), so clients enforce this list before encrypting. Always
    /// sent; empty only when parsed from a relay older than this field.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub allowed_attachment_types: Vec<String>,
}

/// `POST /v1/totp/enroll`: a new (unconfirmed) TOTP secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpEnrollment {
    /// The secret, base32, for typing into an authenticator app.
    pub secret_base32: String,
    /// `otpauth://totp/...`, for a QR code.
    pub otpauth_uri: String,
}

impl std::fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrollment(..)")
    }
}

/// `GET /v1/totp` (signed in, no step-up): whether the caller's
/// authenticator app is on, for Settings → Security. At most one of the two
/// is true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpStatus {
    /// A confirmed secret exists: the app's codes are the second factor of
    /// the fallback sign-in (a code to the contact on file, then TOTP).
    pub enabled: bool,
    /// A secret from `POST /v1/totp/enroll` awaits `POST /v1/totp/confirm`;
    /// until then it signs nobody in.
    pub pending: bool,
}

/// `POST /v1/totp/confirm`: a current code from the app turns TOTP on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// Six digits.
    pub code: String,
}

/// `POST /v1/auth/code/start`: the fallback sign-in's first factor. The
/// answer is the same whether or not the contact has an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CodeLoginStart {
    /// The e-mail address or phone number on file.
    pub contact: String,
}

/// The fallback sign-in in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CodeLoginStarted {
    /// Names it in the next step.
    pub login_id: String,
}

/// `POST /v1/auth/code/verify`: the code sent to the contact, and a TOTP
/// code from the authenticator app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CodeLoginVerify {
    /// From [`CodeLoginStarted`].
    pub login_id: String,
    /// The code that was sent.
    pub code: String,
    /// The authenticator app's current code.
    pub totp: String,
}

/// One signed-in device, for "Devices" in Settings → Security.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    /// Names it for remote sign-out.
    pub session_id: String,
    /// The browser's description of itself, shortened.
    pub user_agent: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds (to the minute).
    pub last_seen_at: u64,
    /// Whether this is the session asking.
    pub current: bool,
}

/// `GET /v1/sessions`: the caller's live sessions, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionList {
    /// Live sessions.
    pub sessions: Vec<SessionInfo>,
}

/// `POST /v1/caregivers/invites` (a patient): invite someone to help with
/// this patient's care. They enroll like a patient (invite, then a code to
/// their contact) and see only the threads the patient then grants them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CaregiverInviteRequest {
    /// The caregiver's name ("Dana").
    pub display_name: String,
    /// Where their one-time codes go.
    pub contact: String,
    /// How they are related to the patient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<crate::caregivers::Relationship>,
    /// The caregiver terms the patient was shown and agrees to by inviting
    /// (`GET /v1/caregivers/consent`).
    pub consent: crate::account::ConsentAccept,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clinic_info_has_a_stable_json_shape_and_reads_older_relays() {
        let info = ClinicInfo {
            account_id: "clinic_1".into(),
            display_name: "Riverside Clinic".into(),
            office_hours: Some("Monday to Friday, 8 am to 5 pm".into()),
            reply_time: "within one business day".into(),
            emergency_notice: "If this is an emergency, call 911.".into(),
            max_attachment_bytes: 100_000_000,
            allowed_attachment_types: vec!["image/jpeg".into(), "application/pdf".into()],
        };
        let json = serde_json::to_string(&info).unwrap();
        assert_eq!(
            json,
            r#"{"account_id":"clinic_1","display_name":"Riverside Clinic","office_hours":"Monday to Friday, 8 am to 5 pm","reply_time":"within one business day","emergency_notice":"If this is an emergency, call 911.","max_attachment_bytes":100000000,"allowed_attachment_types":["image/jpeg","application/pdf"]}"#
        );
        assert_eq!(serde_json::from_str::<ClinicInfo>(&json).unwrap(), info);

        let older: ClinicInfo =
            serde_json::from_str(r#"{"account_id":"clinic_1","display_name":"Riverside Clinic"}"#)
                .unwrap();
        assert_eq!(older.office_hours, None);
        assert_eq!(older.reply_time, "");
        assert_eq!(older.emergency_notice, "");
        assert_eq!(older.max_attachment_bytes, 0);
        assert!(older.allowed_attachment_types.is_empty());
    }
}
