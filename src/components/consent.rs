//! The clinic's consent text, as the patient reads it before agreeing
//! (enrollment) and later (Settings): its paragraphs, in a region the
//! keyboard can scroll.

use leptos::prelude::*;
use ward_proto::account::ConsentText;

/// The text's paragraphs, the first as a heading.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn ConsentWords(text: ConsentText) -> impl IntoView {
    let mut paragraphs = text
        .text
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned);
    let title = paragraphs.next().unwrap_or_default();
    let rest: Vec<String> = paragraphs.collect();
    view! {
        <div class="consent-text" role="region" aria-label="The clinic's consent text" tabindex="0">
            <h2>{title}</h2>
            {rest.into_iter().map(|p| view! { <p>{p}</p> }).collect_view()}
            <p class="meta">{format!("Version {}", text.version)}</p>
        </div>
    }
}
