//! The account's access log as this device reads it: every link checked
//! (crypto.md §9c) against the newest entry this device verified before,
//! each entry in plain words, and what deserves a banner on the next
//! visit (a sign-in from a new device, three or more failed sign-ins).
//! Pure: the page supplies names, subjects and the clock; host-tested.

use ward_proto::account::{
    AccountEvent, AccountEventKind, SignInDetail, SignInMethod, ThreadActivity,
};
use ward_seal::account_log::{self, LogEntry, LogError, LogHead};

use crate::i18n::{Plural, Text, count, fill, t};

/// How many failed sign-ins since the last visit make a banner.
pub const FAILED_SIGN_INS_BANNER: usize = 3;

/// What checking the log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Every link shown recomputed, and the log still holds what this
    /// device saw before. Pin `head`.
    Verified {
        /// The newest entry.
        head: LogHead,
        /// How many entries were checked.
        count: usize,
        /// Whether they reach back to the log's first entry.
        from_start: bool,
        /// Whether what this device saw before was among them, and so
        /// compared.
        pin_compared: bool,
    },
    /// Nothing in the log yet.
    Empty,
    /// The log is not what an honest relay serves.
    Broken(String),
}

impl Check {
    /// The sentence the Activity screen shows.
    pub fn words(&self) -> String {
        match self {
            Self::Verified {
                count: entries,
                from_start,
                pin_compared,
                ..
            } => {
                let reach = if *from_start {
                    t(Text::ActivityReachStart)
                } else {
                    t(Text::ActivityReachShown)
                };
                let seen = if *pin_compared {
                    t(Text::ActivitySeenCompared)
                } else {
                    t(Text::ActivitySeenOlder)
                };
                count(
                    Plural::ActivityCheckVerified,
                    *entries as u64,
                    &[("reach", reach), ("seen", seen)],
                )
            }
            Self::Empty => t(Text::ActivityEmpty).into(),
            Self::Broken(why) => fill(Text::ActivityBroken, &[("why", why)]),
        }
    }
}

fn entry(event: &AccountEvent) -> Result<LogEntry, LogError> {
    Ok(LogEntry {
        seq: event.seq,
        kind: event.kind.name().to_owned(),
        at_ms: event.at_ms,
        session_id: event.session_id.clone(),
        detail: event.detail.clone(),
        hash: event
            .hash
            .0
            .as_slice()
            .try_into()
            .map_err(|_| LogError::BrokenChain(event.seq))?,
    })
}

/// Checks `newest_first` (as the relay serves it) against `pinned`, the
/// head this device verified on an earlier visit.
pub fn check(newest_first: &[AccountEvent], pinned: Option<LogHead>) -> Check {
    let entries: Result<Vec<LogEntry>, LogError> = newest_first.iter().map(entry).collect();
    match entries.and_then(|entries| account_log::verify(&entries, pinned)) {
        Ok(Some(verified)) => Check::Verified {
            head: verified.head,
            count: newest_first.len(),
            from_start: verified.from_start,
            pin_compared: verified.pin_compared,
        },
        Ok(None) => Check::Empty,
        Err(error) => Check::Broken(log_error_words(&error)),
    }
}

/// Why the log does not check out, in the language shown.
fn log_error_words(error: &LogError) -> String {
    let (key, entry) = match error {
        LogError::Gap(entry) => (Text::ActivityLogGap, entry),
        LogError::BrokenChain(entry) => (Text::ActivityLogBrokenChain, entry),
        LogError::Rewritten(entry) => (Text::ActivityLogRewritten, entry),
    };
    fill(key, &[("entry", &entry.to_string())])
}

/// A pinned head as this device keeps it: `SEQ:HEX`.
pub fn head_text(head: &LogHead) -> String {
    let hex: String = head.hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}:{hex}", head.seq)
}

/// The head back from [`head_text`]; `None` if it is not one.
pub fn parse_head(text: &str) -> Option<LogHead> {
    let (seq, hex) = text.split_once(':')?;
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(LogHead {
        seq: seq.parse().ok()?,
        hash,
    })
}

/// An entry's JSON detail, read as a `serde_json::Value` (the client
/// already has that code; a derived reader per detail type would add more).
fn detail_json(event: &AccountEvent) -> Option<serde_json::Value> {
    serde_json::from_str(event.detail.as_deref()?).ok()
}

