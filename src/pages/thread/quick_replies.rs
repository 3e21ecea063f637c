//! Quick replies: the newest offer from the care team, until the patient
//! answers it.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::with_messages;
use crate::i18n::{Text, tr};
use crate::messaging::{Inbox, Shown};
use crate::session::Session;

/// The buttons of the newest open offer, if any.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn QuickReplies(thread_id: Memo<String>) -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    // The newest offer of quick replies from others, if nothing answers it yet.
    let offer = move || {
        let me = session.account_id.get().unwrap_or_default();
        let mut open = None;
        with_messages(inbox, thread_id, &mut |list| open = open_offer(list, &me));
        open
    };
    let choose = move |offer_id: String, option_id: String, label: String| {
        let id = thread_id.get_untracked();
        spawn_local(async move {
            inbox
                .send(session, &id, label, Some((offer_id, option_id)), None)
                .await;
        });
    };
    move || {
        offer().map(|offer| {
        let offer_id = offer.message_id.clone();
        view! {
            <div class="quick-replies" role="group" aria-label=tr(Text::ThreadQuickReplies)>
                {offer.quick_replies.iter().map(|(option_id, label)| {
                    let (offer_id, option_id, label) = (offer_id.clone(), option_id.clone(), label.clone());
                    let text = label.clone();
                    view! {
                        <button type="button" class="button secondary"
                            on:click=move |_| choose(offer_id.clone(), option_id.clone(), label.clone())>
                            {text}
                        </button>
                    }
                }).collect_view()}
            </div>
        }
    })
    }
}

/// The newest offer of quick replies from others, unless `me` answered it.
fn open_offer(list: &[Shown], me: &str) -> Option<Shown> {
    let (index, offer) = list
        .iter()
        .enumerate()
        .rev()
        .find(|(_, m)| m.sender_id != me && !m.quick_replies.is_empty())?;
    let answered = list[index + 1..]
        .iter()
        .any(|m| m.sender_id == me && m.answers_offer.as_deref() == Some(&offer.message_id));
    (!answered).then(|| offer.clone())
}
