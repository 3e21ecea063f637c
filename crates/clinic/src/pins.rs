//! The agent's pinned keys: every member's key-history head and bundle,
//! pinned on first use in `<key_file>.pins.json` (mode 0600, replaced
//! atomically), and checked against the whole history on every fetch.
//!
//! * A history that does not verify, or does not extend the pinned head,
//!   was rewritten: nothing is sent to or accepted from that account.
//! * A history that extends the pin but ends in another bundle is a key
//!   change: held (the new bundle is kept as pending) until the operator
//!   compares the safety number and runs `clinic keys confirm ACCOUNT_ID`.
//! * The clinic's own history must end in the key file's bundle.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ward_proto::Bytes;
use ward_proto::keys::KeyHistoryResponse;
use ward_seal::key_history::{self, HistoryEntry, KeyHead, Verdict, VerifiedHistory};
use ward_seal::keys::{AccountKeys, PublicBundle};
use ward_seal::payload::SeenKeyHead;

use super::{AgentError, Client, sync_parent, temp_beside, write_private};

/// The pins file beside `key_file`: `<key_file>.pins.json`.
pub fn pins_path(key_file: &Path) -> PathBuf {
    let mut name = key_file.as_os_str().to_os_string();
    name.push(".pins.json");
    PathBuf::from(name)
}

/// One pinned account, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pin {
    /// Its display name when last seen.
    pub name: String,
    /// The pinned head's seq.
    pub seq: u64,
    /// The pinned head's hash.
    pub head: Bytes,
    /// The pinned (confirmed) bundle.
    pub bundle: Bytes,
    /// A newer bundle the relay serves, not confirmed yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
    /// The relay served a history that does not extend the pin.
    #[serde(default)]
    pub rewritten: bool,
}

/// A key change seen but not confirmed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    /// The new head's seq.
    pub seq: u64,
    /// The new head's hash.
    pub head: Bytes,
    /// The new bundle.
    pub bundle: Bytes,
}

/// A thread archive's head as `verify-archive` last verified it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveRecord {
    /// The head's seq.
    pub seq: u64,
    /// The chain hash of message `seq`.
    pub head: Bytes,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PinFile {
    version: u32,
    accounts: BTreeMap<String, Pin>,
    /// Each verified thread archive's head, by thread id: a later archive
    /// must extend it (absent in files written before `verify-archive`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    archives: BTreeMap<String, ArchiveRecord>,
}

/// How [`Keyring::check`] found an account's keys.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The pinned bundle and every earlier one in its verified history,
    /// newest first: what a message or sealed key may be signed with.
    pub accepted: Vec<PublicBundle>,
    /// A newer bundle the operator has not confirmed, and when (Unix
    /// seconds) the relay says it was published.
    pub pending: Option<(PublicBundle, u64)>,
}

impl Checked {
    /// The pinned bundle.
    pub fn pinned(&self) -> Option<&PublicBundle> {
        self.accepted.first()
    }
}

/// The pins, and the histories verified during this run.
#[derive(Debug)]
pub struct Keyring {
    path: PathBuf,
    file: PinFile,
    own: PublicBundle,
    verified: HashMap<String, (VerifiedHistory, Vec<u64>)>,
}

fn safety(bytes: &[u8]) -> String {
    PublicBundle::from_bytes(bytes)
        .map_or_else(|_| "(invalid)".into(), |b| b.safety_number().to_string())
}

fn head_of(pin: &Pin) -> Option<KeyHead> {
    Some(KeyHead {
        seq: pin.seq,
        hash: pin.head.0.as_slice().try_into().ok()?,
    })
}

impl Keyring {
    /// Loads the pins beside `key_file` (none yet if the file is missing);
    /// `keys` are the clinic's own.
    pub fn load(key_file: &Path, keys: &AccountKeys) -> Result<Self, AgentError> {
        let path = pins_path(key_file);
        let file = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                AgentError::new(format!(
                    "the pinned keys in {} are damaged ({e}). Restore the file from a backup; deleting it forgets every pinned key",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => PinFile::default(),
            Err(e) => {
                return Err(AgentError::new(format!(
                    "could not read the pinned keys in {}: {e}",
                    path.display()
                )));
            }
        };
        Ok(Self {
            path,
            file,
            own: keys.bundle().clone(),
            verified: HashMap::new(),
        })
    }

    /// Loads the pins beside `key_file` for `keys list`, without the
    /// clinic's keys (nothing is checked).
    pub fn pins(key_file: &Path) -> Result<Vec<(String, Pin)>, AgentError> {
        let path = pins_path(key_file);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let file: PinFile = serde_json::from_slice(&bytes).map_err(|e| {
                    AgentError::new(format!(
                        "the pinned keys in {} are damaged ({e})",
                        path.display()
                    ))
                })?;
                Ok(file.accounts.into_iter().collect())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(AgentError::new(format!(
                "could not read the pinned keys in {}: {e}",
                path.display()
            ))),
        }
    }

