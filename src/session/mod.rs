//! The signed-in person: their session, their keys while unlocked, and the
//! phase the app is in. Screens read [`Session`] from context and call its
//! sign-in, enrollment, passkey and lock functions; it is the one owner of
//! key material and plaintext in the client: the account's keys here, the
//! thread keys and decrypted messages in its [`Inbox`]. Lock and sign-out
//! drop both at once, synchronously, and move the session to a new
//! generation, so async work begun before ([`Ticket`]) stores nothing.

pub mod access_log;
pub mod consent_ask;
pub(crate) mod idle;
pub(crate) mod log_pins;
mod marker;
pub(crate) mod vault;

use leptos::prelude::*;
use ward_seal::keys::AccountKeys;
use ward_seal::recovery::{RecoveryCode, RecoveryCodeError};
use ward_seal::vault::{Vault, VaultKey};

use crate::api::{self, ApiError, SessionToken};
use crate::auth::ceremony::{self, PrfSecret};
use crate::auth::webauthn::PasskeyError;
use crate::i18n::{Text, fill, t};
use crate::messaging::Inbox;
use crate::store::StoreError;
use crate::store::device;
use vault::{Opened, Pending, Signed};

/// The unlocked account. Dropping it zeroizes every secret it holds.
pub struct Account {
    /// The account.
    pub account_id: String,
    /// The session's bearer token (memory only).
    pub token: SessionToken,
    prf: Option<PrfSecret>,
    keys: AccountKeys,
    vault_key: VaultKey,
    vault: Vault,
    vault_version: u64,
}