fn text(value: &serde_json::Value, name: &str) -> Option<String> {
    value.get(name)?.as_str().map(str::to_owned)
}

fn sign_in(event: &AccountEvent) -> Option<SignInDetail> {
    let value = detail_json(event)?;
    let method = match value.get("method")?.as_str()? {
        "passkey" => SignInMethod::Passkey,
        "code" => SignInMethod::Code,
        "invite" => SignInMethod::Invite,
        "account_key" => SignInMethod::AccountKey,
        "setup" => SignInMethod::Setup,
        _ => return None,
    };
    Some(SignInDetail {
        method,
        // The relay writes it in English: said again in the language shown.
        device: crate::i18n::device_name(&text(&value, "device")?),
        network: text(&value, "network")?,
        new_device: value.get("new_device").and_then(serde_json::Value::as_bool) == Some(true),
    })
}

fn activity(event: &AccountEvent) -> Option<ThreadActivity> {
    let value = detail_json(event)?;
    Some(ThreadActivity {
        by: text(&value, "by")?,
        thread_id: text(&value, "thread_id")?,
        seq: value.get("seq").and_then(serde_json::Value::as_u64),
    })
}

fn method_words(method: SignInMethod) -> &'static str {
    t(match method {
        SignInMethod::Passkey => Text::ActivityMethodPasskey,
        SignInMethod::Code => Text::ActivityMethodCode,
        SignInMethod::Invite => Text::ActivityMethodInvite,
        SignInMethod::AccountKey => Text::ActivityMethodAccountKey,
        SignInMethod::Setup => Text::ActivityMethodSetup,
    })
}

/// What the page knows to put names on an entry.
pub struct Names<'a> {
    /// A person's name by account id: a caregiver, the clinic.
    pub person: &'a dyn Fn(&str) -> Option<String>,
    /// Whether that account is one of the patient's caregivers.
    pub is_caregiver: &'a dyn Fn(&str) -> bool,
    /// A conversation's subject as this device shows it, by thread id.
    pub subject: &'a dyn Fn(&str) -> Option<String>,
    /// The device a session signed in on, by session id ([`devices`]).
    pub device: &'a dyn Fn(&str) -> Option<String>,
}

/// Each session's device, from the sign-ins in `events`.
pub fn devices(events: &[AccountEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e.kind == AccountEventKind::SignedIn)
        .filter_map(|e| Some((e.session_id.clone()?, sign_in(e)?.device)))
        .collect()
}

impl std::fmt::Debug for Names<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Names").finish_non_exhaustive()
    }
}

/// A conversation activity in words: "Dana Okafor (caregiver) read
/// “Prescription refill”".
fn activity_words(event: &AccountEvent, names: &Names<'_>) -> Option<String> {
    let activity = activity(event)?;
    let who = (names.person)(&activity.by).map_or_else(
        || t(Text::ActivitySomeone).to_owned(),
        |name| {
            if (names.is_caregiver)(&activity.by) {
                fill(Text::ActivityCaregiverNamed, &[("name", &name)])
            } else {
                name
            }
        },
    );
    let subject = (names.subject)(&activity.thread_id).map_or_else(
        || t(Text::ActivityAConversation).to_owned(),
        |subject| fill(Text::ActivitySubject, &[("subject", &subject)]),
    );
    let key = match event.kind {
        AccountEventKind::CaregiverRead => Text::ActivityCaregiverReadIn,
        AccountEventKind::CaregiverSent => Text::ActivityCaregiverSentIn,
        _ => Text::ActivityCaregiverDownloadedIn,
    };
    Some(fill(key, &[("who", &who), ("subject", &subject)]))
}

/// A sign-in, attempted or made, in words: "Signed in with a passkey on
/// Chrome on Android (network 203.0.113.0/24) · new device".
fn sign_in_words(lead: &str, event: &AccountEvent) -> String {
    match sign_in(event) {
        Some(detail) => {
            let line = fill(
                Text::ActivitySignInLine,
                &[
                    ("lead", lead),
                    ("method", method_words(detail.method)),
                    ("device", &detail.device),
                    ("network", &detail.network),
                ],
            );
            if detail.new_device {
                fill(Text::ActivityNewDevice, &[("line", &line)])
            } else {
                line
            }
        }
        // Written before sign-ins had details: the raw browser string.
        None => match event.detail.as_deref().filter(|d| !d.is_empty()) {
            Some(raw) => format!("{lead} ({raw})"),
            None => lead.to_owned(),
        },
    }
}

