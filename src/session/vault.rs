//! Opening, creating and changing the account's vault: the only place the
//! client turns a sign-in into keys (crypto.md §8).
//!
//! Every vault read checks that it belongs to the signed-in account and
//! that its generation is not older than the newest this device has seen,
//! so a relay cannot swap in another account's vault or roll back a
//! revocation.

use ward_proto::auth::SessionCreated;
use ward_seal::keys::AccountKeys;
use ward_seal::random::os_rng;
use ward_seal::recovery::RecoveryCode;
use ward_seal::vault::{Method, RecoveryParams, Unlock, Vault, VaultKey};

use super::marker;
use super::{Account, SessionError};
use crate::api::{self, ApiError, SessionToken};
use crate::auth::ceremony::PrfSecret;
use crate::store::{DeviceUnlock, StoreError, device};

/// Device wraps kept before the oldest are pruned (the vault holds 32).
const MAX_DEVICE_WRAPS: usize = 24;

/// What a sign-in led to.
#[derive(Debug)]
pub(crate) enum Opened {
    /// The keys are in memory.
    Unlocked(Box<Account>),
    /// Signed in, but this device has nothing that opens the vault: ask for
    /// the recovery code once.
    NeedsRecoveryCode(Box<Pending>),
    /// Signed in, but the account has no vault yet (enrollment stopped
    /// before it was stored): create the keys now.
    NeedsSetup(Box<Signed>),
}

impl Opened {
    /// The relay session this sign-in started.
    pub(crate) fn token(&self) -> &SessionToken {
        match self {
            Self::Unlocked(account) => &account.token,
            Self::NeedsRecoveryCode(pending) => &pending.signed.token,
            Self::NeedsSetup(signed) => &signed.token,
        }
    }
}

/// A sign-in without keys yet.
#[derive(Debug)]
pub(crate) struct Signed {
    /// The account.
    pub account_id: String,
    /// The session.
    pub token: SessionToken,
    /// The passkey's vault secret, when it has PRF.
    pub prf: Option<PrfSecret>,
}

/// A sign-in whose vault waits for the recovery code.
#[derive(Debug)]
pub(crate) struct Pending {
    signed: Signed,
    vault: Vault,
    version: u64,
}

impl Pending {
    /// The relay session waiting for the code.
    pub(crate) fn token(&self) -> &SessionToken {
        &self.signed.token
    }
}

/// The signed-in account's vault, checked against the account and this
/// device's pin.
async fn fetch_vault(signed: &Signed) -> Result<Option<(Vault, u64)>, SessionError> {
    // Fail closed on a damaged pin: only a browser that keeps no storage
    // at all (so could never have pinned) counts as "no pin".
    let pinned = match device::pinned_generation(&signed.account_id).await {
        Ok(pinned) => pinned,
        Err(StoreError::Unavailable) => None,
        Err(error) => return Err(error.into()),
    };
    let Some(stored) = api::account::vault(&signed.token).await? else {
        // This device has seen a vault for the account: "there is none"
        // is a relay withholding it, not a new account.
        return match pinned {
            Some(_) => Err(SessionError::VaultMissing),
            None => Ok(None),
        };
    };
    let vault = checked_vault(&stored.vault.0, &signed.account_id, pinned)?;
    Ok(Some((vault, stored.version)))
}

/// Parses a vault the relay served and refuses one that is not this
/// account's, or older than the newest generation this device has seen.
pub(crate) fn checked_vault(
    bytes: &[u8],
    account_id: &str,
    pinned_generation: Option<u64>,
) -> Result<Vault, SessionError> {
    let vault = Vault::from_bytes(bytes).map_err(|_| SessionError::VaultDamaged)?;
    if vault.account_id() != account_id {
        return Err(SessionError::VaultDamaged);
    }
    if pinned_generation.is_some_and(|pinned| vault.generation() < pinned) {
        return Err(SessionError::VaultRolledBack);
    }
    Ok(vault)
}

/// Turns a new session into an unlocked account, or says what is missing.
/// When it fails, the new relay session is ended (nothing holds it).
pub(crate) async fn open(
    created: SessionCreated,
    prf: Option<PrfSecret>,
) -> Result<Opened, SessionError> {
    let signed = Signed {
        account_id: created.account_id,
        token: SessionToken::new(created.token),
        prf,
    };
    let token = signed.token.clone();
    let opened = open_signed(signed).await;
    if opened.is_err() {
        super::end_relay_session(&token).await;
    }
    opened
}