impl Account {
    /// The account's keys (for sealing and opening messages).
    pub fn keys(&self) -> &AccountKeys {
        &self.keys
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

/// Why signing in or unlocking did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// The relay refused or could not be reached.
    Api(ApiError),
    /// The passkey ceremony failed.
    Passkey(PasskeyError),
    /// This device's storage failed.
    Store(StoreError),
    /// The vault does not parse or is not this account's.
    VaultDamaged,
    /// The relay served an older vault than this device has seen.
    VaultRolledBack,
    /// The published keys are not the vault's.
    KeysDiffer,
    /// The relay has no vault (or has keys but no vault) for an account this
    /// device knows has one.
    VaultMissing,
    /// Locked or signed out while this was in progress.
    Interrupted,
    /// Sealing or opening with the account's keys failed.
    Crypto,
    /// A thread member has no published keys yet.
    MemberKeysMissing,
    /// A member's keys changed and the patient has not confirmed them.
    KeyChanged,
    /// The fresh sign-in a change needs ran out while the change was under
    /// way (adding a passkey took more than a few minutes).
    StepUpExpired,
    /// The relay showed a key history that does not extend the one this
    /// device pinned (rewritten), or a broken one.
    KeyHistoryRewritten,
    /// Another member's message shows the relay gave them a different key
    /// history than this device saw.
    SplitView,
    /// The thread moved to a new epoch while a message waited.
    ThreadKeysChanged,
    /// Sharing a thread the patient marked "Only me".
    OnlyMeThread,
    /// The recovery code has a typo (the error says where).
    RecoveryCodeTypo(RecoveryCodeError),
    /// A well-formed recovery code that does not open the vault.
    RecoveryCodeWrong,
    /// The browser could not read the chosen file.
    FileUnreadable,
    /// The file chosen to finish an upload is not the one it started with.
    FileChanged,
    /// The file's bytes changed between hashing it (the hash the message
    /// was sealed with) and encrypting it.
    FileChangedWhileSending,
    /// The patient cancelled the upload.
    UploadCancelled,
    /// A downloaded attachment did not decrypt, or not to what was sent.
    AttachmentDamaged,
}

impl SessionError {
    /// What the patient reads, with what to do next.
    pub fn message(&self) -> String {
        match self {
            Self::Api(error) => error.message(),
            Self::Passkey(error) => error.message().into(),
            Self::Store(error) => error.message().into(),
            Self::VaultDamaged => t(Text::ErrVaultDamaged).into(),
            Self::VaultRolledBack => t(Text::ErrVaultRolledBack).into(),
            Self::VaultMissing => t(Text::ErrVaultMissing).into(),
            Self::Interrupted => t(Text::ErrInterrupted).into(),
            Self::Crypto => t(Text::ErrCrypto).into(),
            Self::ThreadKeysChanged => t(Text::ErrThreadKeysChanged).into(),
            Self::OnlyMeThread => t(Text::ErrOnlyMeThread).into(),
            Self::KeyChanged => t(Text::ErrKeyChanged).into(),
            Self::StepUpExpired => t(Text::ErrStepUpExpired).into(),
            Self::KeyHistoryRewritten => t(Text::ErrKeyHistoryRewritten).into(),
            Self::SplitView => t(Text::ErrSplitView).into(),
            Self::MemberKeysMissing => t(Text::ErrMemberKeysMissing).into(),
            Self::KeysDiffer => t(Text::ErrKeysDiffer).into(),
            Self::RecoveryCodeTypo(error) => recovery_code_typo(*error),
            Self::RecoveryCodeWrong => t(Text::ErrRecoveryCodeWrong).into(),
            Self::FileUnreadable => t(Text::ErrFileUnreadable).into(),
            Self::FileChanged => t(Text::ErrFileChanged).into(),
            Self::FileChangedWhileSending => t(Text::ErrFileChangedWhileSending).into(),
            Self::UploadCancelled => t(Text::ErrUploadCancelled).into(),
            Self::AttachmentDamaged => t(Text::ErrAttachmentDamaged).into(),
        }
    }
}

/// A recovery code refused before it was tried, in the language shown.
fn recovery_code_typo(error: RecoveryCodeError) -> String {
    match error {
        RecoveryCodeError::Typo => t(Text::ErrRecoveryCodeTypo).into(),
        RecoveryCodeError::InvalidCharacter(character) => fill(
            Text::ErrRecoveryCodeCharacter,
            &[("character", character.encode_utf8(&mut [0; 4]))],
        ),
        RecoveryCodeError::WrongLength(count) => fill(
            Text::ErrRecoveryCodeLength,
            &[("count", &count.to_string())],
        ),
    }
}

impl From<ApiError> for SessionError {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

impl From<PasskeyError> for SessionError {
    fn from(error: PasskeyError) -> Self {
        Self::Passkey(error)
    }
}

impl From<StoreError> for SessionError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// Where the app is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Nobody signed in: welcome, enroll, sign-in screens.
    SignedOut,
    /// Signed in on a device that cannot open the vault yet.
    NeedsRecoveryCode,
    /// A new recovery code to show and confirm before going on.
    ShowRecoveryCode,
    /// Keys in memory.
    Unlocked,
    /// Keys dropped after being idle; the screens stay as they were behind
    /// the lock, so a draft survives.
    Locked,
}

/// Why the app is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockReason {
    /// No use for the chosen idle time.
    Idle,
    /// The relay ended the session (signed out from another device, or it
    /// expired).
    SessionEnded,
    /// The patient chose "Lock now".
    Chosen,
}

/// The session's generation when a flow began. Every lock and sign-out
/// starts a new generation; async work that finishes in a later one throws
/// its results away ([`Session::check`]) instead of storing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

/// The app's session state, shared by context.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    /// Where the app is.
    pub phase: RwSignal<Phase>,
    /// Why it is locked, when it is.
    pub lock_reason: RwSignal<LockReason>,
    /// Whose screens are mounted (kept while locked).
    pub account_id: RwSignal<Option<String>>,
    /// The contact typed on the sign-in screens (cleared at sign-out).
    pub typed_contact: RwSignal<String>,
    /// A message for the signed-out screens (why a sign-in ended).
    pub notice: RwSignal<Option<String>>,
    /// Shown above a new recovery code when it replaces an unconfirmed one.
    pub replaced_unconfirmed: RwSignal<bool>,
    account: StoredValue<Option<Account>, LocalStorage>,
    pending: StoredValue<Option<Pending>, LocalStorage>,
    recovery_code: StoredValue<Option<RecoveryCode>, LocalStorage>,
    /// An enrollment verified by its code, waiting for its first passkey.
    enrolling: StoredValue<Option<Signed>, LocalStorage>,
    generation: StoredValue<u64>,
    inbox: Inbox,
}

