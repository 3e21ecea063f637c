//! The one error shape every failing API call answers with, and the one
//! list of its machine-readable codes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `{"error": {...}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// A machine-readable code and a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable, e.g. `body_too_large`, `not_found`, `locked_out`.
    pub code: ErrorCode,
    /// What happened and what to do, for a person.
    pub message: String,
    /// When retrying makes sense (lockouts, rate limits), in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

/// Every code the relay answers a failed request with, on the wire as its
/// `snake_case` name (`StepUpRequired` is `"step_up_required"`).
///
/// Codes are stable: a client may act on them (step up, refetch keys,
/// sign in again); the `message` beside them is for a person and may change.
/// A code this client does not know (from a newer relay) reads as
/// [`ErrorCode::Unknown`] instead of failing the whole answer, so the
/// relay's message still reaches the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // 400 Bad Request
    /// 400: the request body could not be read (the connection dropped
    /// while it arrived).
    BadBody,
    /// 400: a passkey ceremony expired, was used already, or belongs to
    /// another session.
    CeremonyExpired,
    /// 400: an emailed or enrollment one-time code is wrong or expired.
    CodeNotValid,
    /// 400: a message lists the same attachment twice.
    DuplicateAttachment,
    /// 400: a path segment, id, code, contact or query string is longer
    /// than the relay accepts (checked before the database is touched).
    InputTooLong,
    /// 400: a published key bundle does not parse, verify, or name the
    /// caller's account.
    InvalidBundle,
    /// 400: an invite's contact is neither an e-mail address nor a phone
    /// number.
    InvalidContact,
    /// 400: `GET /v1/threads` got a cursor this relay did not give out.
    InvalidCursor,
    /// 400: a display name is empty, too long, or has line breaks.
    InvalidDisplayName,
    /// 400: a message is not in the envelope format, is too large, or does
    /// not name this thread and the caller as its sender.
    InvalidEnvelope,
    /// 400: an upload part index is out of range, or the part is empty.
    InvalidPart,
    /// 400: a query string has parameters the route does not take, or
    /// values it cannot read.
    InvalidQuery,
    /// 400: a sealed thread key does not parse, or the set sealed for an
    /// epoch does not cover exactly the members it must.
    InvalidSealedKey,
    /// 400: more sealed keys in one request than the relay accepts.
    InvalidSealedKeys,
    /// 400: an upload's declared size and part count do not fit together.
    InvalidUpload,
    /// 400: a vault is empty or larger than the relay stores.
    InvalidVault,
    /// 400: a vault write's `expected_version` is out of range.
    InvalidVersion,
    /// 400: the request body is not valid JSON.
    MalformedJson,
    /// 400: the browser's passkey registration could not be verified.
    PasskeyNotRegistered,
    /// 400: upload parts add up to more, or fewer, bytes than declared.
    SizeMismatch,
    /// 400: a message carries more attachments than allowed.
    TooManyAttachments,
    /// 400: an authenticator-app code does not match or was used already.
    TotpNotValid,
    /// 400: a message's attachment is not a finished, unexpired upload of
    /// the sender's.
    UnknownAttachment,
    /// 400: an envelope's epoch has no key sealed to the sender.
    UnknownEpoch,
    /// 400: a push subscription's endpoint is not an absolute URL of at
    /// most 2048 bytes on one of the relay's push services, or its keys
    /// are not a P-256 point and a 16-byte secret (the message says which).
    InvalidPushSubscription,

    // 401 Unauthorized
    /// 401: no session, or it ended (expired, signed out, revoked).
    NotSignedIn,
    /// 401: the clinic agent's key sign-in failed (expired challenge or a
    /// signature that does not match).
    LoginFailed,
    /// 401: a passkey assertion did not sign anyone in.
    PasskeyFailed,

    // 403 Forbidden
    /// 403: signed in, but this is not for this account.
    Forbidden,
    /// 403: a cookie-only request that changes something came from
    /// another origin.
    CrossOriginRequest,
    /// 403: code sign-in for an account with no authenticator app.
    NoSecondFactor,
    /// 403: the WebSocket's `Origin` is not the relay's public origin.
    OriginNotAllowed,
    /// 403: the change needs a sign-in within the last 5 minutes; sign in
    /// again, then retry.
    StepUpRequired,
    /// 403: a caregiver whose access to this patient's messages ended
    /// (removed by the patient, left, or past the grant's end).
    AccessEnded,
    /// 403: a caregiver the patient lets read but not send.
    ReadOnlyCaregiver,
    /// 403: the patient keeps this thread to themselves ("Only me"): it
    /// is never shared with a caregiver.
    OnlyMeThread,
    /// 403: the account is not one of the caller's caregivers (or the
    /// caller is not one of its patients).
    NotYourCaregiver,
    /// 403: the patient withdrew their consent to messaging: nothing can
    /// be sent in their conversations until they give it again.
    ConsentWithdrawn,

    // 404 Not Found
    /// 404: no such invite code (mistyped, used, or expired).
    InviteNotValid,
    /// 404: the resource does not exist, or the caller may not know it
    /// does (a thread they are not in).
    NotFound,
    /// 404: no such API endpoint.
    NoSuchRoute,

    // 405, 408
    /// 405: the endpoint does not take that method.
    MethodNotAllowed,
    /// 408: the request body did not arrive in time; the connection closes.
    BodyTimeout,

    // 409 Conflict
    /// 409: the upload was finalized already and cannot change.
    AlreadyFinalized,
    /// 409: another member started that epoch first (compare-and-swap).
    EpochConflict,
    /// 409: an invite whose account already has a passkey or an
    /// authenticator app.
    InviteUsed,
    /// 409: removing the account's only passkey.
    LastPasskey,
    /// 409: the sender already sent a different message with this id.
    MessageIdReused,
    /// 409: the relay has no clinic set up yet.
    NoClinic,
    /// 409: confirming an authenticator app that was never set up.
    NoPendingTotp,
    /// 409: that passkey is registered already.
    PasskeyExists,
    /// 409: the thread's epoch or members changed; refetch, seal again
    /// and resend.
    StaleEpoch,
    /// 409: the consent text changed since it was shown: show the new one.
    ConsentChanged,
    /// 409: an authenticator app is set up already.
    TotpEnabled,
    /// 409: finalizing an upload with parts missing.
    UploadIncomplete,
    /// 409: the vault changed since `expected_version` (another device).
    VaultStale,
    /// 409: stopping sharing one thread with a caregiver who sees all the
    /// patient's threads: keep it "Only me" instead, or choose their
    /// threads one by one first.
    SeesAllThreads,
    /// 409: a test notification for a session that has no push
    /// subscription: turn notifications on first.
    NoPushSubscription,

    // 413, 415, 422
    /// 413: the request body is larger than the relay reads.
    BodyTooLarge,
    /// 413: an upload part is larger than the largest part.
    PartTooLarge,
    /// 413: an upload would exceed the attachment quota.
    QuotaExceeded,
    /// 413: an upload is larger than the largest attachment.
    TooLarge,
    /// 415: a JSON body sent without `Content-Type: application/json`.
    WrongContentType,
    /// 422: a JSON body with a missing, unknown or mistyped field.
    InvalidField,
    /// 422: the contact on file cannot receive codes (enrollment only).
    CannotSendCode,

    // 429 Too Many Requests (with `retry_after_seconds` and `Retry-After`)
    /// 429: too many wrong guesses or failed sign-ins; wait.
    LockedOut,
    /// 429: too many one-time codes sent to this contact (or for this
    /// inviter's invites).
    TooManyCodes,
    /// 429: too many caregiver invites waiting or made today.
    TooManyInvites,
    /// 429: too many threads started in the last 24 hours.
    TooManyThreads,
    /// 429: too many unfinished uploads.
    TooManyUploads,
    /// 429: a test notification was sent less than 10 seconds ago.
    TooManyTestPushes,

    // 5xx
    /// 500: something failed on the relay (logged there; nothing more is
    /// said).
    Internal,
    /// 503: a one-time code could not be sent just now.
    CodeNotSent,
    /// 503: the relay is serving as many connections as it can; retry
    /// after `retry_after_seconds` (the connection closes).
    OverCapacity,
    /// 503: the relay cannot reach its database for a moment (it is
    /// restarting); nothing was changed. Retry after `retry_after_seconds`.
    StorageUnavailable,
    /// 507: the relay's storage is full; nothing was changed, and nothing
    /// already stored was lost. Retry later.
    StorageFull,

    /// A code this client version does not know, from a newer relay. Never
    /// sent: the relay only sends the codes above (serializing this one
    /// fails, and the OpenAPI document leaves it out).
    #[serde(skip_serializing)]
    Unknown,
}