async fn open_signed(signed: Signed) -> Result<Opened, SessionError> {
    let Some((vault, version)) = fetch_vault(&signed).await? else {
        return Ok(Opened::NeedsSetup(Box::new(signed)));
    };
    if let Some(prf) = &signed.prf {
        let unlock = Unlock::Passkey {
            credential_id: &prf.credential_id,
            prf_output: &prf.output,
        };
        if let Ok((keys, vault_key)) = vault.unlock(&unlock) {
            return finish(signed, keys, vault_key, vault, version)
                .await
                .map(|a| Opened::Unlocked(Box::new(a)));
        }
    }
    if let Ok(Some(this_device)) = device::load(&signed.account_id).await {
        let unlock = Unlock::Device {
            device_id: &this_device.device_id,
            key: this_device.secret(),
        };
        if let Ok((keys, vault_key)) = vault.unlock(&unlock) {
            return finish(signed, keys, vault_key, vault, version)
                .await
                .map(|a| Opened::Unlocked(Box::new(a)));
        }
    }
    Ok(Opened::NeedsRecoveryCode(Box::new(Pending {
        signed,
        vault,
        version,
    })))
}

/// Keys opened by the recovery code, not yet turned into an account.
pub(crate) struct Recovered(AccountKeys, VaultKey);

impl std::fmt::Debug for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recovered(..)")
    }
}

impl Pending {
    /// Checks the typed recovery code (Argon2id: about a second on a phone).
    /// A wrong code leaves everything as it was, to try again.
    pub(crate) fn try_recovery_code(&self, typed: &str) -> Result<Recovered, SessionError> {
        let code = RecoveryCode::parse(typed).map_err(SessionError::RecoveryCodeTypo)?;
        let (keys, vault_key) = self
            .vault
            .unlock(&Unlock::RecoveryCode(&code))
            .map_err(|_| SessionError::RecoveryCodeWrong)?;
        Ok(Recovered(keys, vault_key))
    }

    /// The account, after [`Self::try_recovery_code`]; this device (its
    /// passkey's PRF, or a device key) is added to the vault so the code is
    /// not asked again here.
    pub(crate) async fn open(self, recovered: Recovered) -> Result<Account, SessionError> {
        let Recovered(keys, vault_key) = recovered;
        let mut account = finish(self.signed, keys, vault_key, self.vault, self.version).await?;
        // Best effort: the account is open either way; without this the
        // code is asked again next time on this device.
        let _ = remember_this_device(&mut account).await;
        Ok(account)
    }
}

/// Runs `op` with `token`; when the relay answers `step_up_required` (the
/// sign-in is more than five minutes old: setting up took a while, or the
/// recovery code took long to find), signs in again with one of
/// `account_id`'s passkeys, ends the old session, and runs it once more.
async fn with_fresh_sign_in<T, F, Fut>(
    account_id: &str,
    token: &mut SessionToken,
    prf: &mut Option<PrfSecret>,
    op: F,
) -> Result<T, SessionError>
where
    F: Fn(SessionToken) -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    match op(token.clone()).await {
        Err(error) if error.code() == Some(ward_proto::ErrorCode::StepUpRequired) => {
            let (fresh, fresh_prf) = super::passkey_sign_in_as(account_id, None).await?;
            let old = std::mem::replace(token, fresh);
            super::end_relay_session(&old).await;
            if prf.is_none() {
                *prf = fresh_prf;
            }
            Ok(op(token.clone()).await?)
        }
        other => Ok(other?),
    }
}

/// New keys and a new vault for an account that has none (enrollment).
/// Returns the recovery code to show once.
pub(crate) async fn create(mut signed: Signed) -> Result<(Account, RecoveryCode), SessionError> {
    // Published keys without a vault: new keys would orphan every message
    // sealed to the old ones. Stop instead.
    if api::account::own_bundle(&signed.token).await?.is_some() {
        return Err(SessionError::VaultMissing);
    }
    let mut rng = os_rng();
    let now = (js_sys::Date::now() / 1000.0) as u64;
    let keys = AccountKeys::generate(&signed.account_id, now, &mut rng)
        .map_err(|_| SessionError::VaultDamaged)?;
    let code = RecoveryCode::generate(&mut rng);
    let this_device = match &signed.prf {
        Some(_) => None,
        None => Some(device::create(&signed.account_id).await?),
    };
    let mut methods = vec![Unlock::RecoveryCode(&code)];
    if let Some(prf) = &signed.prf {
        methods.push(Unlock::Passkey {
            credential_id: &prf.credential_id,
            prf_output: &prf.output,
        });
    }
    if let Some(this_device) = &this_device {
        methods.push(Unlock::Device {
            device_id: &this_device.device_id,
            key: this_device.secret(),
        });
    }
    let (vault, vault_key) = Vault::create(&keys, &methods, RecoveryParams::default(), &mut rng)
        .map_err(|_| SessionError::VaultDamaged)?;
    drop(methods);
    // The vault first: a published bundle without a stored vault would be
    // keys nobody can ever open again. The code counts as unconfirmed until
    // the patient types it back; if they never see it, the next unlock
    // makes a new one.
    marker::set_unconfirmed(&signed.account_id);
    let bytes = vault.to_bytes();
    let stored = with_fresh_sign_in(
        &signed.account_id,
        &mut signed.token,
        &mut signed.prf,
        |t| {
            let bytes = bytes.clone();
            async move { api::account::put_vault(&t, 0, bytes).await }
        },
    )
    .await?;
    let account = finish(signed, keys, vault_key, vault, stored.version).await?;
    Ok((account, code))
}