impl Session {
    /// A signed-out session.
    pub fn new() -> Self {
        Self {
            phase: RwSignal::new(Phase::SignedOut),
            lock_reason: RwSignal::new(LockReason::Idle),
            account_id: RwSignal::new(None),
            typed_contact: RwSignal::new(String::new()),
            notice: RwSignal::new(None),
            replaced_unconfirmed: RwSignal::new(false),
            account: StoredValue::new_local(None),
            pending: StoredValue::new_local(None),
            recovery_code: StoredValue::new_local(None),
            enrolling: StoredValue::new_local(None),
            generation: StoredValue::new(0),
            inbox: Inbox::new(),
        }
    }

    /// The session in context.
    pub fn get() -> Self {
        expect_context::<Self>()
    }

    /// The conversations this session holds (thread keys, decrypted
    /// messages, drafts): owned here so lock and sign-out drop them.
    pub fn inbox(&self) -> Inbox {
        self.inbox
    }

    /// Taken when a flow starts; see [`Ticket`].
    pub fn ticket(&self) -> Ticket {
        Ticket(self.generation.get_value())
    }

    /// Whether no lock or sign-out happened since `ticket` was taken.
    pub fn is_current(&self, ticket: Ticket) -> bool {
        self.ticket() == ticket
    }

    /// `Err(Interrupted)` when a lock or sign-out happened since `ticket`
    /// was taken: call it after every await, before storing anything.
    pub fn check(&self, ticket: Ticket) -> Result<(), SessionError> {
        if self.is_current(ticket) {
            Ok(())
        } else {
            Err(SessionError::Interrupted)
        }
    }

    fn still(&self, ticket: Ticket) -> bool {
        self.is_current(ticket)
    }

    /// A new generation, and every key and decrypted message dropped, in
    /// one synchronous step (lock and sign-out).
    fn interrupt(&self) {
        self.generation.update_value(|e| *e = e.wrapping_add(1));
        self.inbox.clear();
    }

    /// Runs `f` on the unlocked account, if any.
    pub fn with_account<T>(&self, f: impl FnOnce(&Account) -> T) -> Option<T> {
        self.account.with_value(|account| account.as_ref().map(f))
    }

    /// The current bearer token, if unlocked.
    pub fn token(&self) -> Option<SessionToken> {
        self.with_account(|account| account.token.clone())
    }

    /// Acts on a finished sign-in begun under `ticket`: unlocked, waiting
    /// for the recovery code, or (no vault yet) creating the keys and
    /// showing a new code.
    async fn complete(&self, opened: Opened, ticket: Ticket) -> Result<(), SessionError> {
        if !self.still(ticket) {
            end_relay_session(opened.token()).await;
            return Err(SessionError::Interrupted);
        }
        match opened {
            Opened::Unlocked(account) => {
                let mut account = *account;
                let mut new_code = None;
                if marker::is_unconfirmed(&account.account_id) {
                    // The last code was never seen through: replace it.
                    if let Ok(code) = vault::regenerate_recovery_code(&mut account).await {
                        new_code = Some(code);
                        self.replaced_unconfirmed.set(true);
                    }
                }
                self.unlocked(account, new_code, ticket).await
            }
            Opened::NeedsRecoveryCode(pending) => {
                self.pending.set_value(Some(*pending));
                self.phase.set(Phase::NeedsRecoveryCode);
                Ok(())
            }
            Opened::NeedsSetup(signed) => {
                let token = signed.token.clone();
                match vault::create(*signed).await {
                    Ok((account, code)) => self.unlocked(account, Some(code), ticket).await,
                    Err(error) => {
                        end_relay_session(&token).await;
                        Err(error)
                    }
                }
            }
        }
    }

    /// Signs in with a passkey (discoverable; `signal` aborts a pending
    /// conditional request) and opens the vault.
    pub async fn sign_in_with_passkey(
        &self,
        conditional: bool,
        signal: Option<&web_sys::AbortSignal>,
    ) -> Result<(), SessionError> {
        let ticket = self.ticket();
        let started = api::sign_in::passkey_start(None).await?;
        let asserted = ceremony::get(&started.options, conditional, None, signal).await?;
        let created =
            api::sign_in::passkey_finish(started.ceremony_id, asserted.credential).await?;
        let opened = vault::open(created, asserted.prf).await?;
        self.complete(opened, ticket).await
    }

