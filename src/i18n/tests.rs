//! The catalogue itself: both languages whole, and `public/en.json` and
//! `public/es.json` written from this build's tables.

use super::{EN, ES, Lang, SLOTS, VERSION, substitute, time::minutes_ago};

fn language_file(table: &[&str]) -> String {
    let table = serde_json::json!({ "version": VERSION, "text": table });
    let mut text = serde_json::to_string_pretty(&table).unwrap_or_default();
    text.push('\n');
    text
}

/// `WARD_WRITE_CATALOGUE=1 cargo test -p ward --lib i18n` rewrites them.
#[test]
fn the_language_files_are_this_catalogues() {
    for (name, table) in [("public/en.json", &EN[..]), ("public/es.json", &ES[..])] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
        let wanted = language_file(table);
        if std::env::var_os("WARD_WRITE_CATALOGUE").is_some() {
            std::fs::write(&path, &wanted).unwrap();
        }
        let found = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            found == wanted,
            "{name} is not this catalogue's: run `WARD_WRITE_CATALOGUE=1 cargo test -p ward --lib i18n` and commit it"
        );
    }
}

#[test]
fn every_text_is_in_both_languages() {
    assert_eq!(EN.len(), SLOTS);
    assert_eq!(ES.len(), SLOTS);
    for (en, es) in EN.iter().zip(ES.iter()) {
        assert!(
            !en.trim().is_empty() && !es.trim().is_empty(),
            "{en:?} / {es:?}"
        );
    }
}

#[test]
fn placeholders_are_filled_and_unknown_ones_kept() {
    assert_eq!(
        substitute("Hi {name}, {n} new", &[("name", "Ana"), ("n", "3")]),
        "Hi Ana, 3 new"
    );
    assert_eq!(substitute("{missing} and {", &[]), "{missing} and {");
    assert_eq!(substitute("no braces", &[("x", "y")]), "no braces");
}

#[test]
fn a_browser_language_tag_picks_a_language() {
    assert_eq!(Lang::from_tag("es-MX"), Some(Lang::Es));
    assert_eq!(Lang::from_tag("ES"), Some(Lang::Es));
    assert_eq!(Lang::from_tag("en_GB"), Some(Lang::En));
    assert_eq!(Lang::from_tag("fr-FR"), None);
    assert_eq!(Lang::from_tag(""), None);
}

#[test]
fn the_last_hour_counts_in_minutes() {
    assert_eq!(minutes_ago(1_000, 1_000), Some(0));
    assert_eq!(
        minutes_ago(1_000, 1_030),
        Some(0),
        "a clock ahead reads as now"
    );
    assert_eq!(minutes_ago(1_000, 930), Some(1));
    assert_eq!(minutes_ago(10_000, 10_000 - 59 * 60), Some(59));
    assert_eq!(minutes_ago(10_000, 10_000 - 3600), None);
}