/// The common end of every unlock: pin the generation, make sure the
/// published bundle is these keys.
async fn finish(
    mut signed: Signed,
    keys: AccountKeys,
    vault_key: VaultKey,
    vault: Vault,
    version: u64,
) -> Result<Account, SessionError> {
    let _ = device::pin_generation(&signed.account_id, vault.generation()).await;
    let mine = keys.bundle().to_bytes();
    match api::account::own_bundle(&signed.token).await? {
        None => {
            with_fresh_sign_in(
                &signed.account_id,
                &mut signed.token,
                &mut signed.prf,
                |t| {
                    let mine = mine.clone();
                    async move { api::account::publish_bundle(&t, mine).await }
                },
            )
            .await?
        }
        Some(published) if published.bundle.0 != mine => {
            return Err(SessionError::KeysDiffer);
        }
        Some(_) => {}
    }
    Ok(Account {
        account_id: signed.account_id,
        token: signed.token,
        prf: signed.prf,
        keys,
        vault_key,
        vault,
        vault_version: version,
    })
}

/// Adds this device's way in (the passkey's PRF, else a device key) to the
/// vault and stores it.
async fn remember_this_device(account: &mut Account) -> Result<(), SessionError> {
    let mut rng = os_rng();
    let mut vault = account.vault.clone();
    if let Some(prf) = &account.prf {
        let unlock = Unlock::Passkey {
            credential_id: &prf.credential_id,
            prf_output: &prf.output,
        };
        vault
            .add_method(
                &account.vault_key,
                &unlock,
                RecoveryParams::default(),
                &mut rng,
            )
            .map_err(|_| SessionError::VaultDamaged)?;
    } else {
        prune_devices(&mut vault);
        let this_device = device::create(&account.account_id).await?;
        let unlock = Unlock::Device {
            device_id: &this_device.device_id,
            key: this_device.secret(),
        };
        vault
            .add_method(
                &account.vault_key,
                &unlock,
                RecoveryParams::default(),
                &mut rng,
            )
            .map_err(|_| SessionError::VaultDamaged)?;
    }
    store(account, vault, true).await
}

/// Drops the oldest device wraps (devices signed out without cleaning up,
/// or whose browser data was cleared) so a new device always fits.
fn prune_devices(vault: &mut Vault) {
    let devices: Vec<Method> = vault
        .methods()
        .into_iter()
        .filter(|m| matches!(m, Method::Device { .. }))
        .collect();
    let excess = (devices.len() + 1).saturating_sub(MAX_DEVICE_WRAPS);
    for method in devices.iter().take(excess) {
        let _ = vault.remove_method(method);
    }
}

/// Writes a changed vault over the version this device last saw; with
/// `step_up`, a sign-in too old for the relay is renewed with a passkey.
async fn store(account: &mut Account, vault: Vault, step_up: bool) -> Result<(), SessionError> {
    let (bytes, expected) = (vault.to_bytes(), account.vault_version);
    let put = |t: SessionToken| {
        let bytes = bytes.clone();
        async move { api::account::put_vault(&t, expected, bytes).await }
    };
    let stored = if step_up {
        let Account {
            account_id,
            token,
            prf,
            ..
        } = account;
        with_fresh_sign_in(account_id, token, prf, put).await?
    } else {
        put(account.token.clone()).await?
    };
    let _ = device::pin_generation(&account.account_id, vault.generation()).await;
    account.vault = vault;
    account.vault_version = stored.version;
    Ok(())
}

/// A re-keyed vault with a new recovery code, ready to store.
pub(crate) struct NewCode {
    /// The code to show once.
    pub code: RecoveryCode,
    /// The vault to store.
    pub vault: Vault,
    /// Its key.
    pub vault_key: VaultKey,
}