    /// Signs in with the emailed code and the authenticator app's code
    /// (`login_id` from the code sign-in's start) and opens the vault.
    pub async fn sign_in_with_codes(
        &self,
        login_id: &str,
        sent: &str,
        app: &str,
    ) -> Result<(), SessionError> {
        let ticket = self.ticket();
        let created = api::sign_in::code_verify(login_id, sent, app).await?;
        let opened = vault::open(created, None).await?;
        self.complete(opened, ticket).await
    }

    /// Enrollment: the one-time code checks out; the session it starts is
    /// kept here (never on a screen) until the first passkey is made.
    pub async fn verify_enrollment(
        &self,
        enrollment_id: &str,
        code: &str,
    ) -> Result<(), SessionError> {
        let created = api::sign_in::enroll_verify(enrollment_id, code).await?;
        self.enrolling.set_value(Some(Signed {
            account_id: created.account_id,
            token: SessionToken::new(created.token),
            prf: None,
        }));
        Ok(())
    }

    /// Enrollment: the clinic's consent text, read in the session the code
    /// opened (the same answer Settings reads, so the client has one reader).
    pub async fn consent_at_enrollment(
        &self,
    ) -> Result<ward_proto::account::ConsentText, SessionError> {
        let token = self
            .enrolling
            .with_value(|e| e.as_ref().map(|s| s.token.clone()))
            .ok_or(SessionError::Interrupted)?;
        Ok(crate::api::account::consent(&token).await?.current)
    }

    /// Enrollment: the new account agrees to the clinic's consent `text`,
    /// in the session its code opened, before its first passkey.
    pub async fn agree_at_enrollment(
        &self,
        text: &ward_proto::account::ConsentText,
    ) -> Result<(), SessionError> {
        let token = self
            .enrolling
            .with_value(|e| e.as_ref().map(|s| s.token.clone()))
            .ok_or(SessionError::Interrupted)?;
        crate::api::account::agree(&token, text).await?;
        Ok(())
    }

    /// Enrollment: registers the first passkey (named `label`) for the
    /// verified enrollment, then creates the keys and the vault.
    pub async fn create_first_passkey(&self, label: String) -> Result<(), FirstPasskeyError> {
        let ticket = self.ticket();
        let before = |error| FirstPasskeyError {
            error,
            passkey_created: false,
        };
        let (account_id, token) = self
            .enrolling
            .with_value(|e| e.as_ref().map(|s| (s.account_id.clone(), s.token.clone())))
            .ok_or_else(|| before(SessionError::Interrupted))?;
        let signed = register_first_passkey(account_id, token, label)
            .await
            .map_err(before)?;
        self.enrolling.set_value(None);
        self.complete(Opened::NeedsSetup(Box::new(signed)), ticket)
            .await
            .map_err(|error| FirstPasskeyError {
                error,
                passkey_created: true,
            })
    }

    /// Adds a passkey named `label` (after a fresh sign-in when the relay
    /// asks) and wraps the vault for it: its label as stored, and whether
    /// it unlocks the keys by itself.
    pub async fn add_passkey(&self, label: String) -> Result<(String, bool), SessionError> {
        let started = self
            .with_step_up(|t| async move { api::sign_in::register_start(&t).await })
            .await?;
        let created = ceremony::create(&started.options).await?;
        let token = self.token().ok_or(SessionError::Interrupted)?;
        let added =
            api::sign_in::register_finish(&token, started.ceremony_id, created.credential, label)
                .await
                .map_err(|error| {
                    // The ceremony is used up, so it cannot simply be
                    // retried after a fresh sign-in: say what to do.
                    if error.code() == Some(ward_proto::ErrorCode::StepUpRequired) {
                        SessionError::StepUpExpired
                    } else {
                        error.into()
                    }
                })?;
        let unlocks = self
            .wrap_new_passkey(created.prf, created.prf_enabled, created.credential_id)
            .await
            .unwrap_or(false);
        Ok((added.label, unlocks))
    }

