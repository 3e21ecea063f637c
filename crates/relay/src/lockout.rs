//! Guess and send budgets: the one mechanism that bounds how often anything
//! secret is compared and how often a code is sent.
//!
//! Every guess is counted BEFORE it is compared, in a single SQL statement
//! that adds one to the key's counter and returns the new count: a burst of
//! parallel requests gets at most the budget's evaluations per window,
//! never "check, compare, then record". A right guess gives its count back
//! ([`Counted::right`]), so the owner never pays for their own success.
//!
//! Keys name what is protected: an account (its authenticator app), an
//! address (for secrets that belong to no account yet: invite and setup
//! codes), a contact (codes sent to it), an inviting account. Failed guesses
//! against one account count only against that account; per-address limits
//! apply only where no account is involved, so an attacker who shares an
//! address (a proxy, a NAT) with someone cannot lock them out of their own
//! account. Keys are stored hashed: no address or contact in the table, and
//! every key has the same bounded length whatever the request sent.
//!
//! Single-use codes (an enrollment's, a code sign-in's) are counted the same
//! way on their own row (`attempts`, [`code_login`]), so they die after a
//! few guesses whatever the address.

use std::net::IpAddr;
use ward_proto::ErrorCode;

use axum::http::StatusCode;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::secrets::now_ms;
use crate::{AppState, store};

/// How a refusal reads to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// Too many wrong guesses: `locked_out`.
    Guesses,
    /// Too many codes to one contact: `too_many_codes`, pointing at the passkey.
    ContactCodes,
    /// Too many codes for one inviter's invites: `too_many_codes`.
    InviterCodes,
}

/// What a right guess does to the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnRight {
    /// Forget every counted guess (the owner proved themselves).
    Clear,
    /// Give back this guess only (others' failures still count).
    Refund,
}

/// A budget: at most `allowed` counted events per key in a fixed window.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    purpose: &'static str,
    allowed: i64,
    window_ms: i64,
    refusal: Refusal,
    on_right: OnRight,
}

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// Authenticator-app codes tried at the fallback sign-in, per account: 5 in
/// 15 minutes (one valid code in ~333 000 per try). A wrong guess only ever
/// holds up this account's fallback sign-in; its passkey still works.
pub const TOTP_SIGN_IN: Limit = Limit {
    purpose: "totp",
    allowed: 5,
    window_ms: 15 * MINUTE,
    refusal: Refusal::Guesses,
    on_right: OnRight::Clear,
};

/// Failed sign-ins written into one account's access log: past this many
/// an hour, more are refused as usual but not recorded, so nobody who
/// knows an account id can push the owner's real entries out of view.
pub const RECORDED_FAILURES: Limit = Limit {
    purpose: "failures-logged",
    allowed: 10,
    window_ms: HOUR,
    refusal: Refusal::Guesses,
    on_right: OnRight::Refund,
};

/// Codes tried while confirming a new authenticator app, per account.
pub const TOTP_CONFIRM: Limit = Limit {
    purpose: "totp-confirm",
    allowed: 5,
    window_ms: 15 * MINUTE,
    refusal: Refusal::Guesses,
    on_right: OnRight::Clear,
};

/// Invite codes tried, per client address: invites belong to no account
/// yet, so the address is all there is. 50-bit codes: 10 tries an hour is
/// nothing to an attacker, and plenty for a person mistyping.
pub const INVITE_GUESSES: Limit = Limit {
    purpose: "invite-addr",
    allowed: 10,
    window_ms: HOUR,
    refusal: Refusal::Guesses,
    on_right: OnRight::Refund,
};

/// Clinic setup codes tried, per client address.
pub const SETUP_GUESSES: Limit = Limit {
    purpose: "setup-addr",
    allowed: 10,
    window_ms: HOUR,
    refusal: Refusal::Guesses,
    on_right: OnRight::Refund,
};

/// Failed signatures (passkey, account key), per client address. Nothing
/// here can be guessed, so a valid signature is never refused: only junk
/// is slowed (see [`failed_signature`]).
pub const SIGNATURE_FAILURES: Limit = Limit {
    purpose: "signature-addr",
    allowed: 20,
    window_ms: 15 * MINUTE,
    refusal: Refusal::Guesses,
    on_right: OnRight::Refund,
};

/// One-time codes sent to one contact (sign-in and enrollment alike): 5 an
/// hour, counted whether or not the contact belongs to an account.
pub const CONTACT_CODES: Limit = Limit {
    purpose: "code-contact",
    allowed: 5,
    window_ms: HOUR,
    refusal: Refusal::ContactCodes,
    on_right: OnRight::Clear,
};

/// Enrollment codes sent for the caregiver invites of one patient: 10 a day.
pub const PATIENT_INVITER_CODES: Limit = Limit {
    purpose: "code-inviter",
    allowed: 10,
    window_ms: 24 * HOUR,
    refusal: Refusal::InviterCodes,
    on_right: OnRight::Refund,
};

/// Enrollment codes sent for the clinic's patient invites: 200 an hour (the
/// clinic is trusted; this only bounds a stolen clinic session).
pub const CLINIC_INVITER_CODES: Limit = Limit {
    purpose: "code-inviter",
    allowed: 200,
    window_ms: HOUR,
    refusal: Refusal::InviterCodes,
    on_right: OnRight::Refund,
};

