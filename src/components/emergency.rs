//! What to call or do in an emergency, shown before a first message and
//! whenever a draft may describe one: the clinic's own words, and under
//! them each number in them as a link a phone dials (`tel:`), and texts
//! (`sms:`) where the sentence says it takes texts, as 988 does.

use leptos::prelude::*;

use crate::i18n::{Text, fill, t, tr};
use crate::session::Session;

/// What a relay without its own notice says, in English: the patient reads
/// it in their language (`Text::EmergencyDefaultNotice`, the same English),
/// and its links are always made from this, so a translation can never
/// lose one.
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
            Self::Call(number) => fill(Text::EmergencyCall, &[("number", number)]),
            Self::Text(number) => fill(Text::EmergencyText, &[("number", number)]),
        }
    }

    /// The link, e.g. `tel:911`; an international number's "(0)" (dialled
    /// only from inside its country) is left out.
    pub(crate) fn href(&self) -> String {
        let dial = |number: &str| -> String {
            let number = if number.starts_with('+') {
                number.replace("(0)", "")
            } else {
                number.to_owned()
            };
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

/// The numbers `notice` asks to call or text, in order: a number right
/// after "call", "phone", "dial" or "ring" (or in Spanish "llame",
/// "llamar", "marque", "marcar": to call), "text" (or "envíe un mensaje de
/// texto": to text), or both
/// ("call or text 988", "llame o marque"), with up to four words between
/// ("ring the nurse line on …", "llame al 911"). Only numbers said so become links: a year, a date
/// or office hours never do. A number is groups of digits, one bracketed
/// ("(555) 123-4567", "+44 (0)20 7946 0958"), joined by one space, dash or
/// dot, holding 3 to 15 digits; what follows it ("(24/7)", "- 24 hours")
/// is not part of it.
pub(crate) fn ways_to_reach(notice: &str) -> Vec<Reach> {
    // Spanish says "to text" in four words: one verb here.
    let mut notice = super::lowercase(notice);
    for phrase in [
        "envíe un mensaje de texto",
        "envie un mensaje de texto",
        "mande un mensaje de texto",
    ] {
        notice = notice.replace(phrase, "text");
    }
    let chars: Vec<char> = notice.chars().collect();
    let mut ways = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !super::is_letter(chars[i]) {
            i += 1;
            continue;
        }
        let (word, after_word) = word_at(&chars, i);
        i = after_word;
        let Some((mut call, mut text)) = verb(&word) else {
            continue;
        };
        // "call or text", "text or call"
        let mut after_verbs = after_word;
        loop {
            let (joiner, after_joiner) = word_at(&chars, skip_spaces(&chars, after_verbs));
            if !matches!(joiner.as_str(), "or" | "and" | "o" | "y") {
                break;
            }
            let (next, after_next) = word_at(&chars, skip_spaces(&chars, after_joiner));
            let Some((also_call, also_text)) = verb(&next) else {
                break;
            };
            call |= also_call;
            text |= also_text;
            after_verbs = after_next;
        }
        let mut at = skip_spaces(&chars, after_verbs);
        for _ in 0..4 {
            let (between, after_between) = word_at(&chars, at);
            if between.is_empty() || verb(&between).is_some() {
                break;
            }
            at = skip_spaces(&chars, after_between);
        }
        let Some((number, after_number)) = number_at(&chars, at) else {
            continue;
        };
        i = after_number;
        let found = [
            call.then(|| Reach::Call(number.clone())),
            text.then_some(Reach::Text(number)),
        ];
        for way in found.into_iter().flatten() {
            if !ways.contains(&way) {
                ways.push(way);
            }
        }
    }
    ways
}

/// Whether `word` asks to call, to text.
fn verb(word: &str) -> Option<(bool, bool)> {
    match word {
        "call" | "phone" | "dial" | "ring" | "llame" | "llamar" | "marque" | "marcar" => {
            Some((true, false))
        }
        "text" => Some((false, true)),
        _ => None,
    }
}

/// The word (letters, lowercased) at `at`, and where it ends.
fn word_at(chars: &[char], at: usize) -> (String, usize) {
    let mut end = at;
    while chars.get(end).is_some_and(|c| super::is_letter(*c)) {
        end += 1;
    }
    let word = chars
        .get(at..end)
        .unwrap_or_default()
        .iter()
        .collect::<String>();
    (super::lowercase(&word), end)
}

fn skip_spaces(chars: &[char], mut at: usize) -> usize {
    while chars.get(at) == Some(&' ') {
        at += 1;
    }
    at
}

/// A group of digits at `at`, bare or bracketed: where it ends, how many
/// digits, whether bracketed.
fn group_at(chars: &[char], at: usize) -> Option<(usize, usize, bool)> {
    let bracketed = chars.get(at) == Some(&'(');
    let mut end = if bracketed { at + 1 } else { at };
    let first = end;
    while chars.get(end).is_some_and(char::is_ascii_digit) {
        end += 1;
    }
    let digits = end - first;
    if digits == 0 {
        return None;
    }
    if bracketed {
        if chars.get(end) != Some(&')') {
            return None;
        }
        end += 1;
    }
    Some((end, digits, bracketed))
}

/// The written number at `at` and where it ends (see [`ways_to_reach`]).
fn number_at(chars: &[char], at: usize) -> Option<(String, usize)> {
    let start = at;
    let mut end = if chars.get(at) == Some(&'+') {
        at + 1
    } else {
        at
    };
    let (mut after, mut digits, mut bracketed) = group_at(chars, end)?;
    end = after;
    loop {
        // "(0)20": digits straight after a bracketed group.
        if bracketed && let Some(next) = group_at(chars, end).filter(|g| !g.2) {
            (after, bracketed) = (next.0, false);
            digits += next.1;
            end = after;
            continue;
        }
        let separated = matches!(chars.get(end), Some(' ' | '-' | '.'));
        match group_at(chars, end + 1).filter(|_| separated) {
            Some(next) => {
                (end, bracketed) = (next.0, next.2);
                digits += next.1;
            }
            None => break,
        }
    }
    (3..=15)
        .contains(&digits)
        .then(|| (chars[start..end].iter().collect(), end))
}

/// The notice (`urgent`: the draft may describe an emergency).
#[component]
#[allow(unreachable_pub)]
pub(crate) fn EmergencyNotice(#[prop(optional)] urgent: bool) -> impl IntoView {
    // The clinic's own words when the relay has sent them; the default
    // otherwise (before the clinic's details arrive, or offline).
    let clinic = use_context::<Session>().map(|session| session.inbox().clinic);
    let own = move || {
        clinic
            .and_then(|c| c.get())
            .map(|info| info.emergency_notice)
            .filter(|notice| !notice.trim().is_empty())
    };
    let text = move || own().unwrap_or_else(|| t(Text::EmergencyDefaultNotice).to_owned());
    // The default's links come from its English, whatever language it is
    // read in; a clinic's own notice (in the language shown, where the
    // relay has it) from its own words, which know Spanish's "llame".
    let ways = move || ways_to_reach(&own().unwrap_or_else(|| DEFAULT_NOTICE.to_owned()));
    view! {
        <div class=if urgent { "emergency urgent" } else { "emergency" } role=if urgent { "alert" } else { "note" }>
            <strong>{text}</strong>
            {tr(Text::EmergencyNotWatched)}
            <p class="emergency-links">
                {move || ways().into_iter().map(|way| view! {
                    <a class="button danger" href=way.href()>{way.label()}</a>
                }).collect_view()}
            </p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The English shown for the default notice is the one its links are
    /// made from.
    #[test]
    fn the_default_notice_is_the_catalogues() {
        assert_eq!(t(Text::EmergencyDefaultNotice), DEFAULT_NOTICE);
    }

    /// A clinic's notice written in Spanish gets its call links too.
    #[test]
    fn the_relays_spanish_default_is_called_and_texted_as_it_says() {
        assert_eq!(
            ways_to_reach(
                "Si es una emergencia, llame al 911. Si tiene una crisis de salud mental, llame o envíe un mensaje de texto al 988."
            ),
            [
                Reach::Call("911".into()),
                Reach::Call("988".into()),
                Reach::Text("988".into()),
            ]
        );
    }

    #[test]
    fn a_spanish_notice_is_called_as_it_says() {
        assert_eq!(
            ways_to_reach("En caso de emergencia, llame al 911 o marque el (555) 123-4567."),
            [
                Reach::Call("911".into()),
                Reach::Call("(555) 123-4567".into()),
            ]
        );
    }

    #[test]
    fn each_number_is_called_and_texted_as_the_notice_says() {
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
        assert_eq!(ways[1].href(), "tel:+442079460958");
        assert_eq!(Reach::Text("988".into()).href(), "sms:988");
        assert_eq!(Reach::Text("988".into()).label(), "Text 988");
        // Each number to call or text as its own words say.
        assert_eq!(
            ways_to_reach("In an emergency call 911, or text 988."),
            [Reach::Call("911".into()), Reach::Text("988".into())]
        );
        // What follows a number is not part of it.
        for notice in [
            "Call or text 988 (24/7).",
            "Call or text 988 (our demo notice).",
            "Call or text 988 - 24 hours.",
        ] {
            assert_eq!(
                ways_to_reach(notice),
                [Reach::Call("988".into()), Reach::Text("988".into())],
                "{notice}"
            );
        }
        assert_eq!(
            ways_to_reach("Call (555) 123-4567 (8 am to 5 pm), or dial 1.800.273.8255."),
            [
                Reach::Call("(555) 123-4567".into()),
                Reach::Call("1.800.273.8255".into()),
            ]
        );
        // Numbers nobody is asked to call are not links; a lone digit is
        // not a number.
        assert!(
            ways_to_reach(
                "Open since 2019, 8 am to 5 pm, closed 24-26 December. Call us in 2 days."
            )
            .is_empty()
        );
    }
}