    /// Tries the typed recovery code; on success the account opens. A wrong
    /// code changes nothing; a failure after the code was right ends this
    /// sign-in (the welcome screen says why).
    pub async fn enter_recovery_code(&self, typed: &str) -> Result<(), SessionError> {
        let ticket = self.ticket();
        let recovered = self
            .pending
            .with_value(|pending| pending.as_ref().map(|p| p.try_recovery_code(typed)))
            .ok_or(SessionError::Interrupted)??;
        let Some(pending) = self.pending.try_update_value(Option::take).flatten() else {
            return Err(SessionError::Interrupted);
        };
        match pending.open(recovered).await {
            Ok(account) => {
                let token = account.token.clone();
                let opened = self.unlocked(account, None, ticket).await;
                // In the access log, in the background (the account is open
                // already): the relay cannot know it otherwise.
                if opened.is_ok() {
                    leptos::task::spawn_local(async move {
                        let _ = api::account::recovery_code_used(&token).await;
                    });
                }
                opened
            }
            Err(error) => {
                self.notice.set(Some(fill(
                    Text::ErrSignInAgain,
                    &[("message", &error.message())],
                )));
                self.phase.set(Phase::SignedOut);
                Err(error)
            }
        }
    }

    /// The recovery code waiting to be shown, revealed for display.
    pub fn recovery_code_text(&self) -> Option<zeroize::Zeroizing<String>> {
        self.recovery_code
            .with_value(|code| code.as_ref().map(RecoveryCode::reveal))
    }

    /// The patient confirmed they saved the recovery code.
    pub fn recovery_code_saved(&self) {
        marker::clear();
        self.recovery_code.set_value(None);
        self.replaced_unconfirmed.set(false);
        self.phase.set(Phase::Unlocked);
    }

    async fn unlocked(
        &self,
        account: Account,
        new_code: Option<RecoveryCode>,
        ticket: Ticket,
    ) -> Result<(), SessionError> {
        if !self.still(ticket) {
            end_relay_session(&account.token).await;
            return Err(SessionError::Interrupted);
        }
        let same_person = self.account_id.get_untracked().as_deref() == Some(&account.account_id);
        if !same_person {
            // Another person's screens, drafts and chosen files must not
            // survive: remount from empty.
            self.inbox.clear();
            self.inbox.clear_drafts();
            self.phase.set(Phase::SignedOut);
            self.account_id.set(Some(account.account_id.clone()));
        }
        self.notice.set(None);
        self.account.set_value(Some(account));
        self.pending.set_value(None);
        match new_code {
            Some(code) => {
                self.recovery_code.set_value(Some(code));
                self.phase.set(Phase::ShowRecoveryCode);
            }
            None => self.phase.set(Phase::Unlocked),
        }
        Ok(())
    }

    /// The message for an error a screen got; when the relay says the
    /// session is gone, the app locks (keeping what was typed) so the
    /// patient can sign in again.
    pub fn explain<E: Clone + Into<SessionError>>(&self, error: &E) -> String {
        let error: SessionError = error.clone().into();
        if matches!(&error, SessionError::Api(api) if api.is_signed_out()) {
            self.lock_because(LockReason::SessionEnded);
        }
        error.message()
    }

    /// Drops the keys and ends the relay session; the screens stay mounted
    /// behind the lock screen.
    pub fn lock(&self) {
        self.lock_because(LockReason::Idle);
    }

    /// "Lock now": as [`Self::lock`], said as the patient's own choice.
    pub fn lock_now(&self) {
        self.lock_because(LockReason::Chosen);
    }

    fn lock_because(&self, reason: LockReason) {
        if !matches!(
            self.phase.get_untracked(),
            Phase::Unlocked | Phase::ShowRecoveryCode
        ) {
            return;
        }
        self.interrupt();
        self.lock_reason.set(reason);
        // An unconfirmed code shown on screen goes too; its marker makes the
        // next unlock replace it.
        self.recovery_code.set_value(None);
        let account = self.account.try_update_value(Option::take).flatten();
        self.phase.set(Phase::Locked);
        if let Some(account) = account {
            let token = account.token.clone();
            drop(account);
            leptos::task::spawn_local(async move {
                end_relay_session(&token).await;
            });
        }
    }

