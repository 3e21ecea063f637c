//! What to call or do in an emergency, shown before a first message and
//! whenever a draft may describe one: the clinic's own words, and under
//! them each number in them as a link a phone dials (`tel:`), and texts
//! (`sms:`) where the sentence says it takes texts, as 988 does.

use leptos::prelude::*;

use crate::session::Session;

/// What a relay without its own notice says.
const DEFAULT_NOTICE: &str =
    "If this is an emergency, call 911. For a mental health crisis, call or text 988.";

/// A way to reach a number in the notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Dial it.
    Call(String),
    /// Send it a text.
    Text(String),
}

impl Reach {
    /// The link's words, e.g. "Call 911".
    pub(crate) fn label(&self) -> String {
        match self {
            Self::Call(number) => format!("Call {number}"),
            Self::Text(number) => format!("Text {number}"),
        }
    }

    /// The link, e.g. `tel:911`.
    pub(crate) fn href(&self) -> String {
        let dial = |number: &str| -> String {
            number
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '+')
                .collect()
        };
        match self {
            Self::Call(number) => format!("tel:{}", dial(number)),
            Self::Text(number) => format!("sms:{}", dial(number)),
        }
    }
}

/// The numbers in `notice`, in order, each to call, and also to text when
/// its sentence mentions texting. A number is a run of digits (and the
/// spaces, dashes, brackets and `+` of a written phone number) holding 3
/// to 15 digits.
pub(crate) fn ways_to_reach(notice: &str) -> Vec<Reach> {
    let mut ways = Vec::new();
    for sentence in notice.split_inclusive(['.', '!', '?', ';']) {
        let texts = sentence.to_lowercase().contains("text");
        for number in numbers(sentence) {
            if !ways.contains(&Reach::Call(number.clone())) {
                ways.push(Reach::Call(number.clone()));
            }
            if texts && !ways.contains(&Reach::Text(number.clone())) {
                ways.push(Reach::Text(number));
            }
        }
    }
    ways
}

fn numbers(sentence: &str) -> Vec<String> {
    let phone_char = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '+');
    let mut found = Vec::new();
    let mut run = String::new();
    for c in sentence.chars().chain(std::iter::once('\n')) {
        if phone_char(c) {
            run.push(c);
            continue;
        }
        // What a run holds is one written number: from its first digit,
        // `+` or `(` to its last digit, without a bracket left open.
        let written = run
            .trim_start_matches(|c: char| !c.is_ascii_digit() && c != '(' && c != '+')
            .trim_end_matches(|c: char| !c.is_ascii_digit());
        let written = if written.matches('(').count() > written.matches(')').count() {
            written.trim_start_matches('(')
        } else {
            written
        };
        let digits = written.chars().filter(char::is_ascii_digit).count();
        if (3..=15).contains(&digits) {
            found.push(written.trim().to_owned());
        }
        run.clear();
    }
    found
}

/// The notice (`urgent`: the draft may describe an emergency).
#[component]
#[allow(unreachable_pub)]
pub(crate) fn EmergencyNotice(#[prop(optional)] urgent: bool) -> impl IntoView {
    // The clinic's own words when the relay has sent them; the default
    // otherwise (before the clinic's details arrive, or offline).
    let clinic = use_context::<Session>().map(|session| session.inbox().clinic);
    let text = move || {
        clinic
            .and_then(|c| c.get())
            .map(|info| info.emergency_notice)
            .filter(|notice| !notice.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_NOTICE.to_owned())
    };
    view! {
        <div class=if urgent { "emergency urgent" } else { "emergency" } role=if urgent { "alert" } else { "note" }>
            <strong>{text}</strong>
            " Messages here are not watched around the clock."
            <p class="emergency-links">
                {move || ways_to_reach(&text()).into_iter().map(|way| view! {
                    <a class="button danger" href=way.href()>{way.label()}</a>
                }).collect_view()}
            </p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_number_is_called_and_texted_where_its_sentence_says_so() {
        assert_eq!(
            ways_to_reach(DEFAULT_NOTICE),
            [
                Reach::Call("911".into()),
                Reach::Call("988".into()),
                Reach::Text("988".into()),
            ]
        );
        let ways = ways_to_reach(
            "Emergencies: call 999. Out of hours, ring the nurse line on +44 (0)20 7946 0958.",
        );
        assert_eq!(
            ways,
            [
                Reach::Call("999".into()),
                Reach::Call("+44 (0)20 7946 0958".into()),
            ]
        );
        assert_eq!(ways[1].href(), "tel:+4402079460958");
        assert_eq!(Reach::Text("988".into()).href(), "sms:988");
        assert_eq!(Reach::Text("988".into()).label(), "Text 988");
        // The words after a number are not part of it.
        assert_eq!(
            ways_to_reach("Call or text 988 (our demo notice)."),
            [Reach::Call("988".into()), Reach::Text("988".into())]
        );
        assert_eq!(
            ways_to_reach("Call (555) 123-4567."),
            [Reach::Call("(555) 123-4567".into())]
        );
        // No number, no links; a lone digit is not one.
        assert!(ways_to_reach("Call us in 2 days.").is_empty());
    }
}