    fn save(&self) -> Result<(), AgentError> {
        let json = serde_json::to_vec_pretty(&self.file)
            .map_err(|e| AgentError::new(format!("could not encode the pinned keys: {e}")))?;
        let temp = temp_beside(&self.path)?;
        write_private(&temp, &json).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            AgentError::new(format!("could not write {}: {e}", temp.display()))
        })?;
        std::fs::rename(&temp, &self.path).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            AgentError::new(format!("could not replace {}: {e}", self.path.display()))
        })?;
        sync_parent(&self.path);
        Ok(())
    }

    /// The archive head `verify-archive` last recorded for `thread_id`.
    pub fn archive_record(&self, thread_id: &str) -> Option<&ArchiveRecord> {
        self.file.archives.get(thread_id)
    }

    /// Records `record` as `thread_id`'s verified archive head, and saves.
    pub fn record_archive(
        &mut self,
        thread_id: &str,
        record: ArchiveRecord,
    ) -> Result<(), AgentError> {
        if self.file.archives.get(thread_id) != Some(&record) {
            self.file.archives.insert(thread_id.to_owned(), record);
            self.save()?;
        }
        Ok(())
    }

    /// Fetches and verifies `account_id`'s whole key history.
    async fn fetch(
        client: &Client,
        account_id: &str,
    ) -> Result<Option<(VerifiedHistory, Vec<u64>)>, AgentError> {
        let Some(response) = client
            .get_optional::<KeyHistoryResponse>(&format!("/v1/keys/{account_id}/history"))
            .await?
        else {
            return Ok(None);
        };
        let mut entries = Vec::with_capacity(response.entries.len());
        let mut published = Vec::with_capacity(response.entries.len());
        for entry in response.entries {
            let hash = <[u8; 32]>::try_from(entry.hash.0.as_slice()).map_err(|_| {
                AgentError::new(format!(
                    "the relay served a malformed key history for {account_id}; nothing is sent to or accepted from it"
                ))
            })?;
            entries.push(HistoryEntry {
                seq: entry.seq,
                bundle: entry.bundle.0,
                hash,
            });
            published.push(entry.published_at);
        }
        let verified = key_history::verify(account_id, &entries).map_err(|e| {
            AgentError::new(format!(
                "the relay served a key history for {account_id} that does not check out ({e}); nothing is sent to or accepted from it. The relay may be misbehaving"
            ))
        })?;
        Ok(Some((verified, published)))
    }

    /// Fetches, verifies and checks `account_id`'s keys against the pin
    /// (pinning them now if this is the first time), saving any change.
    /// `None` when the account has published no keys (or the relay does not
    /// show them to the clinic). Errs for a rewritten history, or a clinic
    /// key that is not the key file's.
    pub async fn check(
        &mut self,
        client: &Client,
        account_id: &str,
        name: &str,
    ) -> Result<Option<Checked>, AgentError> {
        let Some((verified, published)) = Self::fetch(client, account_id).await? else {
            if self.file.accounts.contains_key(account_id) {
                return Err(AgentError::new(format!(
                    "REFUSED: the relay no longer serves keys for {name} ({account_id}), which are pinned here. Nothing is sent to or accepted from {account_id}"
                )));
            }
            return Ok(None);
        };
        let head = verified.head();
        let current = verified.current().clone();
        let own = account_id == self.own.account_id();
        let pin = self.file.accounts.get(account_id).cloned();
        // Seal's one pinning rule, the same the web client applies.
        let verdict = key_history::judge(
            pin.as_ref()
                .map(|p| key_history::Pin {
                    bundle: p.bundle.0.clone(),
                    head: head_of(p),
                })
                .as_ref(),
            &verified,
        );
        if verdict == Verdict::Rewritten || pin.as_ref().is_some_and(|p| p.rewritten) {
            let pinned = pin
                .as_ref()
                .map_or_else(String::new, |p| safety(&p.bundle.0));
            if let Some(pin) = self.file.accounts.get_mut(account_id)
                && !pin.rewritten
            {
                pin.rewritten = true;
                self.save()?;
            }
            return Err(AgentError::new(format!(
                "REFUSED: the relay rewrote the key history of {name} ({account_id}): it no longer contains the keys pinned here (safety number {pinned}); it now serves safety number {}. Nothing is sent to or accepted from {account_id}. Treat this relay as untrusted for this account and call {name}",
                current.safety_number()
            )));
        }
        if own && current != self.own {
            return Err(AgentError::new(format!(
                "REFUSED: the relay serves a key for this clinic ({account_id}, safety number {}) that is not the one in its key file (safety number {}). Someone published keys for the clinic; nothing is sent until this is resolved",
                current.safety_number(),
                self.own.safety_number()
            )));
        }
        let bundle_bytes = verified.current_bytes().to_vec();
        let mut changed = false;
        let pin = match pin {
            // First use, or the clinic's own (already checked above): pin
            // what was just verified.
            None => {
                changed = true;
                Pin {
                    name: name.to_owned(),
                    seq: head.seq,
                    head: Bytes(head.hash.to_vec()),
                    bundle: Bytes(bundle_bytes.clone()),
                    pending: None,
                    rewritten: false,
                }
            }
            Some(mut pin) => {
                if pin.name != name {
                    pin.name = name.to_owned();
                    changed = true;
                }
                // The same bundle at a later seq (A, B, A) is a change to
                // confirm, never a silent move of the pin (seal's rule).
                let same_keys = matches!(verdict, Verdict::Same(_));
                if own || same_keys {
                    // The same keys (or, for the clinic, its own): the pin
                    // moves along the verified history.
                    if pin.seq != head.seq || pin.pending.is_some() || pin.bundle.0 != bundle_bytes
                    {
                        pin.seq = head.seq;
                        pin.head = Bytes(head.hash.to_vec());
                        pin.bundle = Bytes(bundle_bytes.clone());
                        pin.pending = None;
                        changed = true;
                    }
                } else if pin
                    .pending
                    .as_ref()
                    .is_none_or(|p| p.seq != head.seq || p.head.0 != head.hash)
                {
                    pin.pending = Some(Pending {
                        seq: head.seq,
                        head: Bytes(head.hash.to_vec()),
                        bundle: Bytes(bundle_bytes.clone()),
                    });
                    changed = true;
                }
                pin
            }
        };
        let pinned_seq = pin.seq;
        let pending = pin.pending.as_ref().and_then(|p| {
            let bundle = PublicBundle::from_bytes(&p.bundle.0).ok()?;
            let at = usize::try_from(p.seq)
                .ok()
                .and_then(|i| published.get(i).copied())
                .unwrap_or(0);
            Some((bundle, at))
        });
        self.file.accounts.insert(account_id.to_owned(), pin);
        if changed {
            self.save()?;
        }
        let accepted = verified
            .entries()
            .iter()
            .take(usize::try_from(pinned_seq).map_or(usize::MAX, |s| s.saturating_add(1)))
            .rev()
            .filter_map(|e| PublicBundle::from_bytes(&e.bundle).ok())
            .collect();
        self.verified
            .insert(account_id.to_owned(), (verified, published));
        Ok(Some(Checked { accepted, pending }))
    }

    /// [`Keyring::check`], refusing a pending (unconfirmed) key change too:
    /// what must hold before sending into a thread.
    pub async fn require_confirmed(
        &mut self,
        client: &Client,
        account_id: &str,
        name: &str,
    ) -> Result<Option<Checked>, AgentError> {
        let checked = self.check(client, account_id, name).await?;
        if let Some(checked) = &checked
            && let (Some((new, _)), Some(pinned)) = (&checked.pending, checked.pinned())
        {
            return Err(changed_error(name, account_id, pinned, new));
        }
        Ok(checked)
    }

    /// The pinned heads of `accounts` (those pinned), for a message's
    /// `key_heads`.
    pub fn key_heads<'a>(&self, accounts: impl IntoIterator<Item = &'a str>) -> Vec<SeenKeyHead> {
        accounts
            .into_iter()
            .filter_map(|id| {
                let pin = self.file.accounts.get(id)?;
                let head = head_of(pin)?;
                Some(SeenKeyHead {
                    account_id: id.to_owned(),
                    seq: head.seq,
                    hash: head.hash,
                })
            })
            .collect()
    }

    /// Compares the heads a member's message carries with what this agent
    /// pinned and verified: the same seq with another hash means the relay
    /// showed the two members different histories.
    pub fn compare(&self, sender: &str, heads: &[SeenKeyHead]) -> Result<(), AgentError> {
        for seen in heads {
            let pinned = self
                .file
                .accounts
                .get(&seen.account_id)
                .and_then(head_of)
                .filter(|h| h.seq == seen.seq)
                .map(|h| h.hash);
            let verified = self
                .verified
                .get(&seen.account_id)
                .and_then(|(v, _)| v.entry(seen.seq))
                .map(|e| e.hash);
            if pinned
                .into_iter()
                .chain(verified)
                .any(|hash| hash != seen.hash)
            {
                let name = self
                    .file
                    .accounts
                    .get(&seen.account_id)
                    .map_or(seen.account_id.as_str(), |p| p.name.as_str());
                return Err(AgentError::new(format!(
                    "REFUSED: split view: {sender} was shown a different key history for {name} ({}) at entry {} than this clinic was. The relay is showing members different keys; nothing more is accepted from this thread until you call {name} and compare safety numbers",
                    seen.account_id, seen.seq
                )));
            }
        }
        Ok(())
    }

    /// The thread notices for `account_id`'s key changes published at or
    /// after `since_ms`: (when, in Unix milliseconds; the line).
    pub fn notices(&self, account_id: &str, name: &str, since_ms: u64) -> Vec<(u64, String)> {
        let Some((verified, published)) = self.verified.get(account_id) else {
            return Vec::new();
        };
        verified
            .entries()
            .iter()
            .zip(published)
            // Key changes are dated to the second: one in the thread's own
            // second is since the thread began.
            .filter(|(entry, at)| entry.seq > 0 && **at >= since_ms / 1000)
            .map(|(_, at)| (at.saturating_mul(1000), notice_line(name, *at)))
            .collect()
    }

    /// `keys confirm`: accepts the pending bundle of `account_id` (which
    /// must still be what the relay serves); the safety numbers before and
    /// after.
    pub async fn confirm(
        &mut self,
        client: &Client,
        account_id: &str,
    ) -> Result<(String, String), AgentError> {
        let pin = self.file.accounts.get(account_id).cloned().ok_or_else(|| {
            AgentError::new(format!(
                "no key is pinned for {account_id}; `ward-clinic keys list` shows the pinned accounts"
            ))
        })?;
        let name = pin.name.clone();
        let before = safety(&pin.bundle.0);
        let pending = pin.pending.clone().ok_or_else(|| {
            AgentError::new(format!(
                "{name} ({account_id}) has no key change to confirm: the pinned safety number {before} is current"
            ))
        })?;
        let checked = self.check(client, account_id, &name).await?;
        let Some((new, _)) = checked.and_then(|c| c.pending) else {
            return Err(AgentError::new(format!(
                "{name} ({account_id}) has no key change to confirm any more"
            )));
        };
        if new.to_bytes() != pending.bundle.0 {
            return Err(AgentError::new(format!(
                "{name}'s key changed again since you were shown safety number {}: the relay now serves {}. Compare this new number with {name}, then confirm again",
                safety(&pending.bundle.0),
                new.safety_number()
            )));
        }
        let after = new.safety_number().to_string();
        if let Some(pin) = self.file.accounts.get_mut(account_id)
            && let Some(pending) = pin.pending.take()
        {
            pin.seq = pending.seq;
            pin.head = pending.head;
            pin.bundle = pending.bundle;
        }
        self.save()?;
        Ok((before, after))
    }
}

