//! The device-bound vault unlock, and the highest vault generation seen.
//!
//! A passkey without the PRF extension cannot unlock the vault, so the
//! patient unlocks it once with the recovery code and the client adds a
//! device unlock (`ward_seal::vault::Unlock::Device`) for next time. That
//! unlock needs 32 secret bytes that stay on this device and nowhere else.
//!
//! How they are kept: a fresh AES-GCM-256 WebCrypto key generated with
//! `extractable = false` encrypts the 32 bytes, and IndexedDB keeps the
//! `CryptoKey` object itself (structured clone keeps it non-extractable)
//! beside the ciphertext. The raw secret is never stored. So:
//!
//! - script running on a later page (an injected script, a compromised
//!   dependency) can *use* the key to decrypt while it runs here, but cannot
//!   export it: the browser holds the key material and refuses `exportKey`;
//! - the stored record alone is useless off the device: a copy of the
//!   profile's files, a backup or a synced disk holds a ciphertext whose key
//!   the browser keeps in its own form, not as bytes a copy can use
//!   elsewhere.
//!
//! This is the strength of a device unlock, not more: whoever runs script in
//! this origin on this device can unlock the vault, as the patient can. The
//! patient (or a caregiver helping them) revokes a lost device's unlock in
//! the vault; [`forget`] only clears this browser's copy.
//!
//! The record, in store [`DEVICES`] keyed by account id:
//! `{ version: 1, account_id, device_id, key: CryptoKey, iv: Uint8Array(12),
//! ciphertext: Uint8Array(48) }`. The AES-GCM additional data binds the
//! ciphertext to its account and device id, so a record moved to another
//! account's key does not decrypt.
//!
//! Store [`PINS`] keeps, per account id, the highest vault generation this
//! device has opened (a `BigInt`): a relay that serves an older vault is
//! caught ([`pin_generation`] never lowers it). Nothing in it is secret, and
//! [`forget`] / [`forget_all`] leave it in place on purpose: forgetting an
//! unlock should not also forget what protects against rollback.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idb::{TransactionMode, TransactionResult};
use js_sys::{Array, BigInt, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesGcmParams, AesKeyGenParams, Crypto, CryptoKey};
use zeroize::Zeroizing;

use super::{StoreError, crypto, open};

/// The object store of device unlock records, keyed by account id.
pub const DEVICES: &str = "devices";
/// The object store of pinned vault generations, keyed by account id.
pub const PINS: &str = "pins";

/// The record layout written by this code.
const RECORD_VERSION: u32 = 1;
const IV_LEN: usize = 12;
/// Domain separation for the AES-GCM additional data.
const AAD_LABEL: &[u8] = b"ward device unlock v1";

/// This device's unlock for one account: a device id (the label the vault
/// records) and 32 secret bytes, wiped from memory on drop.
pub struct DeviceUnlock {
    /// `device-` and 22 base64url characters (16 random bytes).
    pub device_id: String,
    secret: Zeroizing<[u8; 32]>,
}

impl DeviceUnlock {
    /// The 32 secret bytes for `Unlock::Device { key, .. }`.
    pub fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// This unlock as the vault takes it.
    pub fn unlock(&self) -> ward_seal::vault::Unlock<'_> {
        ward_seal::vault::Unlock::Device {
            device_id: &self.device_id,
            key: &self.secret,
        }
    }
}

impl fmt::Debug for DeviceUnlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceUnlock")
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