impl std::fmt::Debug for NewCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewCode(..)")
    }
}

/// A new recovery code. The vault is re-keyed, so the old code opens only
/// old copies of the vault; this device stays able to unlock, other devices
/// ask for the new code once. Synchronous: the caller stores the result.
pub(crate) fn rekey_for_new_code(
    account: &Account,
    this_device: Option<&DeviceUnlock>,
) -> Result<NewCode, SessionError> {
    let mut rng = os_rng();
    let code = RecoveryCode::generate(&mut rng);
    let mut keep = vec![Unlock::RecoveryCode(&code)];
    if let Some(prf) = &account.prf {
        keep.push(Unlock::Passkey {
            credential_id: &prf.credential_id,
            prf_output: &prf.output,
        });
    }
    if let Some(this_device) = this_device {
        keep.push(Unlock::Device {
            device_id: &this_device.device_id,
            key: this_device.secret(),
        });
    }
    let (vault, vault_key) = account
        .vault
        .rekeyed(&account.keys, &keep, RecoveryParams::default(), &mut rng)
        .map_err(|_| SessionError::VaultDamaged)?;
    drop(keep);
    Ok(NewCode {
        code,
        vault,
        vault_key,
    })
}

/// [`rekey_for_new_code`] and store it, for an account this flow owns.
pub(crate) async fn regenerate_recovery_code(
    account: &mut Account,
) -> Result<RecoveryCode, SessionError> {
    let this_device = device::load(&account.account_id).await.ok().flatten();
    let new = rekey_for_new_code(account, this_device.as_ref())?;
    marker::set_unconfirmed(&account.account_id);
    store(account, new.vault, true).await?;
    account.vault_key = new.vault_key;
    Ok(new.code)
}

/// On sign-out: take this device's wrap out of the vault (its key is about
/// to be erased with the site's storage).
pub(crate) async fn forget_this_device(account: &mut Account) {
    let Ok(Some(this_device)) = device::load(&account.account_id).await else {
        return;
    };
    let mut vault = account.vault.clone();
    let method = Method::Device {
        device_id: this_device.device_id.clone(),
    };
    if vault.remove_method(&method).is_ok() {
        // No passkey prompt while signing out: the wrap is useless once
        // this device's key is erased below.
        let _ = store(account, vault, false).await;
    }
    let _ = device::forget(&account.account_id).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault_of(account_id: &str, generation: u64) -> Vault {
        let mut rng = os_rng();
        let keys = AccountKeys::generate(account_id, 1, &mut rng).unwrap();
        let code = RecoveryCode::generate(&mut rng);
        let cheap = RecoveryParams {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        };
        let (mut vault, _) =
            Vault::create(&keys, &[Unlock::RecoveryCode(&code)], cheap, &mut rng).unwrap();
        for _ in 0..generation {
            (vault, _) = vault
                .rekeyed(&keys, &[Unlock::RecoveryCode(&code)], cheap, &mut rng)
                .unwrap();
        }
        vault
    }

    #[test]
    fn a_vault_of_this_account_at_or_above_the_pin_is_accepted() {
        let vault = vault_of("acct-sam", 2);
        let bytes = vault.to_bytes();
        for pin in [None, Some(0), Some(2)] {
            let checked = checked_vault(&bytes, "acct-sam", pin).unwrap();
            assert_eq!(checked.generation(), 2);
        }
    }

    #[test]
    fn another_accounts_vault_is_refused() {
        let bytes = vault_of("acct-mallory", 0).to_bytes();
        assert_eq!(
            checked_vault(&bytes, "acct-sam", None).unwrap_err(),
            SessionError::VaultDamaged
        );
    }

    #[test]
    fn an_older_generation_than_this_device_saw_is_refused() {
        let bytes = vault_of("acct-sam", 1).to_bytes();
        assert_eq!(
            checked_vault(&bytes, "acct-sam", Some(2)).unwrap_err(),
            SessionError::VaultRolledBack
        );
    }

    #[test]
    fn bytes_that_are_not_a_vault_are_refused() {
        let mut bytes = vault_of("acct-sam", 0).to_bytes();
        bytes.truncate(bytes.len() / 2);
        assert_eq!(
            checked_vault(&bytes, "acct-sam", None).unwrap_err(),
            SessionError::VaultDamaged
        );
        assert_eq!(
            checked_vault(b"", "acct-sam", None).unwrap_err(),
            SessionError::VaultDamaged
        );
    }
}
