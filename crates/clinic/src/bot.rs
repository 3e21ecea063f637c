//! What the demo clinic's bot (`ward-clinic bot`) answers: a triage
//! nurse's first reply for the thread's category, worded a little
//! differently each time, with quick replies that fit it, and the advice to
//! call 911 (or the clinic) when the patient mentions a red-flag symptom.
//! It never diagnoses, and every reply starts with [`DEMO_MARK`], so nobody
//! mistakes the bot for the care team.
//!
//! [`reply`] is a pure function of what the patient wrote (or chose) and a
//! seed (the message's seq), so consecutive replies in a thread differ and
//! tests can predict them; [`typing_delay`] is how long the bot shows
//! "typing…" before sending one.

use std::fmt;
use std::time::Duration;

use ward_proto::threads::Category;
use zeroize::Zeroizing;

/// How every bot reply starts: it is a demo, not the care team.
pub const DEMO_MARK: &str = "(Demo reply) ";

/// The longest quick-reply label the bot offers, in characters (a button on
/// a narrow phone).
pub const MAX_LABEL_CHARS: usize = 25;

/// The shortest time the bot shows "typing…" before a reply.
pub const MIN_TYPING: Duration = Duration::from_millis(1_500);

/// The longest time the bot shows "typing…" before a reply.
pub const MAX_TYPING: Duration = Duration::from_millis(3_000);

/// What the patient sent since the clinic last wrote in the thread.
#[derive(Clone, Copy)]
pub struct Incoming<'a> {
    /// What the thread is about.
    pub category: Category,
    /// The sender's name as the thread shows it (`Sam`, or `Dana for Sam`
    /// for a caregiver); its first word greets them when it is a plain name.
    pub sender_name: &'a str,
    /// Everything the patient wrote themselves (not quick replies they
    /// chose), decrypted: read for what it is about and for red flags.
    pub text: &'a str,
    /// When their latest message chose one of the clinic's quick replies:
    /// its label (the text a client sends for a chosen quick reply).
    pub chosen: Option<&'a str>,
    /// Picks the wording: the message's seq, so the next message in the
    /// thread gets different words.
    pub seed: u64,
}

/// Without the patient's words or name: they are health data, and must not
/// reach a log through a `{:?}`.
impl fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("category", &self.category)
            .field("chosen", &self.chosen.is_some())
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

/// The bot's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The message text, starting with [`DEMO_MARK`].
    pub text: String,
    /// Quick replies to offer (each at most [`MAX_LABEL_CHARS`]); may be
    /// empty where the conversation has come to a natural end.
    pub quick_replies: Vec<String>,
}

/// How long to show "typing…" before sending `reply`: [`MIN_TYPING`] plus
/// a little per character, at most [`MAX_TYPING`], as a person types a
/// short answer.
pub fn typing_delay(reply: &Reply) -> Duration {
    let chars = u64::try_from(reply.text.chars().count()).unwrap_or(u64::MAX);
    let extra = Duration::from_millis(chars.saturating_mul(5));
    MIN_TYPING.saturating_add(extra).min(MAX_TYPING)
}

/// The bot's answer to `incoming`: for a chosen quick reply, an answer to
/// that choice; otherwise a triage nurse's first answer for what the
/// patient wrote about (the thread's category, or the topic their words
/// name in a general thread). Red-flag words add the advice to call 911
/// (or 988, or the clinic); nothing is diagnosed.
pub fn reply(incoming: &Incoming<'_>) -> Reply {
    let words = words(incoming.text);
    let seed = incoming.seed;
    let name = first_name(incoming.sender_name);
    let flag = red_flag(&words);
    let mut parts: Vec<String> = Vec::new();
    let quick_replies;
    match incoming.chosen {
        Some(label) => {
            parts.push(pick(&["Got it.", "Thanks.", "Okay.", "Thank you."], seed).to_owned());
            parts.extend(flag.urgent_advice().map(str::to_owned));
            let (text, offers) = answer_choice(label, seed);
            parts.push(text);
            quick_replies = offers;
        }
        None => {
            let topic = topic(incoming.category, &words);
            if topic == Topic::Thanks {
                parts.push(thanks(name, seed));
                quick_replies = Vec::new();
            } else {
                parts.push(opener(name, seed));
                parts.extend(flag.urgent_advice().map(str::to_owned));
                let (text, offers) = first_answer(topic, &words, seed);
                parts.push(text);
                quick_replies = offers;
            }
        }
    }
    parts.extend(flag.symptom_advice().map(str::to_owned));
    if incoming.chosen.is_none() {
        parts.push(
            pick(
                &[
                    "Take care.",
                    "Talk soon.",
                    "Thanks for your patience.",
                    "We'll be in touch.",
                    "Best wishes.",
                ],
                seed,
            )
            .to_owned(),
        );
    }
    Reply {
        text: format!("{DEMO_MARK}{}", parts.join(" ")),
        quick_replies: quick_replies.into_iter().map(str::to_owned).collect(),
    }
}