/// Makes a new device unlock for `account_id` and stores it, replacing any
/// earlier one for that account (whose device id the vault then no longer
/// needs).
pub async fn create(account_id: &str) -> Result<DeviceUnlock, StoreError> {
    let crypto = crypto()?;
    let mut secret = Zeroizing::new([0u8; 32]);
    random(&crypto, secret.as_mut_slice())?;
    let mut id_bytes = [0u8; 16];
    random(&crypto, &mut id_bytes)?;
    let device_id = format!("device-{}", URL_SAFE_NO_PAD.encode(id_bytes));
    let mut iv = [0u8; IV_LEN];
    random(&crypto, &mut iv)?;

    let subtle = crypto.subtle();
    let usages = Array::of2(&"encrypt".into(), &"decrypt".into());
    let key: CryptoKey = promise(subtle.generate_key_with_object(
        &AesKeyGenParams::new("AES-GCM", 256),
        false,
        &usages,
    ))
    .await?
    .dyn_into()
    .map_err(|_| StoreError::Other("generateKey did not return a CryptoKey".into()))?;
    let params = gcm_params(&iv, account_id, &device_id);
    // WebCrypto copies `secret` out of wasm memory when the call is made.
    let ciphertext =
        promise(subtle.encrypt_with_object_and_u8_array(&params, &key, secret.as_slice())).await?;
    let ciphertext = Uint8Array::new(&ciphertext);

    let record = Object::new();
    set(&record, "version", &RECORD_VERSION.into())?;
    set(&record, "account_id", &account_id.into())?;
    set(&record, "device_id", &device_id.as_str().into())?;
    set(&record, "key", &key)?;
    set(&record, "iv", &Uint8Array::from(iv.as_slice()))?;
    set(&record, "ciphertext", &ciphertext)?;

    let db = open().await?;
    let transaction = db.transaction(&[DEVICES], TransactionMode::ReadWrite)?;
    let store = transaction.object_store(DEVICES)?;
    let put = store.put(&record, Some(&account_id.into()))?;
    let done = transaction.into_future();
    put.await?;
    committed(done.await?)?;
    Ok(DeviceUnlock { device_id, secret })
}

/// This device's unlock for `account_id`, decrypted with its stored key;
/// `None` when there is none. `Corrupt` when the record does not decrypt:
/// [`forget`] it and [`create`] a new one after the next recovery-code
/// unlock.
pub async fn load(account_id: &str) -> Result<Option<DeviceUnlock>, StoreError> {
    let record = {
        let db = open().await?;
        let transaction = db.transaction(&[DEVICES], TransactionMode::ReadOnly)?;
        let store = transaction.object_store(DEVICES)?;
        store.get(JsValue::from_str(account_id))?.await?
    };
    let Some(record) = record else {
        return Ok(None);
    };

    if get(&record, "account_id").as_string().as_deref() != Some(account_id) {
        return Err(StoreError::Corrupt);
    }
    let device_id = get(&record, "device_id")
        .as_string()
        .ok_or(StoreError::Corrupt)?;
    let key: CryptoKey = get(&record, "key")
        .dyn_into()
        .map_err(|_| StoreError::Corrupt)?;
    let iv: Uint8Array = get(&record, "iv")
        .dyn_into()
        .map_err(|_| StoreError::Corrupt)?;
    let iv: [u8; IV_LEN] = iv.to_vec().try_into().map_err(|_| StoreError::Corrupt)?;
    let ciphertext: Uint8Array = get(&record, "ciphertext")
        .dyn_into()
        .map_err(|_| StoreError::Corrupt)?;

    let subtle = crypto()?.subtle();
    let params = gcm_params(&iv, account_id, &device_id);
    let plaintext = subtle
        .decrypt_with_object_and_js_u8_array(&params, &key, &ciphertext)
        .map_err(|_| StoreError::Corrupt)?;
    // A wrong tag, key or IV all reject with OperationError.
    let plaintext = JsFuture::from(plaintext)
        .await
        .map_err(|_| StoreError::Corrupt)?;
    let plaintext = Uint8Array::new(&plaintext);
    let mut secret = Zeroizing::new([0u8; 32]);
    let fits = plaintext.length() as usize == secret.len();
    if fits {
        plaintext.copy_to(secret.as_mut_slice());
    }
    // The browser's copy of the plaintext, wiped as far as script can.
    plaintext.fill(0, 0, plaintext.length());
    if !fits {
        return Err(StoreError::Corrupt);
    }
    Ok(Some(DeviceUnlock { device_id, secret }))
}

