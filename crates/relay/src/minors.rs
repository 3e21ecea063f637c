//! Minors: a patient's birth date, as the clinic recorded it
//! (`PUT /v1/accounts/{id}/birth-date`), and the ages at which the
//! relay's rules change. From 13 to 17 a guardian the clinic appointed
//! waits for the patient's own agreement (`POST
//! /v1/caregivers/{id}/assent`) before anything is shared with them.

use time::{Date, Month, OffsetDateTime};

/// The youngest age whose agreement a guardian waits for.
pub const ASSENT_FROM: i32 = 13;
/// The age at which a patient is no longer a minor.
pub const ADULT_AT: i32 = 18;

/// `text` as a birth date: `YYYY-MM-DD`, a real day, from 1900 on and not
/// after `now_ms`; else what is wrong, for a person.
pub fn parse(text: &str, now_ms: i64) -> Result<Date, &'static str> {
    const SHAPE: &str = "Write the birth date as YYYY-MM-DD, for example 2011-05-04.";
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return Err(SHAPE);
    }
    let number = |range: std::ops::Range<usize>| {
        text.get(range)
            .filter(|part| part.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|part| part.parse::<u16>().ok())
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return Err(SHAPE);
    };
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or("That month does not exist: use 01 to 12.")?;
    let date = u8::try_from(day)
        .ok()
        .and_then(|d| Date::from_calendar_date(i32::from(year), month, d).ok())
        .ok_or("That day does not exist in that month.")?;
    if year < 1900 {
        return Err("A birth date before 1900 is not accepted: check the year.");
    }
    if date > today(now_ms) {
        return Err("A birth date cannot be in the future.");
    }
    Ok(date)
}

/// The calendar day (UTC) at `now_ms`.
fn today(now_ms: i64) -> Date {
    OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000))
        .map_or(Date::MIN, OffsetDateTime::date)
}

/// Whole years from `birth` to the day of `now_ms` (UTC).
pub fn age(birth: Date, now_ms: i64) -> i32 {
    let today = today(now_ms);
    let years = today.year() - birth.year();
    if (u8::from(today.month()), today.day()) < (u8::from(birth.month()), birth.day()) {
        years - 1
    } else {
        years
    }
}

/// Whether a patient born on `birth_date` (as stored) is 13 to 17 at
/// `now_ms`. A date that does not parse counts as none.
pub fn is_teen(birth_date: Option<&str>, now_ms: i64) -> bool {
    birth_date
        .and_then(|text| parse(text, now_ms).ok())
        .map(|birth| age(birth, now_ms))
        .is_some_and(|age| (ASSENT_FROM..ADULT_AT).contains(&age))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// 2026-12-03T12:00:00Z.
    const NOW: i64 = 1_796_299_200_000;

    #[test]
    fn ages_turn_on_the_birthday() {
        let birth = parse("2013-12-03", NOW).unwrap();
        assert_eq!(age(birth, NOW), 13);
        assert!(is_teen(Some("2013-12-03"), NOW));
        assert!(!is_teen(Some("2013-12-04"), NOW), "12 until tomorrow");
        assert!(is_teen(Some("2008-12-04"), NOW), "17 until tomorrow");
        assert!(!is_teen(Some("2008-12-03"), NOW), "18 today");
        assert!(!is_teen(None, NOW));
        assert_eq!(age(parse("2012-02-29", NOW).unwrap(), NOW), 14);
    }

    #[test]
    fn bad_dates_say_what_is_wrong() {
        for (text, says) in [
            ("2011-5-4", "YYYY-MM-DD"),
            ("20110504xx", "YYYY-MM-DD"),
            ("2011-13-04", "month"),
            ("2011-02-30", "day"),
            ("1899-12-31", "1900"),
            ("2027-01-01", "future"),
            ("+011-05-04", "YYYY-MM-DD"),
        ] {
            let error = parse(text, NOW).unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
    }
}
