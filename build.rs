//! Turns the text catalogue (`src/i18n/catalogue/*.json`) into Rust: the
//! `Text` and `Plural` key enums and, for the tests, the English and
//! Spanish tables that `public/en.json` and `public/es.json` are written
//! from (the client fetches its language's file: no text is compiled in). A key missing in either language, an
//! empty text, or a translation whose `{placeholders}` differ from the
//! English ones stops the build, naming the key.
//!
//! A catalogue file is one JSON object; each key is `snake_case`, unique
//! across all files, and holds `{"en": …, "es": …}` (and an optional
//! `"note"` for the translator). A text is a string, or for a count
//! `{"one": …, "other": …}` chosen by the language's plural rules.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hasher};
use std::path::Path;

use serde_json::Value;

const DIR: &str = "src/i18n/catalogue";

/// One key's texts: a plain text is one slot, a counted one two (one, other).
struct Entry {
    key: String,
    en: Vec<String>,
    es: Vec<String>,
}

fn main() {
    println!("cargo:rerun-if-changed={DIR}");
    let entries = match read(Path::new(DIR)) {
        Ok(entries) => entries,
        Err(problem) => {
            // A build script reports by failing; the message names the key.
            eprintln!("text catalogue: {problem}");
            std::process::exit(1);
        }
    };
    let out = std::env::var_os("OUT_DIR").map(std::path::PathBuf::from);
    let Some(out) = out else {
        eprintln!("text catalogue: OUT_DIR is not set");
        std::process::exit(1);
    };
    if let Err(e) = std::fs::write(out.join("catalogue.rs"), generate(&entries)) {
        eprintln!("text catalogue: cannot write catalogue.rs: {e}");
        std::process::exit(1);
    }
}

fn read(dir: &Path) -> Result<Vec<Entry>, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut all = BTreeMap::new();
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
        let Value::Object(keys) = value else {
            return Err(format!("{} must be one JSON object", path.display()));
        };
        for (key, texts) in keys {
            let entry =
                entry(&key, &texts).map_err(|e| format!("{}: `{key}`: {e}", path.display()))?;
            if all.insert(key.clone(), entry).is_some() {
                return Err(format!("`{key}` is in two catalogue files"));
            }
        }
    }
    Ok(all.into_values().collect())
}

fn entry(key: &str, texts: &Value) -> Result<Entry, String> {
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err("a key is lowercase letters, digits and `_`".into());
    }
    let Value::Object(texts) = texts else {
        return Err("must be {\"en\": …, \"es\": …}".into());
    };
    for name in texts.keys() {
        if !matches!(name.as_str(), "en" | "es" | "note") {
            return Err(format!("unknown field `{name}` (only en, es, note)"));
        }
    }
    let en = slots(texts.get("en")).map_err(|e| format!("English: {e}"))?;
    let es = slots(texts.get("es")).map_err(|e| format!("Spanish: {e}"))?;
    if en.len() != es.len() {
        return Err("one language counts (one/other) and the other does not".into());
    }
    for (en, es) in en.iter().zip(&es) {
        let (a, b) = (placeholders(en), placeholders(es));
        if a != b {
            return Err(format!("placeholders differ: English {a:?}, Spanish {b:?}"));
        }
    }
    Ok(Entry {
        key: key.to_owned(),
        en,
        es,
    })
}

fn slots(value: Option<&Value>) -> Result<Vec<String>, String> {
    let texts = match value {
        None => return Err("missing".into()),
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Object(forms)) => {
            if forms.len() != 2 {
                return Err("a count has exactly `one` and `other`".into());
            }
            let form = |name: &str| match forms.get(name) {
                Some(Value::String(text)) => Ok(text.clone()),
                _ => Err(format!("a count needs `{name}` as a string")),
            };
            vec![form("one")?, form("other")?]
        }
        Some(_) => return Err("must be a string or {\"one\", \"other\"}".into()),
    };
    if texts.iter().any(|t| t.trim().is_empty()) {
        return Err("empty".into());
    }
    Ok(texts)
}

/// The `{name}`s in a text, as a set (order may differ between languages;
/// "one" may leave out `{n}` where the language writes the word "one").
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        found.insert(after[..close].to_owned());
        rest = &after[close + 1..];
    }
    found
}

fn camel(key: &str) -> String {
    key.split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

fn generate(entries: &[Entry]) -> String {
    let mut texts = String::new();
    let mut plurals = String::new();
    let mut en = String::new();
    let mut es = String::new();
    let mut hasher = DefaultHasher::new();
    let mut slot = 0usize;
    for entry in entries {
        let doc = entry
            .en
            .last()
            .map_or("", String::as_str)
            .replace('\n', " ");
        let target = if entry.en.len() == 2 {
            &mut plurals
        } else {
            &mut texts
        };
        let _ = writeln!(target, "    /// {doc}\n    {} = {slot},", camel(&entry.key));
        for (e, s) in entry.en.iter().zip(&entry.es) {
            let _ = writeln!(en, "    {e:?},");
            let _ = writeln!(es, "    {s:?},");
            hasher.write(e.as_bytes());
            hasher.write_u8(0);
            hasher.write(s.as_bytes());
            hasher.write_u8(0);
            slot += 1;
        }
    }
    format!(
        "// Generated by build.rs from {DIR}: edit the catalogue, not this.\n\n\
         /// A text the patient reads, in the language chosen (its English is shown).\n\
         #[derive(Clone, Copy, Debug, PartialEq, Eq)]\n#[repr(u16)]\n\
         pub enum Text {{\n{texts}}}\n\n\
         /// A text that says how many, chosen by the language's plural rules.\n\
         #[derive(Clone, Copy, Debug, PartialEq, Eq)]\n#[repr(u16)]\n\
         pub enum Plural {{\n{plurals}}}\n\n\
         /// How many slots the tables have (a count takes two: one, other).\n\
         pub(crate) const SLOTS: usize = {slot};\n\n\
         /// Changes whenever any text does: `public/en.json` and `es.json` carry it.\n\
         pub(crate) const VERSION: &str = \"{:016x}\";\n\n\
         /// English, for the tests that write `public/en.json` (the client fetches it).\n\
         #[cfg(test)]\n\
         pub(crate) static EN: [&str; SLOTS] = [\n{en}];\n\n\
         /// Spanish, for the tests that write `public/es.json` (the client fetches it).\n\
         #[cfg(test)]\n\
         pub(crate) static ES: [&str; SLOTS] = [\n{es}];\n",
        hasher.finish()
    )
}