/// Read by name through [`ErrorCode::as_str`] (the one table of names),
/// rather than a derived reader: 5 KB less code in the web client. A name
/// this version does not know is [`ErrorCode::Unknown`].
impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Self::ALL
            .iter()
            .copied()
            .find(|code| code.as_str() == name)
            .unwrap_or(Self::Unknown))
    }
}

impl ErrorCode {
    /// Every code the relay sends, in declaration order ([`Self::Unknown`]
    /// is not one of them).
    pub const ALL: [Self; 76] = [
        Self::BadBody,
        Self::CeremonyExpired,
        Self::CodeNotValid,
        Self::DuplicateAttachment,
        Self::InputTooLong,
        Self::InvalidBundle,
        Self::InvalidContact,
        Self::InvalidCursor,
        Self::InvalidDisplayName,
        Self::InvalidEnvelope,
        Self::InvalidPart,
        Self::InvalidQuery,
        Self::InvalidSealedKey,
        Self::InvalidSealedKeys,
        Self::InvalidUpload,
        Self::InvalidVault,
        Self::InvalidVersion,
        Self::MalformedJson,
        Self::PasskeyNotRegistered,
        Self::SizeMismatch,
        Self::TooManyAttachments,
        Self::TotpNotValid,
        Self::UnknownAttachment,
        Self::UnknownEpoch,
        Self::InvalidPushSubscription,
        Self::NotSignedIn,
        Self::LoginFailed,
        Self::PasskeyFailed,
        Self::Forbidden,
        Self::CrossOriginRequest,
        Self::NoSecondFactor,
        Self::OriginNotAllowed,
        Self::StepUpRequired,
        Self::AccessEnded,
        Self::ReadOnlyCaregiver,
        Self::OnlyMeThread,
        Self::NotYourCaregiver,
        Self::ConsentWithdrawn,
        Self::InviteNotValid,
        Self::NotFound,
        Self::NoSuchRoute,
        Self::MethodNotAllowed,
        Self::BodyTimeout,
        Self::AlreadyFinalized,
        Self::EpochConflict,
        Self::InviteUsed,
        Self::LastPasskey,
        Self::MessageIdReused,
        Self::NoClinic,
        Self::NoPendingTotp,
        Self::PasskeyExists,
        Self::StaleEpoch,
        Self::ConsentChanged,
        Self::TotpEnabled,
        Self::UploadIncomplete,
        Self::VaultStale,
        Self::SeesAllThreads,
        Self::NoPushSubscription,
        Self::BodyTooLarge,
        Self::PartTooLarge,
        Self::QuotaExceeded,
        Self::TooLarge,
        Self::WrongContentType,
        Self::InvalidField,
        Self::CannotSendCode,
        Self::LockedOut,
        Self::TooManyCodes,
        Self::TooManyInvites,
        Self::TooManyThreads,
        Self::TooManyUploads,
        Self::TooManyTestPushes,
        Self::Internal,
        Self::CodeNotSent,
        Self::OverCapacity,
        Self::StorageUnavailable,
        Self::StorageFull,
    ];

