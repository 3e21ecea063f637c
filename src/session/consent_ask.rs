//! Whether the home screen asks the account to agree to the clinic's
//! messaging terms: an account made before enrollment recorded consent has
//! no agreement on record, and one that agreed to an earlier version has
//! not read the text as it stands. One that withdrew is not asked (it
//! chose; Settings lets it agree again). Pure; host-tested.

use ward_proto::account::{ConsentStatus, ConsentText};

use crate::i18n::{Text, fill, t};

/// What to ask, read once per unlock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentAsk {
    /// Nothing: the account agreed to the text as it stands, or withdrew.
    Nothing,
    /// Agree to `current`, which the account never agreed to.
    Agree {
        /// The text as it stands.
        current: ConsentText,
        /// The version it agreed to before (`None`: none on record).
        before: Option<String>,
    },
}

impl ConsentAsk {
    /// What `status` calls for.
    pub fn of(status: ConsentStatus) -> Self {
        if status.withdrawn_at.is_some() {
            return Self::Nothing;
        }
        match status.agreed {
            Some(agreed) if agreed.sha256 == status.current.sha256 => Self::Nothing,
            agreed => Self::Agree {
                current: status.current,
                before: agreed.map(|text| text.version),
            },
        }
    }

    /// The sentence above the text.
    pub fn words(&self) -> Option<String> {
        match self {
            Self::Nothing => None,
            Self::Agree { before: None, .. } => Some(t(Text::MessagingTermsNoneOnRecord).into()),
            Self::Agree {
                current,
                before: Some(version),
            } => Some(fill(
                Text::MessagingTermsChanged,
                &[("before", version), ("current", &current.version)],
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(version: &str) -> ConsentText {
        ConsentText {
            version: version.into(),
            sha256: ward_proto::Bytes(version.as_bytes().to_vec()),
            text: format!("Terms {version}"),
        }
    }

    fn status(agreed: Option<&str>, withdrawn: bool, current: &str) -> ConsentStatus {
        ConsentStatus {
            agreed: agreed.map(text),
            agreed_at: agreed.map(|_| 1_764_770_525),
            method: agreed.map(|_| "enrollment".into()),
            withdrawn_at: withdrawn.then_some(1_764_770_600),
            current: text(current),
        }
    }

    #[test]
    fn an_account_without_the_current_agreement_is_asked_unless_it_withdrew() {
        assert_eq!(
            ConsentAsk::of(status(Some("v2"), false, "v2")),
            ConsentAsk::Nothing
        );
        assert_eq!(
            ConsentAsk::of(status(None, false, "v2")),
            ConsentAsk::Agree {
                current: text("v2"),
                before: None
            }
        );
        let changed = ConsentAsk::of(status(Some("v1"), false, "v2"));
        assert_eq!(
            changed,
            ConsentAsk::Agree {
                current: text("v2"),
                before: Some("v1".into())
            }
        );
        assert!(
            changed
                .words()
                .is_some_and(|w| w.contains("version v1") && w.contains("version v2"))
        );
        assert_eq!(
            ConsentAsk::of(status(Some("v1"), true, "v2")),
            ConsentAsk::Nothing
        );
        assert_eq!(
            ConsentAsk::of(status(None, true, "v2")),
            ConsentAsk::Nothing
        );
    }
}