    /// Signs out: this device forgets the account (its vault wrap, its
    /// device key), the relay ends the session and clears the site's data
    /// (storage and the cookie), and every screen starts from empty.
    pub async fn sign_out(&self) {
        self.interrupt();
        // Drafts and chosen files survive a lock (memory only), never a
        // sign-out.
        self.inbox.clear_drafts();
        self.enrolling.set_value(None);
        let account = self.account.try_update_value(Option::take).flatten();
        let pending = self.pending.try_update_value(Option::take).flatten();
        self.recovery_code.set_value(None);
        let token = match (&account, &pending) {
            (Some(account), _) => Some(account.token.clone()),
            (None, Some(pending)) => Some(pending.token().clone()),
            (None, None) => None,
        };
        if let Some(mut account) = account {
            vault::forget_this_device(&mut account).await;
        }
        // Without a token in memory (locked), the cookie names the session.
        let ended = api::sign_in::logout(token.as_ref()).await;
        let _ = device::forget_all().await;
        marker::clear();
        self.typed_contact.set(String::new());
        self.replaced_unconfirmed.set(false);
        self.notice.set(match ended {
            Err(ApiError::Unreachable) => Some(t(Text::ErrSignedOutUnreachable).into()),
            _ => None,
        });
        self.account_id.set(None);
        self.phase.set(Phase::SignedOut);
    }

    /// Step-up: a fresh passkey sign-in for this account replaces the
    /// session (the relay asks for one before sensitive changes).
    pub async fn step_up(&self) -> Result<(), SessionError> {
        let ticket = self.ticket();
        let Some(account_id) = self.account_id.get_untracked() else {
            return Err(SessionError::Interrupted);
        };
        let (new_token, prf) = passkey_sign_in_as(&account_id, None).await?;
        if !self.still(ticket) {
            end_relay_session(&new_token).await;
            return Err(SessionError::Interrupted);
        }
        let old_token = self
            .account
            .try_update_value(|account| {
                account.as_mut().map(|account| {
                    if prf.is_some() {
                        account.prf = prf;
                    }
                    std::mem::replace(&mut account.token, new_token)
                })
            })
            .flatten();
        if let Some(old) = old_token {
            end_relay_session(&old).await;
        }
        Ok(())
    }