/// What a kind of change is called on screen, when it needs no detail.
pub fn kind_words(kind: AccountEventKind) -> &'static str {
    t(match kind {
        AccountEventKind::BundlePublished => Text::ActivityKindBundlePublished,
        AccountEventKind::BundleChanged => Text::ActivityKindBundleChanged,
        AccountEventKind::VaultChanged => Text::ActivityKindVaultChanged,
        AccountEventKind::PasskeyAdded => Text::ActivityKindPasskeyAdded,
        AccountEventKind::PasskeyRemoved => Text::ActivityKindPasskeyRemoved,
        AccountEventKind::TotpEnabled => Text::ActivityKindTotpEnabled,
        AccountEventKind::TotpDisabled => Text::ActivityKindTotpDisabled,
        AccountEventKind::SignedIn => Text::ActivityKindSignedIn,
        AccountEventKind::SessionRevoked => Text::ActivityKindSessionRevoked,
        AccountEventKind::CaregiverInvited => Text::ActivityKindCaregiverInvited,
        AccountEventKind::ThreadShared => Text::ActivityKindThreadShared,
        AccountEventKind::ThreadUnshared => Text::ActivityKindThreadUnshared,
        AccountEventKind::CaregiverChanged => Text::ActivityKindCaregiverChanged,
        AccountEventKind::CaregiverRemoved => Text::ActivityKindCaregiverRemoved,
        AccountEventKind::CaregiverLeft => Text::ActivityKindCaregiverLeft,
        AccountEventKind::CaregiverExpired => Text::ActivityKindCaregiverExpired,
        AccountEventKind::SignInFailed => Text::ActivityKindSignInFailed,
        AccountEventKind::SignedOut => Text::ActivityKindSignedOut,
        AccountEventKind::CaregiverAccepted => Text::ActivityKindCaregiverAccepted,
        AccountEventKind::CaregiverRead => Text::ActivityKindCaregiverRead,
        AccountEventKind::CaregiverSent => Text::ActivityKindCaregiverSent,
        AccountEventKind::AttachmentDownloaded => Text::ActivityKindAttachmentDownloaded,
        AccountEventKind::ConsentGiven => Text::ActivityKindConsentGiven,
        AccountEventKind::ConsentWithdrawn => Text::ActivityKindConsentWithdrawn,
        AccountEventKind::CaregiverAssented => Text::ActivityKindCaregiverAssented,
        AccountEventKind::RecoveryCodeUsed => Text::ActivityKindRecoveryCodeUsed,
    })
}

/// Whether an event's detail is a caregiver's account id (shown as their
/// name).
fn names_a_caregiver(kind: AccountEventKind) -> bool {
    matches!(
        kind,
        AccountEventKind::ThreadShared
            | AccountEventKind::ThreadUnshared
            | AccountEventKind::CaregiverChanged
            | AccountEventKind::CaregiverRemoved
            | AccountEventKind::CaregiverLeft
            | AccountEventKind::CaregiverExpired
            | AccountEventKind::CaregiverAccepted
            | AccountEventKind::CaregiverAssented
    )
}