/// What a free-text message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Topic {
    /// Booking a visit.
    Book,
    /// Moving one.
    Reschedule,
    /// Cancelling one.
    Cancel,
    /// A prescription refill.
    Refill,
    /// Test results.
    Results,
    /// Bills and insurance.
    Billing,
    /// A question for the care team.
    Question,
    /// Something private.
    Confidential,
    /// Not clear yet: ask.
    Unclear,
    /// Only thanks (or "ok").
    Thanks,
}

/// The topic of `words` in a thread of `category`: the category's own, but
/// a question or general thread goes by what the words name.
fn topic(category: Category, words: &str) -> Topic {
    if is_only_thanks(words) {
        return Topic::Thanks;
    }
    let appointment = || {
        if mentions(words, CANCEL) {
            Topic::Cancel
        } else if mentions(words, RESCHEDULE) {
            Topic::Reschedule
        } else {
            Topic::Book
        }
    };
    let named = || {
        if mentions(words, APPOINTMENT) || mentions(words, CANCEL) || mentions(words, RESCHEDULE) {
            Some(appointment())
        } else if mentions(words, REFILL) {
            Some(Topic::Refill)
        } else if mentions(words, RESULTS) {
            Some(Topic::Results)
        } else if mentions(words, BILLING) {
            Some(Topic::Billing)
        } else {
            None
        }
    };
    match category {
        Category::Appointment => appointment(),
        Category::Refill => Topic::Refill,
        Category::Billing => Topic::Billing,
        Category::Confidential => Topic::Confidential,
        Category::Question => named().unwrap_or(Topic::Question),
        Category::Other => named().unwrap_or(Topic::Unclear),
    }
}

/// Words that name an appointment.
const APPOINTMENT: &[&str] = &["appointment", "appointments", "book", "visit", "checkup"];
/// Words that cancel one.
const CANCEL: &[&str] = &["cancel", "cancelling", "canceling", "cant make it"];
/// Words that move one.
const RESCHEDULE: &[&str] = &[
    "reschedule",
    "move my",
    "change my appointment",
    "different time",
    "another time",
    "postpone",
];
/// Words that name a refill.
const REFILL: &[&str] = &[
    "refill",
    "refills",
    "prescription",
    "prescriptions",
    "pharmacy",
    "medication",
    "medicine",
    "meds",
    "inhaler",
];
/// Words that name test results.
const RESULTS: &[&str] = &[
    "result",
    "results",
    "lab",
    "labs",
    "test",
    "tests",
    "bloodwork",
    "blood work",
    "x ray",
    "xray",
    "scan",
    "mri",
    "ultrasound",
    "biopsy",
];
/// Words that name a bill.
const BILLING: &[&str] = &[
    "bill",
    "bills",
    "billing",
    "invoice",
    "insurance",
    "payment",
    "charge",
    "charged",
    "copay",
    "statement",
];
/// Words that say a medicine is running out.
const RUNNING_LOW: &[&str] = &[
    "empty",
    "ran out",
    "run out",
    "running out",
    "running low",
    "almost out",
    "nearly out",
    "last pill",
    "last dose",
    "none left",
];

/// The bot's two pairs of example slots: (button, as written in a sentence).
const SLOTS: [[(&str, &str); 2]; 2] = [
    [
        ("Tue 9:30 am", "Tuesday at 9:30 am"),
        ("Thu 2:15 pm", "Thursday at 2:15 pm"),
    ],
    [
        ("Wed 10:00 am", "Wednesday at 10:00 am"),
        ("Fri 3:30 pm", "Friday at 3:30 pm"),
    ],
];
/// Morning and afternoon slots, offered after "Other times".
const MORNINGS: [(&str, &str); 2] = [
    ("Mon 8:45 am", "Monday at 8:45 am"),
    ("Wed 10:00 am", "Wednesday at 10:00 am"),
];
const AFTERNOONS: [(&str, &str); 2] = [
    ("Mon 4:00 pm", "Monday at 4:00 pm"),
    ("Thu 2:15 pm", "Thursday at 2:15 pm"),
];

/// Every slot's button and sentence.
fn all_slots() -> impl Iterator<Item = (&'static str, &'static str)> {
    SLOTS
        .into_iter()
        .flatten()
        .chain(MORNINGS)
        .chain(AFTERNOONS)
}

