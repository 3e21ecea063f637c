//! The clinic's consent text, as the patient reads it before agreeing
//! (enrollment) and later (Settings): its paragraphs, in a region the
//! keyboard can scroll.

use leptos::prelude::*;
use ward_proto::account::ConsentText;

use crate::i18n::{Text, fill, t};

/// The text's paragraphs, the first as a heading (level 3 when `within` a
/// section of its own, else 2), in a region named `label` (default: the
/// clinic's consent text). The clinic's words are shown as the clinic
/// wrote them; only Ward's own (the label, "Version") follow the language.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn ConsentWords(
    text: ConsentText,
    #[prop(optional, into)] label: Option<Signal<String>>,
    #[prop(optional)] within: bool,
) -> impl IntoView {
    let mut paragraphs = text
        .text
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned);
    let title = paragraphs.next().unwrap_or_default();
    let rest: Vec<String> = paragraphs.collect();
    let label = move || label.map_or_else(|| t(Text::ConsentRegionLabel).to_owned(), |l| l.get());
    let version = text.version;
    let heading = if within {
        view! { <h3>{title}</h3> }.into_any()
    } else {
        view! { <h2>{title}</h2> }.into_any()
    };
    view! {
        <div class="consent-text" role="region" aria-label=label tabindex="0">
            {heading}
            {rest.into_iter().map(|p| view! { <p>{p}</p> }).collect_view()}
            <p class="meta">{move || fill(Text::ConsentVersion, &[("version", &version)])}</p>
        </div>
    }
}