    /// The wire name, exactly as serde writes it (`"unknown"` for
    /// [`Self::Unknown`], which is never sent).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BadBody => "bad_body",
            Self::CeremonyExpired => "ceremony_expired",
            Self::CodeNotValid => "code_not_valid",
            Self::DuplicateAttachment => "duplicate_attachment",
            Self::InputTooLong => "input_too_long",
            Self::InvalidBundle => "invalid_bundle",
            Self::InvalidContact => "invalid_contact",
            Self::InvalidCursor => "invalid_cursor",
            Self::InvalidDisplayName => "invalid_display_name",
            Self::InvalidEnvelope => "invalid_envelope",
            Self::InvalidPart => "invalid_part",
            Self::InvalidQuery => "invalid_query",
            Self::InvalidSealedKey => "invalid_sealed_key",
            Self::InvalidSealedKeys => "invalid_sealed_keys",
            Self::InvalidUpload => "invalid_upload",
            Self::InvalidVault => "invalid_vault",
            Self::InvalidVersion => "invalid_version",
            Self::MalformedJson => "malformed_json",
            Self::PasskeyNotRegistered => "passkey_not_registered",
            Self::SizeMismatch => "size_mismatch",
            Self::TooManyAttachments => "too_many_attachments",
            Self::TotpNotValid => "totp_not_valid",
            Self::UnknownAttachment => "unknown_attachment",
            Self::UnknownEpoch => "unknown_epoch",
            Self::InvalidPushSubscription => "invalid_push_subscription",
            Self::NotSignedIn => "not_signed_in",
            Self::LoginFailed => "login_failed",
            Self::PasskeyFailed => "passkey_failed",
            Self::Forbidden => "forbidden",
            Self::CrossOriginRequest => "cross_origin_request",
            Self::NoSecondFactor => "no_second_factor",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::StepUpRequired => "step_up_required",
            Self::AccessEnded => "access_ended",
            Self::ReadOnlyCaregiver => "read_only_caregiver",
            Self::OnlyMeThread => "only_me_thread",
            Self::NotYourCaregiver => "not_your_caregiver",
            Self::ConsentWithdrawn => "consent_withdrawn",
            Self::InviteNotValid => "invite_not_valid",
            Self::NotFound => "not_found",
            Self::NoSuchRoute => "no_such_route",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::BodyTimeout => "body_timeout",
            Self::AlreadyFinalized => "already_finalized",
            Self::EpochConflict => "epoch_conflict",
            Self::InviteUsed => "invite_used",
            Self::LastPasskey => "last_passkey",
            Self::MessageIdReused => "message_id_reused",
            Self::NoClinic => "no_clinic",
            Self::NoPendingTotp => "no_pending_totp",
            Self::PasskeyExists => "passkey_exists",
            Self::StaleEpoch => "stale_epoch",
            Self::ConsentChanged => "consent_changed",
            Self::TotpEnabled => "totp_enabled",
            Self::UploadIncomplete => "upload_incomplete",
            Self::VaultStale => "vault_stale",
            Self::SeesAllThreads => "sees_all_threads",
            Self::NoPushSubscription => "no_push_subscription",
            Self::BodyTooLarge => "body_too_large",
            Self::PartTooLarge => "part_too_large",
            Self::QuotaExceeded => "quota_exceeded",
            Self::TooLarge => "too_large",
            Self::WrongContentType => "wrong_content_type",
            Self::InvalidField => "invalid_field",
            Self::CannotSendCode => "cannot_send_code",
            Self::LockedOut => "locked_out",
            Self::TooManyCodes => "too_many_codes",
            Self::TooManyInvites => "too_many_invites",
            Self::TooManyThreads => "too_many_threads",
            Self::TooManyUploads => "too_many_uploads",
            Self::TooManyTestPushes => "too_many_test_pushes",
            Self::Internal => "internal",
            Self::CodeNotSent => "code_not_sent",
            Self::OverCapacity => "over_capacity",
            Self::StorageUnavailable => "storage_unavailable",
            Self::StorageFull => "storage_full",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire names, written out: changing one breaks every client and
    /// the e2e tests that read it, so it must fail here first.
    const WIRE: [&str; 76] = [
        "bad_body",
        "ceremony_expired",
        "code_not_valid",
        "duplicate_attachment",
        "input_too_long",
        "invalid_bundle",
        "invalid_contact",
        "invalid_cursor",
        "invalid_display_name",
        "invalid_envelope",
        "invalid_part",
        "invalid_query",
        "invalid_sealed_key",
        "invalid_sealed_keys",
        "invalid_upload",
        "invalid_vault",
        "invalid_version",
        "malformed_json",
        "passkey_not_registered",
        "size_mismatch",
        "too_many_attachments",
        "totp_not_valid",
        "unknown_attachment",
        "unknown_epoch",
        "invalid_push_subscription",
        "not_signed_in",
        "login_failed",
        "passkey_failed",
        "forbidden",
        "cross_origin_request",
        "no_second_factor",
        "origin_not_allowed",
        "step_up_required",
        "access_ended",
        "read_only_caregiver",
        "only_me_thread",
        "not_your_caregiver",
        "consent_withdrawn",
        "invite_not_valid",
        "not_found",
        "no_such_route",
        "method_not_allowed",
        "body_timeout",
        "already_finalized",
        "epoch_conflict",
        "invite_used",
        "last_passkey",
        "message_id_reused",
        "no_clinic",
        "no_pending_totp",
        "passkey_exists",
        "stale_epoch",
        "consent_changed",
        "totp_enabled",
        "upload_incomplete",
        "vault_stale",
        "sees_all_threads",
        "no_push_subscription",
        "body_too_large",
        "part_too_large",
        "quota_exceeded",
        "too_large",
        "wrong_content_type",
        "invalid_field",
        "cannot_send_code",
        "locked_out",
        "too_many_codes",
        "too_many_invites",
        "too_many_threads",
        "too_many_uploads",
        "too_many_test_pushes",
        "internal",
        "code_not_sent",
        "over_capacity",
        "storage_unavailable",
        "storage_full",
    ];

