//! Ends caregiver grants when their time comes, not at the next sweep.
//!
//! A grant that runs out is refused at once on every route that names a
//! thread (`routes::threads::caregiver_grant` reads its end), but the
//! caregiver stays a member of the patient's threads until they are taken
//! out: until then the inbox list, attachment downloads and live events,
//! which ask only whether someone is a member, would still reach them.
//! [`spawn`] wakes when the next grant ends (and at least every
//! [`RECHECK`], to see grants another relay made or renewed), takes the
//! caregiver out of the patient's threads (which then want a new epoch)
//! and tells the caregiver's open sessions with an `access_ended` event.
//!
//! It goes by the system clock, as the sweeps do; tests that move the
//! relay's [`crate::clock::Clock`] call [`end_due`] themselves.

use std::time::Duration;

use sqlx::AnyPool;
use ward_proto::account::AccountEventKind;
use ward_proto::events::Event;

use crate::background::Task;
use crate::events::Hub;
use crate::store;

/// The longest the watch sleeps before it looks again. A grant lasts three
/// months at least, so one made or renewed on another relay is seen long
/// before it ends.
pub const RECHECK: Duration = Duration::from_secs(60);

/// Takes every caregiver whose grant ended by `now` out of the patient's
/// threads and tells them; how many grants it ended.
pub async fn end_due(db: &AnyPool, events: &Hub, now: i64) -> Result<usize, sqlx::Error> {
    let ended = store::caregivers::end_expired(db, now).await?;
    for grant in &ended {
        // In the patient's history (a failure here is logged, not retried:
        // the grant has ended either way).
        if let Err(error) = crate::history::record(
            db,
            &grant.patient_id,
            AccountEventKind::CaregiverExpired,
            None,
            Some(&grant.caregiver_id),
        )
        .await
        {
            tracing::warn!(
                ?error,
                "an ended grant was not written to the patient's history"
            );
        }
        events.publish(
            vec![grant.caregiver_id.clone()],
            &Event::AccessEnded {
                patient_id: grant.patient_id.clone(),
            },
        );
    }
    Ok(ended.len())
}

/// Runs [`end_due`] now, then again when the next grant ends, looking at
/// least every `recheck` (the relay uses [`RECHECK`]). A failure is logged
/// and retried at the next look.
pub fn spawn(db: AnyPool, events: Hub, recheck: Duration) -> Task {
    Task::spawn(async move {
        loop {
            let now = crate::secrets::now_ms();
            match end_due(&db, &events, now).await {
                Ok(0) => {}
                Ok(ended) => tracing::info!(ended, "caregiver grants ended"),
                Err(error) => tracing::warn!(%error, "ending caregiver grants failed; retrying"),
            }
            let wait = match store::caregivers::next_end(&db).await {
                Ok(Some(next)) => u64::try_from(next.saturating_sub(now))
                    .map_or(Duration::ZERO, Duration::from_millis)
                    .min(recheck),
                Ok(None) => recheck,
                Err(error) => {
                    tracing::warn!(%error, "reading the next grant's end failed; retrying");
                    recheck
                }
            };
            // At least a moment: a grant ending now that could not be ended
            // (a failure above) is not retried in a busy loop.
            tokio::time::sleep(wait.max(Duration::from_millis(200))).await;
        }
    })
}
