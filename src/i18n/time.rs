//! Dates and times in the language shown, by the browser's `Intl` (which
//! knows every locale's order, month names and "yesterday"), in the
//! patient's own time zone.

use js_sys::{Array, Date, Intl, Object, Reflect};
use wasm_bindgen::JsValue;

use super::{Text, lang, t};

fn options(pairs: &[(&str, &str)]) -> Object {
    let options = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&options, &(*k).into(), &(*v).into());
    }
    options
}

fn locales() -> Array {
    Array::of1(&lang().tag().into())
}

fn date(unix_ms: u64) -> Date {
    Date::new(&JsValue::from_f64(unix_ms as f64))
}

fn format(unix_ms: u64, pairs: &[(&str, &str)]) -> String {
    let formatter = Intl::DateTimeFormat::new(&locales(), &options(pairs));
    formatter
        .format()
        .call1(&JsValue::NULL, &date(unix_ms))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// "yesterday", "today" ("ayer", "hoy"): `days` from today.
fn relative(value: f64, unit: &str) -> String {
    let formatter = Intl::RelativeTimeFormat::new(&locales(), &options(&[("numeric", "auto")]));
    String::from(formatter.format(value, unit))
}

/// Whole local days from `unix_ms`'s day to today's (0 today, 1 yesterday).
fn days_ago(unix_ms: u64) -> i64 {
    let start = |d: &Date| {
        Date::new_with_year_month_day(d.get_full_year(), d.get_month() as i32, d.get_date() as i32)
            .get_time()
    };
    let then = start(&date(unix_ms));
    let today = start(&Date::new_0());
    // A local day is 23–25 hours around a clock change: round.
    ((today - then) / 86_400_000.0).round() as i64
}

/// A message's time: "14:02" today, "yesterday 14:02", else "3 Mar, 14:02"
/// (each in the language's own order and clock).
pub(crate) fn time_label(unix_ms: u64) -> String {
    let clock = format(unix_ms, &[("hour", "numeric"), ("minute", "2-digit")]);
    match days_ago(unix_ms) {
        0 => clock,
        1 => format!("{} {clock}", relative(-1.0, "day")),
        _ => format(
            unix_ms,
            &[
                ("month", "short"),
                ("day", "numeric"),
                ("hour", "numeric"),
                ("minute", "2-digit"),
            ],
        ),
    }
}

/// The heading above a day's messages: "Today", "Yesterday", else
/// "Tuesday, 3 March".
pub(crate) fn day_heading(unix_ms: u64) -> String {
    match days_ago(unix_ms) {
        days @ 0..=1 => capitalised(&relative(-(days as f64), "day")),
        _ => format(
            unix_ms,
            &[("weekday", "long"), ("month", "long"), ("day", "numeric")],
        ),
    }
}

/// "3 Mar" (or the language's order), for key-change notices.
pub(crate) fn short_date(unix_seconds: u64) -> String {
    format(
        unix_seconds.saturating_mul(1000),
        &[("month", "short"), ("day", "numeric")],
    )
}

/// "3 Mar 2026, 14:05": a full date and time.
pub(crate) fn local_time(unix_seconds: u64) -> String {
    format(
        unix_seconds.saturating_mul(1000),
        &[
            ("year", "numeric"),
            ("month", "short"),
            ("day", "numeric"),
            ("hour", "numeric"),
            ("minute", "2-digit"),
        ],
    )
}

/// "just now" or "5 minutes ago" within the last hour, else [`local_time`].
pub(crate) fn since(unix_seconds: u64) -> String {
    let now = (js_sys::Date::now() / 1000.0) as u64;
    match minutes_ago(now, unix_seconds) {
        Some(0) => t(Text::TimeJustNow).to_owned(),
        Some(minutes) => relative(-(minutes as f64), "minute"),
        None => local_time(unix_seconds),
    }
}

/// Whole minutes from `then` to `now` if under an hour (a clock a little
/// ahead of the relay's reads as 0, "just now").
pub(super) fn minutes_ago(now: u64, then: u64) -> Option<u64> {
    let seconds = now.saturating_sub(then);
    (seconds < 3600).then_some(seconds / 60)
}

/// The first letter in capitals, by the browser's Unicode rules (Rust's
/// `to_uppercase` would carry its case tables into the client).
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        let first: String = js_sys::JsString::from(first.to_string().as_str())
            .to_upper_case()
            .into();
        first + chars.as_str()
    })
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::{day_heading, time_label};
    use crate::i18n::{Lang, show_in_test};
    use js_sys::Date;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// Noon `days` days before today, local time (clear of midnight and of
    /// a clock change).
    fn noon_days_ago(days: u32) -> u64 {
        let today = Date::new_0();
        Date::new_with_year_month_day_hr_min(
            today.get_full_year(),
            today.get_month() as i32,
            today.get_date() as i32 - days as i32,
            12,
            0,
        )
        .get_time() as u64
    }

    #[wasm_bindgen_test]
    fn yesterday_and_today_are_said_in_the_language_shown() {
        let yesterday = noon_days_ago(1);
        show_in_test(Lang::Es);
        let label = time_label(yesterday);
        assert!(label.starts_with("ayer "), "{label}");
        assert_eq!(day_heading(noon_days_ago(0)), "Hoy");
        assert_eq!(day_heading(yesterday), "Ayer");
        show_in_test(Lang::En);
        let label = time_label(yesterday);
        assert!(label.starts_with("yesterday "), "{label}");
        assert_eq!(day_heading(yesterday), "Yesterday");
        let older = time_label(noon_days_ago(3));
        assert!(
            !older.contains("yesterday") && older.contains(':'),
            "{older}"
        );
    }
}