/// A consent given or withdrawn: the messaging consent, or the caregiver
/// terms agreed to in inviting someone (named as invited) or in agreeing
/// to a guardian (named by their account).
fn consent_words(event: &AccountEvent, names: &Names<'_>) -> String {
    let detail = detail_json(event);
    let version = detail.as_ref().and_then(|v| text(v, "version"));
    let method = detail.as_ref().and_then(|v| text(v, "method"));
    let caregiver = detail.as_ref().and_then(|v| text(v, "caregiver"));
    let about = match (method.as_deref(), caregiver) {
        (Some("caregiver_invite"), Some(name)) => {
            Some(fill(Text::ActivityInviting, &[("name", &name)]))
        }
        (Some("caregiver_assent"), Some(id)) => {
            let name = (names.person)(&id).unwrap_or_else(|| t(Text::ActivityAGuardian).into());
            Some(fill(Text::ActivityAgreeingTo, &[("name", &name)]))
        }
        _ => None,
    };
    match (about, version) {
        (Some(about), Some(version)) => fill(
            Text::ActivityCaregiverTermsVersion,
            &[("version", &version), ("about", &about)],
        ),
        (Some(about), None) => fill(Text::ActivityCaregiverTerms, &[("about", &about)]),
        (None, Some(version)) => fill(
            Text::ActivityWithVersion,
            &[("what", kind_words(event.kind)), ("version", &version)],
        ),
        (None, None) => kind_words(event.kind).to_owned(),
    }
}

/// One entry in plain words, marked " · this device" when it is the
/// session reading it.
pub fn describe(event: &AccountEvent, current_session: Option<&str>, names: &Names<'_>) -> String {
    let mut line = match event.kind {
        AccountEventKind::SignedIn => sign_in_words(t(Text::ActivityKindSignedIn), event),
        AccountEventKind::SignInFailed => sign_in_words(t(Text::ActivityKindSignInFailed), event),
        AccountEventKind::ConsentGiven | AccountEventKind::ConsentWithdrawn => {
            consent_words(event, names)
        }
        // The detail is the session ended: named by its device when known.
        AccountEventKind::SessionRevoked => event
            .detail
            .as_deref()
            .and_then(|session| (names.device)(session))
            .map_or_else(
                || kind_words(event.kind).to_owned(),
                |device| fill(Text::ActivityDeviceSignedOut, &[("device", &device)]),
            ),
        AccountEventKind::CaregiverRead
        | AccountEventKind::CaregiverSent
        | AccountEventKind::AttachmentDownloaded => {
            activity_words(event, names).unwrap_or_else(|| kind_words(event.kind).to_owned())
        }
        kind => {
            let mut line = kind_words(kind).to_owned();
            if let Some(detail) = event.detail.as_deref().filter(|d| !d.is_empty()) {
                let shown = if names_a_caregiver(kind) {
                    (names.person)(detail).unwrap_or_else(|| t(Text::ActivityACaregiver).into())
                } else {
                    crate::i18n::log_detail(detail)
                };
                line.push_str(&format!(" ({shown})"));
            }
            line
        }
    };
    if current_session.is_some() && event.session_id.as_deref() == current_session {
        let mark = if event.kind == AccountEventKind::SessionRevoked {
            Text::ActivityByThisDevice
        } else {
            Text::ActivityThisDevice
        };
        line = fill(mark, &[("line", &line)]);
    }
    line
}

/// Something the patient should see at once on their next visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    /// A sign-in from a device this account never used before, in another
    /// session than this one.
    NewSignIn {
        /// Its session (to end it).
        session_id: String,
        /// "Chrome on Android".
        device: String,
        /// When (Unix seconds).
        at: u64,
    },
    /// Failed sign-ins since the last visit.
    FailedSignIns {
        /// How many.
        count: usize,
        /// When the last was (Unix seconds).
        last_at: u64,
    },
}

/// How far back (seconds) a banner reaches on a device that has not seen
/// the log before.
pub const ALERT_WINDOW_SECONDS: u64 = 14 * 24 * 3600;

/// What to warn about among the entries after `seen` (the newest seq the
/// patient was already warned about or saw; `None` on a device that never
/// looked), and none older than `not_before` (Unix seconds). A new-device
/// sign-in is an alert only while its session is `live` and is not this
/// one; with this session unknown, nothing is (it could be this one).
pub fn alerts(
    newest_first: &[AccountEvent],
    current_session: Option<&str>,
    live: &[String],
    seen: Option<u64>,
    not_before: u64,
) -> Vec<Alert> {
    let Some(current_session) = current_session else {
        return Vec::new();
    };
    let unseen = newest_first
        .iter()
        .filter(|e| seen.is_none_or(|seen| e.seq > seen) && e.at >= not_before);
    let mut alerts = Vec::new();
    let mut failed = Vec::new();
    for event in unseen {
        match event.kind {
            AccountEventKind::SignedIn if event.session_id.as_deref() != Some(current_session) => {
                if let (Some(detail), Some(session_id)) = (sign_in(event), &event.session_id)
                    && detail.new_device
                    && live.contains(session_id)
                {
                    alerts.push(Alert::NewSignIn {
                        session_id: session_id.clone(),
                        device: detail.device,
                        at: event.at,
                    });
                }
            }
            AccountEventKind::SignInFailed => failed.push(event.at),
            _ => {}
        }
    }
    if failed.len() >= FAILED_SIGN_INS_BANNER {
        alerts.push(Alert::FailedSignIns {
            count: failed.len(),
            last_at: failed.iter().copied().max().unwrap_or(0),
        });
    }
    alerts
}