/// The stored key: the purpose and a hash of the subject (bounded, and no
/// address or contact kept in the clear).
fn key(limit: &Limit, subject: &str) -> String {
    let digest = Sha256::digest(subject.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}:{hex}", limit.purpose)
}

/// The subject for a client address: an IPv6 client is counted by its /64
/// (one subscriber usually holds a whole /64).
pub fn address(addr: &str) -> String {
    match addr.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let segments = v6.segments();
            format!(
                "{:x}:{:x}:{:x}:{:x}::/64",
                segments[0], segments[1], segments[2], segments[3]
            )
        }
        Ok(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(|| addr.to_owned(), |v4| v4.to_string()),
        _ => addr.to_owned(),
    }
}

/// Guesses counted by [`count`]: tell it how the guess went.
#[must_use = "a right guess must be reported with `right`"]
#[derive(Debug)]
pub struct Counted {
    keys: Vec<(String, OnRight)>,
}

impl Counted {
    /// The guess was right: each counter forgets it (or everything).
    pub async fn right(self, state: &AppState) -> Result<(), ApiError> {
        for (key, on_right) in self.keys {
            match on_right {
                OnRight::Clear => store::guesses::clear(&state.db, &key).await?,
                OnRight::Refund => store::guesses::refund(&state.db, &key).await?,
            }
        }
        Ok(())
    }
}

/// Counts one event against each `(limit, subject)`, atomically, before the
/// caller compares anything: refuses (429 with Retry-After) if any budget
/// is spent. Counters before a refusing one keep this count.
pub async fn count(state: &AppState, limits: &[(Limit, &str)]) -> Result<Counted, ApiError> {
    let mut keys = Vec::with_capacity(limits.len());
    for (limit, subject) in limits {
        let key = key(limit, subject);
        let now = now_ms();
        // One statement: add one (or start a new window) and return the
        // count (`store::guesses::add`).
        let store::guesses::Count {
            count: counted,
            window_end,
        } = store::guesses::add(&state.db, &key, now, limit.window_ms).await?;
        if counted > limit.allowed {
            let seconds = u64::try_from((window_end - now) / 1000 + 1).unwrap_or(1);
            return Err(refusal(limit.refusal, seconds));
        }
        keys.push((key, limit.on_right));
    }
    Ok(Counted { keys })
}

/// Forgets `subject`'s counter for `limit` (a code was used: the sends to
/// that contact were wanted).
pub async fn clear(state: &AppState, limit: Limit, subject: &str) -> Result<(), ApiError> {
    Ok(store::guesses::clear(&state.db, &key(&limit, subject)).await?)
}

/// A signature (passkey, account key) failed from `addr`: counted against
/// [`SIGNATURE_FAILURES`]; the refusal to answer is `refused`, or 429 once
/// the address has failed too often. Signatures are verified before this
/// is counted, on purpose: none can be guessed, so there is nothing to bound
/// before comparing, and a valid one is never refused, whoever else shares
/// the address.
pub async fn failed_signature(state: &AppState, addr: &str, refused: ApiError) -> ApiError {
    match count(state, &[(SIGNATURE_FAILURES, &address(addr))]).await {
        Ok(_counted) => refused,
        Err(error) => error,
    }
}

fn refusal(refusal: Refusal, seconds: u64) -> ApiError {
    let minutes = seconds.div_ceil(60).max(1);
    let plural = if minutes == 1 { "" } else { "s" };
    match refusal {
        Refusal::Guesses => ApiError::locked_out(seconds),
        Refusal::ContactCodes => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyCodes,
            format!(
                "Too many codes were sent to this address. Wait {minutes} minute{plural} or sign in with your passkey."
            ),
        )
        .retry_after(seconds),
        Refusal::InviterCodes => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyCodes,
            format!(
                "Too many codes were sent for invites from this account. Wait {minutes} minute{plural}, then start again."
            ),
        )
        .retry_after(seconds),
    }
}

/// How a guess at a code sign-in's emailed code went.
#[derive(Debug)]
pub enum CodeGuess {
    /// The right code: the sign-in is used up now (one authenticator-app
    /// guess per emailed code), and belongs to this account (none for a
    /// contact without an account).
    Right(Option<String>),
    /// Wrong, expired, used, or out of guesses; the account the sign-in
    /// was for, when a wrong code was counted against one.
    Wrong(Option<String>),
}

/// Counts a guess at `login_id`'s emailed code on its own row, in the
/// statement that compares it: at most five guesses per code, and the right
/// one consumes the sign-in, so parallel requests with the right code get
/// exactly one authenticator-app guess between them.
pub async fn code_login(
    state: &AppState,
    login_id: &str,
    typed: &str,
) -> Result<CodeGuess, ApiError> {
    let guess = store::code_logins::guess(
        &state.db,
        login_id,
        &state.secret.code_hash(typed),
        now_ms(),
    )
    .await?;
    Ok(match guess {
        store::code_logins::Guess::Right(account) => CodeGuess::Right(account),
        store::code_logins::Guess::Wrong(account) => CodeGuess::Wrong(account),
        store::code_logins::Guess::Spent => CodeGuess::Wrong(None),
    })
}