/// The refusal for a key change that is not confirmed.
pub fn changed_error(
    name: &str,
    account_id: &str,
    pinned: &PublicBundle,
    new: &PublicBundle,
) -> AgentError {
    let name = super::terminal::line(name);
    let account_id = super::terminal::line(account_id);
    AgentError::new(format!(
        "REFUSED: {name}'s security key changed ({account_id}). Safety number pinned: {}; new safety number: {}. Call {name} and compare the new number; if it matches, run `ward-clinic keys confirm {account_id}`. Until then nothing is sent to or accepted from the new key",
        pinned.safety_number(),
        new.safety_number()
    ))
}

/// "<Name>'s security key changed on <3 Dec>. If you didn't expect this,
/// call them before replying." (`at` in Unix seconds, the date in UTC).
pub fn notice_line(name: &str, at: u64) -> String {
    let name = super::terminal::line(name);
    format!(
        "{name}'s security key changed on {}. If you didn't expect this, call them before replying.",
        day_month(at)
    )
}

/// `3 Dec`: the UTC day and month of Unix seconds `at`.
pub fn day_month(at: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // Howard Hinnant's civil_from_days, for days since 1970-01-01.
    let days = i64::try_from(at / 86_400).unwrap_or(0);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let name = usize::try_from(month - 1)
        .ok()
        .and_then(|m| MONTHS.get(m))
        .copied()
        .unwrap_or("?");
    format!("{day} {name}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_day_and_month_in_utc() {
        assert_eq!(day_month(0), "1 Jan");
        // 2025-12-03T23:59:59Z
        assert_eq!(day_month(1_764_806_399), "3 Dec");
        // 2024-02-29T12:00:00Z
        assert_eq!(day_month(1_709_208_000), "29 Feb");
        assert_eq!(
            notice_line("Sam", 1_764_806_399),
            "Sam's security key changed on 3 Dec. If you didn't expect this, call them before replying."
        );
    }

    #[test]
    fn the_pins_file_sits_beside_the_key_file() {
        assert_eq!(
            pins_path(Path::new("data/clinic.key")),
            PathBuf::from("data/clinic.key.pins.json")
        );
    }
}