/// Removes this device's unlock for `account_id` (nothing to do if none).
pub async fn forget(account_id: &str) -> Result<(), StoreError> {
    let db = open().await?;
    let transaction = db.transaction(&[DEVICES], TransactionMode::ReadWrite)?;
    let store = transaction.object_store(DEVICES)?;
    let delete = store.delete(JsValue::from_str(account_id))?;
    let done = transaction.into_future();
    delete.await?;
    committed(done.await?)
}

/// Removes every device unlock in this browser. The generation pins stay.
pub async fn forget_all() -> Result<(), StoreError> {
    let db = open().await?;
    let transaction = db.transaction(&[DEVICES], TransactionMode::ReadWrite)?;
    let store = transaction.object_store(DEVICES)?;
    let clear = store.clear()?;
    let done = transaction.into_future();
    clear.await?;
    committed(done.await?)
}

/// The highest vault generation this device has seen for `account_id`.
pub async fn pinned_generation(account_id: &str) -> Result<Option<u64>, StoreError> {
    let db = open().await?;
    let transaction = db.transaction(&[PINS], TransactionMode::ReadOnly)?;
    let store = transaction.object_store(PINS)?;
    let pin = store.get(JsValue::from_str(account_id))?.await?;
    pin.map(generation).transpose()
}

/// Records `generation` for `account_id` if it is higher than the pin (the
/// pin never goes down). Read and write happen in one transaction, so two
/// tabs cannot interleave and lower it.
pub async fn pin_generation(account_id: &str, generation: u64) -> Result<(), StoreError> {
    let db = open().await?;
    let transaction = db.transaction(&[PINS], TransactionMode::ReadWrite)?;
    let store = transaction.object_store(PINS)?;
    let key = JsValue::from_str(account_id);
    let done = transaction.into_future();
    let pinned = store.get(key.clone())?.await?;
    let pinned = pinned.map(self::generation).transpose()?;
    if pinned.is_none_or(|pinned| pinned < generation) {
        // Issued from the get's success (microtask), while the transaction
        // is still active.
        store
            .put(&BigInt::from(generation).into(), Some(&key))?
            .await?;
    }
    committed(done.await?)
}

fn generation(value: JsValue) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt)
}

fn random(crypto: &Crypto, bytes: &mut [u8]) -> Result<(), StoreError> {
    crypto
        .get_random_values_with_u8_array(bytes)
        .map(drop)
        .map_err(|error| StoreError::Other(describe(&error)))
}

/// AES-GCM with `iv`, bound to the account and device by additional data.
fn gcm_params(iv: &[u8; IV_LEN], account_id: &str, device_id: &str) -> AesGcmParams {
    let params = AesGcmParams::new_with_u8_array("AES-GCM", &Uint8Array::from(iv.as_slice()));
    let mut aad = Vec::with_capacity(AAD_LABEL.len() + account_id.len() + device_id.len() + 8);
    for part in [AAD_LABEL, account_id.as_bytes(), device_id.as_bytes()] {
        // Length-prefixed, so no two (account, device) pairs share bytes.
        aad.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        aad.extend_from_slice(part);
    }
    params.set_additional_data_u8_array(&Uint8Array::from(aad.as_slice()));
    params
}

async fn promise(call: Result<js_sys::Promise, JsValue>) -> Result<JsValue, StoreError> {
    let promise = call.map_err(|error| StoreError::Other(describe(&error)))?;
    JsFuture::from(promise)
        .await
        .map_err(|error| StoreError::Other(describe(&error)))
}

pub(crate) fn committed(result: TransactionResult) -> Result<(), StoreError> {
    match result {
        TransactionResult::Committed => Ok(()),
        TransactionResult::Aborted => Err(StoreError::Other("transaction aborted".into())),
    }
}

pub(crate) fn set(record: &Object, field: &str, value: &JsValue) -> Result<(), StoreError> {
    Reflect::set(record, &field.into(), value)
        .map(drop)
        .map_err(|error| StoreError::Other(describe(&error)))
}

pub(crate) fn get(record: &JsValue, field: &str) -> JsValue {
    Reflect::get(record, &field.into()).unwrap_or(JsValue::UNDEFINED)
}

fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|error| String::from(error.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}