/// The quick replies offering `slots`, then "Other times".
fn slot_offers(slots: [(&'static str, &'static str); 2]) -> Vec<&'static str> {
    vec![slots[0].0, slots[1].0, "Other times"]
}

/// "Hi Sam, thanks for your message." and its variants.
fn opener(name: Option<&str>, seed: u64) -> String {
    match (pick(&[0, 1, 2], seed), name) {
        (0, Some(name)) => format!("Hi {name}, thanks for your message."),
        (1, Some(name)) => format!("Hello {name}, thank you for getting in touch."),
        (_, Some(name)) => format!("Thanks for writing in, {name}."),
        (0, None) => "Hi, thanks for your message.".to_owned(),
        (1, None) => "Hello, thank you for getting in touch.".to_owned(),
        (_, None) => "Thanks for writing in.".to_owned(),
    }
}

/// The answer to a message that only thanks.
fn thanks(name: Option<&str>, seed: u64) -> String {
    let to = name.map(|n| format!(", {n}")).unwrap_or_default();
    match pick(&[0, 1, 2], seed) {
        0 => format!("You're welcome{to}! Message us here any time."),
        1 => format!("Glad we could help{to}."),
        _ => format!("Anytime{to}: we're here if you need anything else."),
    }
}

/// A triage nurse's first answer about `topic`, and its quick replies.
fn first_answer(topic: Topic, words: &str, seed: u64) -> (String, Vec<&'static str>) {
    let variant = pick(&[0, 1], seed);
    let slots = pick(&SLOTS, seed);
    let [(_, first), (_, second)] = slots;
    match topic {
        Topic::Book if variant == 0 => (
            format!(
                "I can help you book a visit. We have openings on {first} and {second}. Would either of those work, or which days suit you best?"
            ),
            slot_offers(slots),
        ),
        Topic::Book => (
            format!(
                "Happy to find you a time. Which days and times usually work best for you? The next openings are {first} and {second}."
            ),
            slot_offers(slots),
        ),
        Topic::Reschedule => (
            format!(
                "{} Which appointment is it (its date and time)? I can offer {first} or {second} instead.",
                pick(&["No problem, we can move it.", "Of course, let's find a better time."], seed)
            ),
            slot_offers(slots),
        ),
        Topic::Cancel => (
            pick(
                &[
                    "I can cancel that for you. Which appointment is it (its date and time)? If you'd like to rebook, just tell me which days suit you.",
                    "Sorry you can't make it. Please tell me the date and time of the appointment and I'll cancel it. Would you like to pick a new time while we're at it?",
                ],
                seed,
            )
            .to_owned(),
            vec!["Cancel it", "Reschedule instead"],
        ),
        Topic::Refill => {
            let mut text = pick(
                &[
                    "To send a refill request to your clinician, please tell me the medicine's name and dose, and which pharmacy to send it to. Refills take up to 2 business days once we have those details.",
                    "I can start a refill request for you. Which medicine and dose is it, and should it go to the pharmacy we have on file? Please allow up to 2 business days for the pharmacy to have it ready.",
                ],
                seed,
            )
            .to_owned();
            if mentions(words, RUNNING_LOW) {
                text.push_str(" Since you're running low, I'll mark it as time-sensitive; if you will run out before then, please call the clinic.");
            }
            (text, vec!["Same pharmacy", "Different pharmacy", "Call me back"])
        }
        Topic::Results => (
            pick(
                &[
                    "Results are reviewed by your clinician first; they'll then contact you to go over them, usually within 3 business days of us receiving them. If anything needs attention sooner, they'll call you.",
                    "Your clinician reviews every result before it is released, so it can take a few business days. If something needs follow-up they'll contact you directly; otherwise you'll get a message here once they have looked at it.",
                ],
                seed,
            )
            .to_owned(),
            vec!["Call me when ready", "Message me here"],
        ),
        Topic::Billing => (
            pick(
                &[
                    "Questions about bills and insurance are handled by our billing office, so I've passed this on to them. They usually reply within 2 business days; having your statement or account number handy will help.",
                    "I've forwarded this to our billing office, who look after bills, payments and insurance. They'll reply here within 2 business days. Would a phone call be easier?",
                ],
                seed,
            )
            .to_owned(),
            vec!["Call me back", "Reply here only", "Payment plan"],
        ),
        Topic::Question => (
            pick(
                &[
                    "A nurse will read it and reply within one business day. Could you add any details that would help them, such as how long this has been going on, or which medicine or appointment it is about?",
                    "I've passed your question to the care team, and a nurse will answer within one business day. Is there anything else they should know, like how long it's been going on or what you've tried already?",
                ],
                seed,
            )
            .to_owned(),
            vec!["Add more details", "Call me back", "It can wait"],
        ),
        Topic::Confidential => (
            pick(
                &[
                    "Thank you for trusting us with this. A nurse will read it personally and reply within one business day. Would you like us to answer here, or would a phone call be better?",
                    "A nurse on your care team will read this and reply within one business day. Is it okay for us to call you about it, or would you rather we only reply here?",
                ],
                seed,
            )
            .to_owned(),
            vec!["Reply here only", "Call me back"],
        ),
        Topic::Unclear => (
            pick(
                &[
                    "So I can pass this to the right person, could you tell me a little more? Is it about an appointment, a prescription, a bill, or something else?",
                    "I want to make sure this reaches the right person on the team. What is it mostly about: an appointment, a prescription, a bill, or something else?",
                ],
                seed,
            )
            .to_owned(),
            vec!["Appointment", "Prescription", "Billing", "Something else"],
        ),
        Topic::Thanks => (thanks(None, seed), Vec::new()),
    }
}