    /// Runs `op` with the token; on `step_up_required`, steps up once and
    /// runs it again.
    pub async fn with_step_up<T, F, Fut>(&self, op: F) -> Result<T, SessionError>
    where
        F: Fn(SessionToken) -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        let token = self.token().ok_or(SessionError::Interrupted)?;
        match op(token).await {
            Err(error) if error.code() == Some(ward_proto::ErrorCode::StepUpRequired) => {
                self.step_up().await?;
                let token = self.token().ok_or(SessionError::Interrupted)?;
                Ok(op(token).await?)
            }
            other => Ok(other?),
        }
    }

    /// After a passkey is added: wraps the vault for it too, so it unlocks
    /// without the recovery code. The PRF secret comes from creation, or,
    /// when the authenticator gives it only at sign-in, from one sign-in
    /// limited to the new passkey. `Ok(false)`: it has no PRF.
    async fn wrap_new_passkey(
        &self,
        created_prf: Option<PrfSecret>,
        prf_enabled: bool,
        credential_id: Vec<u8>,
    ) -> Result<bool, SessionError> {
        let ticket = self.ticket();
        let prf = match created_prf {
            Some(prf) => prf,
            None if prf_enabled => {
                let account_id = self
                    .account_id
                    .get_untracked()
                    .ok_or(SessionError::Interrupted)?;
                let (token, prf) = passkey_sign_in_as(&account_id, Some(&credential_id)).await?;
                // Only the secret was wanted, not another session.
                end_relay_session(&token).await;
                match prf {
                    Some(prf) => prf,
                    None => return Ok(false),
                }
            }
            None => return Ok(false),
        };
        if !self.still(ticket) {
            return Err(SessionError::Interrupted);
        }
        let (vault, expected) = self
            .account
            .with_value(|account| {
                account.as_ref().map(|account| {
                    let mut vault = account.vault.clone();
                    let unlock = ward_seal::vault::Unlock::Passkey {
                        credential_id: &prf.credential_id,
                        prf_output: &prf.output,
                    };
                    vault
                        .add_method(
                            &account.vault_key,
                            &unlock,
                            ward_seal::vault::RecoveryParams::default(),
                            &mut ward_seal::random::os_rng(),
                        )
                        .map(|()| (vault, account.vault_version))
                        .map_err(|_| SessionError::VaultDamaged)
                })
            })
            .ok_or(SessionError::Interrupted)??;
        let bytes = vault.to_bytes();
        let stored = self
            .with_step_up(|t| {
                let bytes = bytes.clone();
                async move { api::account::put_vault(&t, expected, bytes).await }
            })
            .await?;
        if !self.still(ticket) {
            return Err(SessionError::Interrupted);
        }
        self.account.update_value(|account| {
            if let Some(account) = account {
                account.vault = vault;
                account.vault_version = stored.version;
            }
        });
        Ok(true)
    }

    /// A new recovery code (after a fresh passkey check); shown next. The
    /// account stays in place while the new vault is stored, so a lock or
    /// sign-out meanwhile finds it.
    pub async fn regenerate_recovery_code(&self) -> Result<(), SessionError> {
        self.step_up().await?;
        let ticket = self.ticket();
        let account_id = self
            .account_id
            .get_untracked()
            .ok_or(SessionError::Interrupted)?;
        let this_device = device::load(&account_id).await.ok().flatten();
        let (new, expected) = self
            .account
            .with_value(|account| {
                account.as_ref().map(|account| {
                    vault::rekey_for_new_code(account, this_device.as_ref())
                        .map(|new| (new, account.vault_version))
                })
            })
            .ok_or(SessionError::Interrupted)??;
        marker::set_unconfirmed(&account_id);
        let bytes = new.vault.to_bytes();
        let put = self
            .with_step_up(|t| {
                let bytes = bytes.clone();
                async move { api::account::put_vault(&t, expected, bytes).await }
            })
            .await;
        let stored = match put {
            Ok(stored) => stored,
            Err(error) => {
                // A clear refusal changed nothing: the old code still works.
                // No answer at all may have stored it: the marker stays, and
                // the next unlock makes a code the patient does see.
                if error != SessionError::Api(ApiError::Unreachable) {
                    marker::clear();
                }
                return Err(error);
            }
        };
        if !self.still(ticket) {
            return Err(SessionError::Interrupted);
        }
        let _ = device::pin_generation(&account_id, new.vault.generation()).await;
        let vault::NewCode {
            code,
            vault,
            vault_key,
        } = new;
        self.account.update_value(|account| {
            if let Some(account) = account {
                account.vault = vault;
                account.vault_key = vault_key;
                account.vault_version = stored.version;
            }
        });
        self.recovery_code.set_value(Some(code));
        self.phase.set(Phase::ShowRecoveryCode);
        Ok(())
    }
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

/// Why an enrollment's first passkey did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstPasskeyError {
    /// What went wrong.
    pub error: SessionError,
    /// The passkey exists (the keys were not made): signing in with it
    /// finishes the setup.
    pub passkey_created: bool,
}

/// Registers an enrollment's first passkey; when the authenticator has PRF
/// but gave no secret at creation, signs in with it once to get the secret
/// (and ends the enrollment's session for the new one).
async fn register_first_passkey(
    account_id: String,
    token: SessionToken,
    label: String,
) -> Result<Signed, SessionError> {
    let started = api::sign_in::register_start(&token).await?;
    let created = ceremony::create(&started.options).await?;
    api::sign_in::register_finish(&token, started.ceremony_id, created.credential, label).await?;
    let mut signed = Signed {
        account_id,
        token,
        prf: created.prf,
    };
    if signed.prf.is_none() && created.prf_enabled {
        let (new_token, prf) = passkey_sign_in_as(&signed.account_id, None).await?;
        let old = std::mem::replace(&mut signed.token, new_token);
        end_relay_session(&old).await;
        signed.prf = prf;
    }
    Ok(signed)
}

