//! Whether Ward can reach the relay: a status line for the welcome screen.

use leptos::prelude::*;
use leptos::task::spawn_local;
use ward_proto::HealthStatus;

use crate::api::{self, ApiError};
use crate::i18n::{Text, t, tr};

/// What the screen knows about the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RelayState {
    /// A check is in flight.
    Checking,
    /// The relay and its database answer.
    Ready,
    /// The relay answered but cannot serve messages right now.
    Degraded,
    /// The relay did not answer at all.
    Unreachable,
}

impl RelayState {
    /// From a health check's outcome.
    pub(crate) fn from_check(check: &Result<ward_proto::Health, ApiError>) -> Self {
        match check {
            Ok(health) if health.status == HealthStatus::Ok => Self::Ready,
            Ok(_) | Err(ApiError::Refused { .. } | ApiError::UnexpectedBody) => Self::Degraded,
            Err(ApiError::Unreachable) => Self::Unreachable,
        }
    }

    /// What the patient reads: what happened and what to do.
    pub(crate) fn message(self) -> &'static str {
        t(match self {
            Self::Checking => Text::RelayChecking,
            Self::Ready => Text::RelayReady,
            Self::Degraded => Text::RelayDegraded,
            Self::Unreachable => Text::RelayUnreachable,
        })
    }

    /// Whether offering "Try again" makes sense.
    pub(crate) fn can_retry(self) -> bool {
        matches!(self, Self::Degraded | Self::Unreachable)
    }
}

/// A status line saying whether the relay answers, with "Try again".
#[component]
#[allow(unreachable_pub)]
pub(crate) fn RelayStatus() -> impl IntoView {
    let (relay, set_relay) = signal(RelayState::Checking);
    let check = move || {
        set_relay.set(RelayState::Checking);
        spawn_local(async move {
            set_relay.set(RelayState::from_check(&api::health().await));
        });
    };
    check();

    view! {
        <p class="relay-status" role="status" data-state=move || format!("{:?}", relay.get())>
            {move || relay.get().message()}
        </p>
        <Show when=move || relay.get().can_retry()>
            <button type="button" class="button secondary" on:click=move |_| check()>
                {tr(Text::RelayTryAgain)}
            </button>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ward_proto::Health;

    fn health(status: HealthStatus) -> Health {
        Health {
            status,
            version: "0".into(),
            migrations_applied: 1,
        }
    }

    #[test]
    fn only_a_healthy_relay_reads_as_connected() {
        assert_eq!(
            RelayState::from_check(&Ok(health(HealthStatus::Ok))),
            RelayState::Ready
        );
        assert_eq!(
            RelayState::from_check(&Ok(health(HealthStatus::Degraded))),
            RelayState::Degraded
        );
        assert_eq!(
            RelayState::from_check(&Err(ApiError::Refused {
                status: 503,
                code: ward_proto::ErrorCode::Unknown,
                message: String::new(),
                retry_after_seconds: None
            })),
            RelayState::Degraded
        );
        assert_eq!(
            RelayState::from_check(&Err(ApiError::Unreachable)),
            RelayState::Unreachable
        );
    }

    #[test]
    fn every_failure_offers_a_next_step() {
        for state in [RelayState::Degraded, RelayState::Unreachable] {
            assert!(state.can_retry());
            assert!(state.message().contains("try again"), "{state:?}");
        }
        assert!(!RelayState::Ready.can_retry());
    }
}