/// The answer to the quick reply labelled `label`, and what it offers next.
/// A label the bot never offers gets a plain acknowledgement.
fn answer_choice(label: &str, seed: u64) -> (String, Vec<&'static str>) {
    let key = label.trim().trim_end_matches(['.', '!']).to_lowercase();
    if let Some((_, when)) = all_slots().find(|(button, _)| button.eq_ignore_ascii_case(&key)) {
        return (
            format!(
                "You're booked for {when} (this is a demo: no real appointment was made). Please arrive 10 minutes early and bring your insurance card and a list of your medicines."
            ),
            Vec::new(),
        );
    }
    let said = |text: &str| text.to_owned();
    match key.as_str() {
        "book an appointment" | "appointment" => first_answer(Topic::Book, "", seed),
        "prescription" => first_answer(Topic::Refill, "", seed),
        "billing" => first_answer(Topic::Billing, "", seed),
        "reschedule instead" | "reschedule" => (
            said("Let's find you a new time. Which suits you better, mornings or afternoons?"),
            vec!["Mornings", "Afternoons"],
        ),
        "other times" => (
            said("Which suits you better, mornings or afternoons? I'll find the closest openings."),
            vec!["Mornings", "Afternoons"],
        ),
        "mornings" => (
            format!(
                "Our next morning openings are {} and {}. Would either work?",
                MORNINGS[0].1, MORNINGS[1].1
            ),
            slot_offers(MORNINGS),
        ),
        "afternoons" => (
            format!(
                "Our next afternoon openings are {} and {}. Would either work?",
                AFTERNOONS[0].1, AFTERNOONS[1].1
            ),
            slot_offers(AFTERNOONS),
        ),
        "cancel it" => (
            said(
                "I've noted the cancellation (this is a demo: nothing was actually cancelled). Message us here whenever you'd like to book again.",
            ),
            vec!["Book an appointment"],
        ),
        "call me back" => (
            said(
                "A nurse will call you at the number we have on file, usually within one business day. If a different number or time is better, reply here with it.",
            ),
            Vec::new(),
        ),
        "call me when ready" => (
            said(
                "We'll call you once your clinician has reviewed your results. If your number has changed, reply here with the new one.",
            ),
            Vec::new(),
        ),
        "message me here" => (
            said("We'll message you here as soon as your clinician has reviewed your results."),
            Vec::new(),
        ),
        "same pharmacy" => (
            said(
                "We'll send it to the pharmacy we have on file. If you haven't yet, please tell me the medicine's name and dose; refills take up to 2 business days.",
            ),
            Vec::new(),
        ),
        "different pharmacy" => (
            said(
                "Please reply with the pharmacy's name and address or phone number, and we'll send the refill there.",
            ),
            Vec::new(),
        ),
        "add more details" => (
            said("Go ahead and type them below; the nurse will read everything together."),
            Vec::new(),
        ),
        "it can wait" => (
            said(
                "Thanks for letting us know. A nurse will reply within one business day; if anything changes, message us here or call the clinic.",
            ),
            Vec::new(),
        ),
        "reply here only" => (
            said("Understood: we'll only reply here in the app, not by phone."),
            Vec::new(),
        ),
        "payment plan" => (
            said(
                "The billing office can set up monthly payments. They'll reply here with the options within 2 business days.",
            ),
            Vec::new(),
        ),
        "something else" => (
            said(
                "Of course. Tell me in your own words what you need, and I'll make sure the right person sees it.",
            ),
            vec!["Call me back"],
        ),
        _ => (
            said("We have your answer. A nurse will follow up if we need anything else."),
            Vec::new(),
        ),
    }
}

