//! What Ward keeps in this browser between visits, in IndexedDB.
//!
//! One database, [`DB_NAME`], at [`DB_VERSION`]. Each operation opens its
//! own short-lived connection and closes it when done, so a later version of
//! Ward in another tab can upgrade the database without waiting on this one.
//! Opening creates any store listed in [`STORES`] that is missing and never
//! deletes one: a store added later goes into that list (and, if it changes
//! what an existing store holds, a new [`DB_VERSION`]).
//!
//! - [`device`]: the device-bound vault unlock and the rollback pins.
//! - [`outbox`]: sealed messages not yet stored by the relay (ciphertext
//!   only), sent in order when the connection returns.
//! - [`bundles`]: the pinned key bundle and key-history head for every
//!   thread member (version 3 added the head; older pins are kept).
//! - [`drafts`]: drafts sealed for an update's reload (version 4).

pub mod bundles;
pub mod device;
pub(crate) mod drafts;
pub(crate) mod outbox;

pub use device::DeviceUnlock;

use std::fmt;

use idb::{Database, DatabaseEvent as _, Factory, ObjectStoreParams};
use wasm_bindgen::JsCast as _;

use crate::i18n::{Text, t};

/// The IndexedDB database's name.
pub const DB_NAME: &str = "ward";
/// The IndexedDB schema version this client opens.
pub const DB_VERSION: u32 = 4;
/// Every object store in [`DB_NAME`], created on open when missing.
pub const STORES: [&str; 5] = [
    device::DEVICES,
    device::PINS,
    outbox::OUTBOX,
    bundles::BUNDLES,
    drafts::DRAFTS,
];

/// Why something could not be kept on, or read back from, this device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The browser refuses storage (private browsing, storage disabled or
    /// full, no IndexedDB) or offers no WebCrypto (a page not served over
    /// HTTPS). Ward works without it: the recovery code unlocks each time.
    Unavailable,
    /// A stored record is unreadable: it does not decrypt under its key or is
    /// not shaped as Ward writes it. Forget it and set the device up again.
    Corrupt,
    /// Anything else, with the browser's words for developers' logs.
    Other(String),
}

impl StoreError {
    /// What to tell the person.
    pub fn message(&self) -> &'static str {
        t(match self {
            Self::Unavailable => Text::ErrStoreUnavailable,
            Self::Corrupt => Text::ErrStoreCorrupt,
            Self::Other(_) => Text::ErrStoreOther,
        })
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable => f.write_str("browser storage or WebCrypto is unavailable"),
            Self::Corrupt => f.write_str("a stored record is corrupt"),
            Self::Other(detail) => write!(f, "browser storage failed: {detail}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<idb::Error> for StoreError {
    fn from(error: idb::Error) -> Self {
        match &error {
            idb::Error::DomException(exception) if exception.name() == "QuotaExceededError" => {
                Self::Unavailable
            }
            _ => Self::Other(error.to_string()),
        }
    }
}

/// An open connection to [`DB_NAME`], closed on drop (the browser finishes
/// the connection's transactions first).
#[derive(Debug)]
pub(crate) struct Connection(Database);

impl std::ops::Deref for Connection {
    type Target = Database;

    fn deref(&self) -> &Database {
        &self.0
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Opens [`DB_NAME`], creating missing stores.
pub(crate) async fn open() -> Result<Connection, StoreError> {
    let factory = Factory::new().map_err(|_| StoreError::Unavailable)?;
    let mut request = factory
        .open(DB_NAME, Some(DB_VERSION))
        .map_err(|_| StoreError::Unavailable)?;
    request.on_upgrade_needed(|event| {
        // A failure here leaves the store missing; the first transaction on
        // it then fails and reports why.
        if let Ok(database) = event.database() {
            let existing = database.store_names();
            for name in STORES {
                if !existing.iter().any(|store| store == name) {
                    let _ = database.create_object_store(name, ObjectStoreParams::new());
                }
            }
        }
    });
    match request.await {
        Ok(database) => Ok(Connection(database)),
        // A newer Ward upgraded the database; this page is out of date.
        Err(idb::Error::DomException(exception)) if exception.name() == "VersionError" => Err(
            StoreError::Other("the saved data is from a newer Ward; reload the page".into()),
        ),
        // Firefox's private mode and disabled storage fail the open itself.
        Err(_) => Err(StoreError::Unavailable),
    }
}

/// The global `crypto` (window or worker), or `Unavailable` when there is
/// no WebCrypto (`crypto.subtle` exists only in secure contexts).
pub(crate) fn crypto() -> Result<web_sys::Crypto, StoreError> {
    let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into())
        .map_err(|_| StoreError::Unavailable)?;
    let subtle =
        js_sys::Reflect::get(&crypto, &"subtle".into()).map_err(|_| StoreError::Unavailable)?;
    if subtle.is_undefined() || subtle.is_null() {
        return Err(StoreError::Unavailable);
    }
    crypto
        .dyn_into::<web_sys::Crypto>()
        .map_err(|_| StoreError::Unavailable)
}