/// What the home screen warns about: alerts still to answer, and whether
/// the log failed its check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings {
    /// Alerts not yet answered.
    pub alerts: Vec<Alert>,
    /// Why the log does not check out, if it does not.
    pub broken: Option<String>,
    /// The newest seq read: answered alerts are seen up to here.
    pub newest: Option<u64>,
}

/// The warnings for a log read on arrival: its check against `pinned`,
/// and, if it holds, the alerts since `seen` within the last
/// [`ALERT_WINDOW_SECONDS`] before `now` (Unix seconds).
pub fn warnings(
    newest_first: &[AccountEvent],
    current_session: Option<&str>,
    live: &[String],
    pinned: Option<LogHead>,
    seen: Option<u64>,
    now: u64,
) -> (Check, Warnings) {
    let check = check(newest_first, pinned);
    let newest = newest_first.first().map(|e| e.seq);
    let warnings = match &check {
        Check::Broken(_) => Warnings {
            alerts: Vec::new(),
            broken: Some(check.words()),
            newest,
        },
        _ => Warnings {
            alerts: alerts(
                newest_first,
                current_session,
                live,
                seen,
                now.saturating_sub(ALERT_WINDOW_SECONDS),
            ),
            broken: None,
            newest,
        },
    };
    (check, warnings)
}

impl Alert {
    /// What tells two alerts apart (a list key).
    pub fn key(&self) -> String {
        match self {
            Self::NewSignIn { session_id, .. } => session_id.clone(),
            Self::FailedSignIns { last_at, .. } => last_at.to_string(),
        }
    }