/// How urgent the patient's words sound (without diagnosing anything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RedFlag {
    /// Nothing that calls for advice.
    None,
    /// A symptom: call the clinic if it is severe or getting worse.
    Symptom,
    /// A possible emergency: call 911 now.
    Emergency,
    /// Thoughts of self-harm: call or text 988, or 911.
    Crisis,
}

/// Words that speak of self-harm.
const CRISIS: &[&str] = &[
    "suicide",
    "suicidal",
    "kill myself",
    "killing myself",
    "end my life",
    "hurt myself",
    "harm myself",
    "self harm",
    "want to die",
];
/// Words that may mean an emergency.
const EMERGENCY: &[&str] = &[
    "chest",
    "bleeding",
    "bleed",
    "bleeds",
    "cant breathe",
    "cannot breathe",
    "can not breathe",
    "trouble breathing",
    "difficulty breathing",
    "short of breath",
    "shortness of breath",
    "breathless",
    "faint",
    "fainted",
    "fainting",
    "passed out",
    "unconscious",
    "seizure",
    "seizures",
    "stroke",
    "overdose",
    "overdosed",
];
/// Words for a symptom.
const SYMPTOM: &[&str] = &[
    "pain",
    "pains",
    "painful",
    "hurts",
    "hurting",
    "ache",
    "aches",
    "aching",
    "headache",
    "migraine",
    "fever",
    "feverish",
    "temperature",
    "vomit",
    "vomiting",
    "throwing up",
    "nausea",
    "dizzy",
    "dizziness",
    "rash",
    "swelling",
    "swollen",
    "infection",
    "infected",
    "cough",
    "coughing",
    "worse",
];

/// The most urgent red flag in `words`.
fn red_flag(words: &str) -> RedFlag {
    if mentions(words, CRISIS) {
        RedFlag::Crisis
    } else if mentions(words, EMERGENCY) {
        RedFlag::Emergency
    } else if mentions(words, SYMPTOM) {
        RedFlag::Symptom
    } else {
        RedFlag::None
    }
}

impl RedFlag {
    /// Said first, before anything else: call now.
    fn urgent_advice(self) -> Option<&'static str> {
        match self {
            Self::Crisis => Some(
                "If you are thinking about hurting yourself, please call or text 988 (Suicide & Crisis Lifeline) or call 911 now; you don't have to wait for us.",
            ),
            Self::Emergency => Some(
                "If you have chest pain, trouble breathing, heavy bleeding or feel faint right now, call 911; please don't wait for a reply here.",
            ),
            Self::Symptom | Self::None => None,
        }
    }

    /// Said after the answer: when to call rather than wait.
    fn symptom_advice(self) -> Option<&'static str> {
        (self == Self::Symptom).then_some(
            "If it is severe or getting worse, please call the clinic now, or 911 in an emergency: this inbox is not watched around the clock.",
        )
    }
}

/// Words that only thank or acknowledge.
const THANKS: &[&str] = &[
    "thanks", "thank", "you", "u", "ok", "okay", "k", "great", "perfect", "cheers", "ty", "thx",
    "got", "it", "sounds", "good", "alright", "awesome", "much", "so", "very", "that", "helps",
    "noted", "will", "do", "many",
];

/// Whether `words` only thank or acknowledge (at most eight of them).
fn is_only_thanks(words: &str) -> bool {
    let mut count = 0;
    for word in words.split_whitespace() {
        count += 1;
        if count > 8 || !THANKS.contains(&word) {
            return false;
        }
    }
    count > 0
}

/// `text` lowercased as its words between single spaces, with a space at
/// either end (`" can t breathe "` is `" cant breathe "`: apostrophes are
/// dropped), so [`mentions`] matches whole words and phrases only. Wiped on
/// drop: it is what the patient wrote.
fn words(text: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(text.len() + 2));
    out.push(' ');
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if matches!(c, '\'' | '\u{2019}') {
            // "can't" is "cant".
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

/// Whether `words` (from [`words`]) holds any of `phrases` as whole words.
fn mentions(words: &str, phrases: &[&str]) -> bool {
    phrases
        .iter()
        .any(|phrase| words.contains(&format!(" {phrase} ")))
}

/// The first word of `sender_name` when it reads as a name (letters,
/// hyphens and apostrophes, at most 30): `Dana` of `Dana for Sam`.
fn first_name(sender_name: &str) -> Option<&str> {
    let first = sender_name.split_whitespace().next()?;
    let plain = first.chars().count() <= 30
        && first
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, '-' | '\''));
    plain.then_some(first)
}