    /// The position of each variant in [`ErrorCode::ALL`]. The match is
    /// exhaustive, so a new variant does not compile until it is given a
    /// place here, and then the test below fails until `ALL` (and `WIRE`)
    /// list it there.
    fn position(code: ErrorCode) -> usize {
        use ErrorCode::*;
        match code {
            BadBody => 0,
            CeremonyExpired => 1,
            CodeNotValid => 2,
            DuplicateAttachment => 3,
            InputTooLong => 4,
            InvalidBundle => 5,
            InvalidContact => 6,
            InvalidCursor => 7,
            InvalidDisplayName => 8,
            InvalidEnvelope => 9,
            InvalidPart => 10,
            InvalidQuery => 11,
            InvalidSealedKey => 12,
            InvalidSealedKeys => 13,
            InvalidUpload => 14,
            InvalidVault => 15,
            InvalidVersion => 16,
            MalformedJson => 17,
            PasskeyNotRegistered => 18,
            SizeMismatch => 19,
            TooManyAttachments => 20,
            TotpNotValid => 21,
            UnknownAttachment => 22,
            UnknownEpoch => 23,
            InvalidPushSubscription => 24,
            NotSignedIn => 25,
            LoginFailed => 26,
            PasskeyFailed => 27,
            Forbidden => 28,
            CrossOriginRequest => 29,
            NoSecondFactor => 30,
            OriginNotAllowed => 31,
            StepUpRequired => 32,
            AccessEnded => 33,
            ReadOnlyCaregiver => 34,
            OnlyMeThread => 35,
            NotYourCaregiver => 36,
            ConsentWithdrawn => 37,
            InviteNotValid => 38,
            NotFound => 39,
            NoSuchRoute => 40,
            MethodNotAllowed => 41,
            BodyTimeout => 42,
            AlreadyFinalized => 43,
            EpochConflict => 44,
            InviteUsed => 45,
            LastPasskey => 46,
            MessageIdReused => 47,
            NoClinic => 48,
            NoPendingTotp => 49,
            PasskeyExists => 50,
            StaleEpoch => 51,
            ConsentChanged => 52,
            TotpEnabled => 53,
            UploadIncomplete => 54,
            VaultStale => 55,
            SeesAllThreads => 56,
            NoPushSubscription => 57,
            BodyTooLarge => 58,
            PartTooLarge => 59,
            QuotaExceeded => 60,
            TooLarge => 61,
            WrongContentType => 62,
            InvalidField => 63,
            CannotSendCode => 64,
            LockedOut => 65,
            TooManyCodes => 66,
            TooManyInvites => 67,
            TooManyThreads => 68,
            TooManyUploads => 69,
            TooManyTestPushes => 70,
            Internal => 71,
            CodeNotSent => 72,
            OverCapacity => 73,
            StorageUnavailable => 74,
            StorageFull => 75,
            Unknown => 76,
        }
    }