    /// The banner's sentence (`date` writes Unix seconds).
    pub fn words(&self, date: &dyn Fn(u64) -> String) -> String {
        match self {
            Self::NewSignIn { device, at, .. } => fill(
                Text::ActivityAlertNewSignIn,
                &[("device", device), ("date", &date(*at))],
            ),
            Self::FailedSignIns { count, last_at } => fill(
                Text::ActivityAlertFailedSignIns,
                &[("count", &count.to_string()), ("date", &date(*last_at))],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ward_proto::Bytes;
    use ward_seal::account_log::{GENESIS, entry_hash};

    /// A chained log of `(kind, session, detail)`, newest first.
    fn log(entries: &[(AccountEventKind, Option<&str>, Option<String>)]) -> Vec<AccountEvent> {
        let mut prev = GENESIS;
        let mut events = Vec::new();
        for (seq, (kind, session, detail)) in (0u64..).zip(entries) {
            let at_ms = 1_764_770_525_000 + 60_000 * i64::try_from(seq).unwrap_or(0);
            let hash = entry_hash(&prev, seq, kind.name(), at_ms, *session, detail.as_deref());
            events.push(AccountEvent {
                seq,
                kind: *kind,
                at: u64::try_from(at_ms / 1000).unwrap_or(0),
                at_ms,
                session_id: session.map(Into::into),
                detail: detail.clone(),
                hash: Bytes(hash.to_vec()),
            });
            prev = hash;
        }
        events.reverse();
        events
    }

    fn signed(method: SignInMethod, device: &str, new_device: bool) -> Option<String> {
        serde_json::to_string(&SignInDetail {
            method,
            device: device.into(),
            network: "203.0.113.0/24".into(),
            new_device,
        })
        .ok()
    }

    fn nobody() -> Names<'static> {
        Names {
            person: &|_| None,
            is_caregiver: &|_| false,
            subject: &|_| None,
            device: &|_| None,
        }
    }

    #[test]
    fn sign_ins_and_failures_read_as_words() {
        let events = log(&[
            (
                AccountEventKind::SignedIn,
                Some("s-1"),
                signed(SignInMethod::Passkey, "Chrome on Android", false),
            ),
            (
                AccountEventKind::SignInFailed,
                None,
                signed(SignInMethod::Code, "Safari on iPhone", false),
            ),
            (
                AccountEventKind::SignedIn,
                Some("s-2"),
                Some("Mozilla/5.0 old".into()),
            ),
        ]);
        assert_eq!(
            describe(&events[2], Some("s-1"), &nobody()),
            "Signed in with a passkey on Chrome on Android (network 203.0.113.0/24) · this device"
        );
        assert_eq!(
            describe(&events[1], Some("s-1"), &nobody()),
            "Failed sign-in with a code and the authenticator app on Safari on iPhone (network 203.0.113.0/24)"
        );
        assert_eq!(
            describe(&events[0], None, &nobody()),
            "Signed in (Mozilla/5.0 old)"
        );
        // Ending the phone's session names the phone, never the session id.
        let found = devices(&events);
        let named = Names {
            device: &|id| found.iter().find(|(s, _)| s == id).map(|(_, d)| d.clone()),
            ..nobody()
        };
        let revoked = log(&[(
            AccountEventKind::SessionRevoked,
            Some("s-2"),
            Some("s-1".into()),
        )]);
        assert_eq!(
            describe(&revoked[0], Some("s-2"), &named),
            "Chrome on Android was signed out · by this device"
        );
        let unknown = log(&[(AccountEventKind::SessionRevoked, None, Some("s-9".into()))]);
        assert_eq!(
            describe(&unknown[0], None, &named),
            "A device was signed out"
        );
    }

    #[test]
    fn consents_name_what_was_agreed_to_and_for_whom() {
        let detail = |method: &str, caregiver: Option<&str>| {
            serde_json::to_string(&ward_proto::account::ConsentDetail {
                version: "v2".into(),
                sha256: "ab".repeat(32),
                method: method.into(),
                caregiver: caregiver.map(str::to_owned),
            })
            .ok()
        };
        let events = log(&[
            (
                AccountEventKind::ConsentGiven,
                None,
                detail("enrollment", None),
            ),
            (
                AccountEventKind::ConsentGiven,
                None,
                detail("caregiver_invite", Some("Dana")),
            ),
            (
                AccountEventKind::ConsentGiven,
                None,
                detail("caregiver_assent", Some("acc_dana")),
            ),
        ]);
        let named = Names {
            person: &|id| (id == "acc_dana").then(|| "Dana Reyes".to_owned()),
            ..nobody()
        };
        assert_eq!(
            describe(&events[2], None, &named),
            "Agreed to messaging with the clinic (version v2)"
        );
        assert_eq!(
            describe(&events[1], None, &named),
            "Agreed to the caregiver terms (version v2), inviting Dana"
        );
        assert_eq!(
            describe(&events[0], None, &named),
            "Agreed to the caregiver terms (version v2), agreeing to Dana Reyes"
        );
    }

    #[test]
    fn a_caregivers_activity_names_them_and_the_conversation() {
        let detail = |seq| {
            serde_json::to_string(&ThreadActivity {
                by: "acc_dana".into(),
                thread_id: "thr_1".into(),
                seq,
            })
            .ok()
        };
        let events = log(&[
            (AccountEventKind::CaregiverRead, None, detail(Some(2))),
            (AccountEventKind::CaregiverSent, None, detail(Some(3))),
            (AccountEventKind::AttachmentDownloaded, None, detail(None)),
            (
                AccountEventKind::CaregiverRemoved,
                Some("s-1"),
                Some("acc_dana".into()),
            ),
        ]);
        let names = Names {
            person: &|id| (id == "acc_dana").then(|| "Dana Okafor".to_owned()),
            is_caregiver: &|id| id == "acc_dana",
            subject: &|id| (id == "thr_1").then(|| "Prescription refill".to_owned()),
            device: &|_| None,
        };
        let lines: Vec<String> = events
            .iter()
            .rev()
            .map(|e| describe(e, None, &names))
            .collect();
        assert_eq!(
            lines,
            [
                "Dana Okafor (caregiver) read “Prescription refill”",
                "Dana Okafor (caregiver) sent a message in “Prescription refill”",
                "Dana Okafor (caregiver) downloaded an attachment in “Prescription refill”",
                "A caregiver was removed (Dana Okafor)",
            ]
        );
        // Someone no longer known, in a conversation no longer shown.
        assert_eq!(
            describe(&events[3], None, &nobody()),
            "Someone read a conversation"
        );
    }

    #[test]
    fn the_check_passes_an_honest_log_and_catches_a_changed_or_cut_one() {
        let events = log(&[
            (AccountEventKind::SignedIn, Some("s-1"), None),
            (
                AccountEventKind::PasskeyAdded,
                Some("s-1"),
                Some("Phone".into()),
            ),
            (AccountEventKind::SignedOut, Some("s-1"), None),
        ]);
        let Check::Verified {
            head,
            count,
            from_start,
            pin_compared,
        } = check(&events, None)
        else {
            panic!("an honest log");
        };
        assert_eq!(
            (head.seq, count, from_start, pin_compared),
            (2, 3, true, true)
        );
        assert_eq!(parse_head(&head_text(&head)), Some(head));
        assert_eq!(parse_head("2:zz"), None);

        let mut changed = events.clone();
        changed[1].detail = Some("Laptop".into());
        assert!(matches!(check(&changed, None), Check::Broken(_)));
        // The relay serves the log without its newest entry: the pin catches it.
        assert!(matches!(check(&events[1..], Some(head)), Check::Broken(_)));
        assert!(
            check(&events[1..], Some(head))
                .words()
                .starts_with("Warning:")
        );
    }

    #[test]
    fn a_new_device_and_three_failures_since_the_last_visit_are_alerts() {
        let events = log(&[
            (
                AccountEventKind::SignedIn,
                Some("s-old"),
                signed(SignInMethod::Passkey, "Safari on iPhone", false),
            ),
            (
                AccountEventKind::SignInFailed,
                None,
                signed(SignInMethod::Code, "Chrome on Android", false),
            ),
            (
                AccountEventKind::SignInFailed,
                None,
                signed(SignInMethod::Code, "Chrome on Android", false),
            ),
            (
                AccountEventKind::SignInFailed,
                None,
                signed(SignInMethod::Code, "Chrome on Android", false),
            ),
            (
                AccountEventKind::SignedIn,
                Some("s-new"),
                signed(SignInMethod::Code, "Chrome on Android", true),
            ),
            (
                AccountEventKind::SignedIn,
                Some("s-me"),
                signed(SignInMethod::Passkey, "Firefox on Windows", true),
            ),
        ]);
        let live = vec!["s-new".to_owned(), "s-me".to_owned()];
        let found = alerts(&events, Some("s-me"), &live, Some(0), 0);
        assert_eq!(
            found,
            [
                Alert::NewSignIn {
                    session_id: "s-new".into(),
                    device: "Chrome on Android".into(),
                    at: 1_764_770_525 + 4 * 60,
                },
                Alert::FailedSignIns {
                    count: 3,
                    last_at: 1_764_770_525 + 3 * 60,
                },
            ]
        );
        assert_eq!(
            found[0].words(&|at| at.to_string()),
            format!(
                "New sign-in on Chrome on Android, {}. Not you? End that session.",
                1_764_770_525 + 4 * 60
            )
        );
        // Seen already: nothing. This device's own new sign-in: nothing.
        assert!(alerts(&events, Some("s-me"), &live, Some(5), 0).is_empty());
        assert!(alerts(&events[..1], Some("s-me"), &live, None, 0).is_empty());
        // A session already ended is no alert; with this session unknown,
        // nothing is (it might be this one).
        assert_eq!(alerts(&events, Some("s-me"), &[], Some(0), 0).len(), 1);
        assert!(alerts(&events, None, &live, Some(0), 0).is_empty());
        // Too long ago to be news.
        assert!(alerts(&events, Some("s-me"), &live, None, 1_800_000_000).is_empty());
        // Two failures are not yet a pattern.
        assert_eq!(
            alerts(&events[2..], Some("s-me"), &live, Some(1), 0).len(),
            0
        );
    }
}