/// One of `options`, by `seed` (the default if there are none).
fn pick<T: Copy + Default>(options: &[T], seed: u64) -> T {
    u64::try_from(options.len())
        .ok()
        .and_then(|len| seed.checked_rem(len))
        .and_then(|index| usize::try_from(index).ok())
        .and_then(|index| options.get(index))
        .copied()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(category: Category, text: &str, seed: u64) -> Reply {
        reply(&Incoming {
            category,
            sender_name: "Sam",
            text,
            chosen: None,
            seed,
        })
    }

    fn chose(label: &str, seed: u64) -> Reply {
        reply(&Incoming {
            category: Category::Question,
            sender_name: "Sam",
            text: "",
            chosen: Some(label),
            seed,
        })
    }

    /// Messages with no keyword in them, as a patient might open a thread.
    const PLAIN: [&str; 3] = ["Hello", "Hi, could someone help me with this?", ""];

    /// Every reply the tests look at: each category's to plain and keyword
    /// messages, and the answer to every quick reply the bot offers.
    fn every_reply() -> Vec<Reply> {
        let mut replies = Vec::new();
        let texts = [
            PLAIN.as_slice(),
            &[
                "I need to cancel Friday",
                "Can we reschedule?",
                "My inhaler is empty",
                "Any news on my lab results?",
                "Question about my bill",
                "I have chest pain",
                "fever since Monday",
                "thanks!",
            ],
        ]
        .concat();
        for category in Category::ALL {
            for text in &texts {
                for seed in 0..30 {
                    replies.push(written(category, text, seed));
                }
            }
        }
        for label in offered_labels() {
            for seed in 0..4 {
                replies.push(chose(&label, seed));
            }
        }
        replies.push(chose("Thanks!", 0));
        replies
    }

    /// Every quick-reply label the bot offers, first answers and answers
    /// to choices alike.
    fn offered_labels() -> Vec<String> {
        let mut labels: Vec<String> = Vec::new();
        let mut queue: Vec<Reply> = Category::ALL
            .iter()
            .flat_map(|&category| {
                [
                    "Hello",
                    "cancel",
                    "reschedule",
                    "lab results",
                    "refill",
                    "bill",
                ]
                .into_iter()
                .flat_map(move |text| (0..2).map(move |seed| written(category, text, seed)))
            })
            .collect();
        while let Some(next) = queue.pop() {
            for label in next.quick_replies {
                if !labels.contains(&label) {
                    for seed in 0..2 {
                        queue.push(chose(&label, seed));
                    }
                    labels.push(label);
                }
            }
        }
        labels
    }

    #[test]
    fn each_category_gets_its_own_kind_of_answer() {
        for text in PLAIN {
            for seed in 0..4 {
                let answer = |category| written(category, text, seed);
                let appointment = answer(Category::Appointment);
                assert!(appointment.text.contains("openings"), "{appointment:?}");
                assert!(
                    appointment
                        .quick_replies
                        .iter()
                        .any(|l| all_slots().any(|(button, _)| button == l)),
                    "{appointment:?}"
                );
                let refill = answer(Category::Refill);
                assert!(
                    refill.text.contains("medicine")
                        && refill.text.contains("pharmacy")
                        && refill.text.contains("2 business days"),
                    "{refill:?}"
                );
                assert!(refill.quick_replies.contains(&"Same pharmacy".to_owned()));
                let question = answer(Category::Question);
                assert!(
                    question.text.contains("one business day") && question.text.contains('?'),
                    "{question:?}"
                );
                let billing = answer(Category::Billing);
                assert!(billing.text.contains("billing office"), "{billing:?}");
                assert!(billing.quick_replies.contains(&"Payment plan".to_owned()));
                let confidential = answer(Category::Confidential);
                assert!(
                    confidential.text.contains("reply within one business day"),
                    "{confidential:?}"
                );
                // A general thread: a clarifying question, with the topics.
                let other = answer(Category::Other);
                assert!(
                    other
                        .text
                        .contains("an appointment, a prescription, a bill"),
                    "{other:?}"
                );
                assert_eq!(
                    other.quick_replies,
                    ["Appointment", "Prescription", "Billing", "Something else"]
                );
                // Each category's answer is its own.
                let all: Vec<Reply> = Category::ALL.into_iter().map(answer).collect();
                for (i, a) in all.iter().enumerate() {
                    for b in &all[i + 1..] {
                        assert_ne!(a.text, b.text);
                    }
                }
            }
        }
    }

    #[test]
    fn what_the_patient_writes_steers_the_answer() {
        // Appointments: booking, moving, cancelling.
        let cancel = written(Category::Appointment, "I can't make it, please cancel", 1);
        assert!(cancel.text.contains("cancel"), "{cancel:?}");
        assert_eq!(cancel.quick_replies, ["Cancel it", "Reschedule instead"]);
        let moved = written(Category::Appointment, "Could I reschedule Tuesday?", 1);
        assert!(moved.text.contains("instead"), "{moved:?}");
        // Results, in a question thread: the clinician reviews them first.
        let results = written(Category::Question, "Are my blood work results back?", 0);
        assert!(results.text.contains("clinician"), "{results:?}");
        assert!(results.text.contains("review"), "{results:?}");
        let results = written(Category::Other, "x-ray results?", 1);
        assert!(results.text.contains("clinician reviews"), "{results:?}");
        // A general thread about a refill gets the refill answer.
        let refill = written(Category::Other, "I need a refill of my meds", 0);
        assert!(refill.text.contains("pharmacy"), "{refill:?}");
        // Running low is noticed.
        let low = written(Category::Refill, "My inhaler is almost empty", 0);
        assert!(low.text.contains("running low"), "{low:?}");
        assert!(
            !written(Category::Refill, "Refill please", 0)
                .text
                .contains("running low")
        );
        // Thanks gets a short answer and no buttons.
        let thanks = written(Category::Refill, "Ok, thank you!", 0);
        assert!(thanks.text.contains("welcome"), "{thanks:?}");
        assert!(!thanks.text.contains("pharmacy") && thanks.quick_replies.is_empty());
        // The patient is greeted by name; a caregiver by theirs.
        assert!(written(Category::Billing, "Hi", 0).text.contains("Hi Sam,"));
        let dana = reply(&Incoming {
            category: Category::Billing,
            sender_name: "Dana for Sam",
            text: "Hi",
            chosen: None,
            seed: 0,
        });
        assert!(dana.text.contains("Hi Dana,"), "{dana:?}");
        let odd = reply(&Incoming {
            sender_name: "\u{202e}Mallory",
            ..Incoming {
                category: Category::Billing,
                sender_name: "",
                text: "Hi",
                chosen: None,
                seed: 0,
            }
        });
        assert!(odd.text.starts_with("(Demo reply) Hi, thanks"), "{odd:?}");
    }

    #[test]
    fn consecutive_messages_in_a_thread_get_different_wording() {
        for category in Category::ALL {
            for text in PLAIN.iter().chain(&["thanks", "I have a fever"]) {
                // A thanks has fewer wordings than a first answer.
                let gaps = if *text == "thanks" { 1..15 } else { 1..30 };
                for seed in 0..100 {
                    let this = written(category, text, seed);
                    // The next message is seq + 1 (the patient wrote twice),
                    // or further on after the bot's own replies.
                    for gap in gaps.clone() {
                        assert_ne!(this.text, written(category, text, seed + gap).text);
                    }
                }
            }
        }
        for label in offered_labels() {
            for seed in 0..10 {
                for gap in 1..4 {
                    assert_ne!(chose(&label, seed).text, chose(&label, seed + gap).text);
                }
            }
        }
    }

    #[test]
    fn every_reply_is_marked_as_a_demo() {
        for answer in every_reply() {
            assert!(answer.text.starts_with(DEMO_MARK), "{answer:?}");
            assert_eq!(answer.text.matches(DEMO_MARK).count(), 1, "{answer:?}");
        }
    }

    #[test]
    fn quick_replies_are_short_and_non_empty() {
        for answer in every_reply() {
            assert!(answer.quick_replies.len() <= 4, "{answer:?}");
            for (i, label) in answer.quick_replies.iter().enumerate() {
                assert!(
                    !label.trim().is_empty() && label.chars().count() <= MAX_LABEL_CHARS,
                    "{label:?}"
                );
                assert!(!answer.quick_replies[i + 1..].contains(label), "{answer:?}");
            }
        }
        // A first answer always offers some.
        for category in Category::ALL {
            for text in PLAIN {
                assert!(!written(category, text, 3).quick_replies.is_empty());
            }
        }
    }

    #[test]
    fn every_offered_quick_reply_gets_an_answer_of_its_own() {
        let fallback = chose("a label the bot never offers", 0).text;
        assert!(fallback.contains("We have your answer"), "{fallback}");
        let labels = offered_labels();
        assert!(labels.len() >= 20, "{labels:?}");
        // The one pair of labels that mean the same.
        let same = |a: &str, b: &str| {
            let mut pair = [a, b];
            pair.sort_unstable();
            pair == ["Appointment", "Book an appointment"]
        };
        let mut answers: Vec<(String, String)> = Vec::new();
        for label in &labels {
            let answer = chose(label, 0).text;
            assert_ne!(answer, fallback, "{label}");
            for (other, theirs) in &answers {
                assert!(
                    *theirs != answer || same(label, other),
                    "{label}, {other}: {answer}"
                );
            }
            // Whatever case or punctuation the client sends it with.
            assert_eq!(
                chose(&format!(" {}! ", label.to_uppercase()), 0).text,
                answer
            );
            answers.push((label.clone(), answer));
        }
    }

    #[test]
    fn booking_offers_two_slots_and_a_slot_books_it() {
        let book = chose("Book an appointment", 0);
        assert_eq!(
            book.quick_replies,
            ["Tue 9:30 am", "Thu 2:15 pm", "Other times"]
        );
        assert!(
            book.text
                .contains("Tuesday at 9:30 am and Thursday at 2:15 pm")
        );
        let booked = chose("Thu 2:15 pm", 5);
        assert!(
            booked.text.contains("booked for Thursday at 2:15 pm")
                && booked.text.contains("no real appointment was made"),
            "{booked:?}"
        );
        let other = chose("Other times", 0);
        assert_eq!(other.quick_replies, ["Mornings", "Afternoons"]);
        let mornings = chose("Mornings", 0);
        assert_eq!(
            mornings.quick_replies,
            ["Mon 8:45 am", "Wed 10:00 am", "Other times"]
        );
        let call = chose("Call me back", 0);
        assert!(call.text.contains("call you"), "{call:?}");
        assert!(call.quick_replies.is_empty());
    }

    #[test]
    fn red_flags_add_the_advice_to_call() {
        for category in Category::ALL {
            for text in [
                "I have chest pain",
                "There's bleeding that won't stop",
                "I can't breathe properly",
                "I fainted this morning",
            ] {
                let answer = written(category, text, 0);
                assert!(answer.text.contains("call 911"), "{answer:?}");
                // Said first, right after the greeting; the rest as without.
                let plain = written(category, "Hello", 0).text;
                let greeting = plain.find('.').unwrap() + 1;
                assert_eq!(answer.text[..greeting], plain[..greeting]);
                let (advice, rest) = answer.text[greeting..].split_at(
                    answer.text[greeting..]
                        .find("911; please don't wait for a reply here.")
                        .unwrap()
                        + 40,
                );
                assert!(advice.starts_with(" If you have chest pain"), "{answer:?}");
                assert_eq!(rest, &plain[greeting..]);
            }
            for text in [
                "I have a fever",
                "my knee hurts",
                "The pain is worse",
                "a rash",
            ] {
                let answer = written(category, text, 1);
                assert!(
                    answer.text.contains("call the clinic now, or 911"),
                    "{answer:?}"
                );
            }
            let crisis = written(category, "I want to hurt myself", 2);
            assert!(crisis.text.contains("988"), "{crisis:?}");
            for text in PLAIN.iter().chain(&["I like painting", "Back from Spain"]) {
                let answer = written(category, text, 0);
                assert!(!answer.text.contains("911"), "{text}: {answer:?}");
            }
        }
        // Also with a chosen quick reply, for what was written before it.
        let answer = reply(&Incoming {
            category: Category::Question,
            sender_name: "Sam",
            text: "my chest feels tight",
            chosen: Some("Call me back"),
            seed: 0,
        });
        assert!(answer.text.contains("call 911"), "{answer:?}");
        assert!(!chose("Call me back", 0).text.contains("911"));
    }

    #[test]
    fn the_typing_delay_looks_human() {
        let short = Reply {
            text: "Ok".into(),
            quick_replies: Vec::new(),
        };
        assert_eq!(typing_delay(&short), Duration::from_millis(1_510));
        let typical = written(Category::Refill, "Hello", 0);
        let delay = typing_delay(&typical);
        assert!(
            delay > typing_delay(&short) && delay <= MAX_TYPING,
            "{delay:?}"
        );
        let long = Reply {
            text: "word ".repeat(1_000),
            quick_replies: Vec::new(),
        };
        assert_eq!(typing_delay(&long), MAX_TYPING);
    }

    #[test]
    fn debug_shows_no_patient_words() {
        let incoming = Incoming {
            category: Category::Confidential,
            sender_name: "Sam",
            text: "something private",
            chosen: None,
            seed: 3,
        };
        let shown = format!("{incoming:?}");
        assert!(
            !shown.contains("private") && !shown.contains("Sam"),
            "{shown}"
        );
    }
}