    #[test]
    fn all_lists_every_variant_once_in_order() {
        for (index, code) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(position(*code), index, "{code:?}");
        }
        // The one variant not sent comes last, so `ALL` cannot be short.
        assert_eq!(position(ErrorCode::Unknown), ErrorCode::ALL.len());
    }

    #[test]
    fn every_sent_code_round_trips_with_its_wire_name() {
        for (code, wire) in ErrorCode::ALL.iter().zip(WIRE) {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{wire}\""));
            assert_eq!(code.as_str(), wire);
            assert_eq!(code.to_string(), wire);
            let back: ErrorCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, *code);
            assert_ne!(back, ErrorCode::Unknown);
        }
    }

    #[test]
    fn a_code_from_a_newer_relay_reads_as_unknown() {
        let body: ErrorBody = serde_json::from_str(
            r#"{"error":{"code":"some_new_code","message":"Try later.","retry_after_seconds":3}}"#,
        )
        .unwrap();
        assert_eq!(body.error.code, ErrorCode::Unknown);
        assert_eq!(body.error.message, "Try later.");
        assert_eq!(body.error.retry_after_seconds, Some(3));
        // The relay cannot send it: serializing refuses.
        assert!(serde_json::to_string(&ErrorCode::Unknown).is_err());
    }

    #[test]
    fn the_error_body_is_byte_identical_to_the_string_form() {
        let body = ErrorBody {
            error: ErrorDetail {
                code: ErrorCode::LockedOut,
                message: "Wait.".into(),
                retry_after_seconds: Some(60),
            },
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"error":{"code":"locked_out","message":"Wait.","retry_after_seconds":60}}"#
        );
    }
}