/// A passkey sign-in limited to `account_id`'s passkeys (and, with `only`,
/// to that one credential): a new session and the passkey's PRF secret, if
/// it has one. A session for any other account is ended and refused.
async fn passkey_sign_in_as(
    account_id: &str,
    only: Option<&[u8]>,
) -> Result<(SessionToken, Option<PrfSecret>), SessionError> {
    let started = api::sign_in::passkey_start(Some(account_id)).await?;
    let asserted = ceremony::get(&started.options, false, only, None).await?;
    let created = api::sign_in::passkey_finish(started.ceremony_id, asserted.credential).await?;
    let token = SessionToken::new(created.token);
    if created.account_id != account_id {
        end_relay_session(&token).await;
        return Err(SessionError::Api(ApiError::UnexpectedBody));
    }
    Ok((token, asserted.prf))
}

/// Ends the relay session `token` belongs to without `Clear-Site-Data`
/// (the lock keeps this device's storage; sign-out is what clears it).
async fn end_relay_session(token: &SessionToken) {
    if let Ok(list) = api::account::sessions(token).await
        && let Some(current) = list.sessions.iter().find(|s| s.current)
    {
        let _ = api::account::revoke_session(token, &current.session_id).await;
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use futures::FutureExt as _;
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;
    use crate::messaging::Shown;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    fn decrypted(text: &str) -> Shown {
        Shown {
            seq: Some(1),
            message_id: "m-1".into(),
            sender_id: "acc-clinic".into(),
            sent_at_ms: 0,
            text: text.into(),
            quick_replies: Vec::new(),
            answers_offer: None,
            delivery: None,
            attachments: Vec::new(),
            upload: None,
        }
    }

    fn unlocked_with_plaintext() -> Session {
        let session = Session::new();
        session.phase.set(Phase::Unlocked);
        session.account_id.set(Some("acc-me".into()));
        let inbox = session.inbox();
        inbox.messages.update(|all| {
            all.insert("t-1".into(), vec![decrypted("my rash is worse")]);
        });
        inbox.drafts.update_value(|d| {
            d.insert("t-1".into(), "half a sentence".into());
        });
        session
    }

    #[wasm_bindgen_test]
    fn a_lock_drops_decrypted_messages_at_once_and_ends_the_generation() {
        let session = unlocked_with_plaintext();
        let before = session.ticket();
        assert!(session.is_current(before));
        session.lock();
        // Synchronously: no effect or task has run yet.
        assert!(session.inbox().messages.with_untracked(|m| m.is_empty()));
        assert!(!session.is_current(before));
        assert_eq!(session.check(before), Err(SessionError::Interrupted));
        // A draft lives in memory only: it waits behind the lock.
        assert_eq!(
            session.inbox().drafts.with_value(|d| d.get("t-1").cloned()),
            Some("half a sentence".into())
        );
        // Work begun after the lock belongs to the new generation.
        let after = session.ticket();
        assert_eq!(session.check(after), Ok(()));
    }

    #[wasm_bindgen_test]
    fn sign_out_drops_plaintext_and_drafts_before_its_first_await() {
        let session = unlocked_with_plaintext();
        let before = session.ticket();
        // Polled once: only what runs before the first await happens.
        let _ = session.sign_out().now_or_never();
        assert!(!session.is_current(before));
        assert!(session.inbox().messages.with_untracked(|m| m.is_empty()));
        assert!(session.inbox().drafts.with_value(|d| d.is_empty()));
    }
}

#[cfg(test)]
mod recovery_code_tests {
    use super::*;

    #[test]
    fn a_refused_recovery_code_reads_as_it_did() {
        let message = |error: RecoveryCodeError| SessionError::RecoveryCodeTypo(error).message();
        assert_eq!(
            message(RecoveryCodeError::WrongLength(31)),
            "A recovery code has 32 letters and digits; this one has 31. Check for a missing or extra group."
        );
        assert_eq!(
            message(RecoveryCodeError::InvalidCharacter('!')),
            "'!' is never part of a recovery code. Check that character."
        );
        assert_eq!(
            message(RecoveryCodeError::Typo),
            "This recovery code has a typo. Compare it with your saved copy, group by group."
        );
    }
}
