//! Every text the patient reads, in English or Spanish.
//!
//! The catalogue (`src/i18n/catalogue/*.json`, English and Spanish side by
//! side) is turned by `build.rs` into the [`Text`] and [`Plural`] keys: a
//! screen names a key, never a literal, so a missing key is a compile
//! error and a missing translation a build error. English is compiled in;
//! Spanish is fetched once as `/es.json` (precached by the service worker,
//! so it works offline) when chosen, which keeps the wasm the size of one
//! language (docs/benchmarks.md).
//!
//! The language comes from the saved preference, else the browser's
//! languages, else English. [`set`] changes it live: texts are read
//! through [`t`] inside closures that track it, and `<html lang>` follows.

#[cfg(test)]
mod tests;
mod time;

pub(crate) use time::{day_heading, local_time, short_date, since, time_label};

use std::cell::Cell;

use leptos::prelude::*;

include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));

const PREF_KEY: &str = "ward.language";

/// A language Ward speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Spanish.
    Es,
}

impl Lang {
    /// Every language, in the order Settings lists them.
    pub(crate) const ALL: [Self; 2] = [Self::En, Self::Es];

    /// The BCP 47 tag (`<html lang>`, `Intl`).
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Es => "es",
        }
    }

    /// The language's own name for itself ("Español"), as a picker shows it.
    pub(crate) fn own_name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Es => "Español",
        }
    }

    /// The language of a tag such as `es-MX` or `en_GB`, if Ward speaks it.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let language = tag.split(['-', '_']).next().unwrap_or_default();
        Self::ALL
            .into_iter()
            .find(|lang| language.eq_ignore_ascii_case(lang.tag()))
    }
}

thread_local! {
    static LANG: ArcRwSignal<Lang> = ArcRwSignal::new(Lang::En);
    /// The Spanish table once fetched: kept for the page's lifetime.
    static SPANISH: Cell<Option<&'static [String]>> = const { Cell::new(None) };
}

/// The language shown (tracked: a closure reading it re-renders on change).
pub fn lang() -> Lang {
    LANG.with(|lang| lang.get())
}

/// The text for `key` in the language shown. Spanish not (yet) fetched
/// reads as English rather than as nothing.
pub fn t(key: Text) -> &'static str {
    slot(key as usize)
}

/// `key` as a view child or attribute that follows the language.
pub fn tr(key: Text) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    move || t(key)
}

/// `key` with its `{name}`s filled in: `fill(Text::Hello, &[("name", n)])`.
pub fn fill(key: Text, values: &[(&str, &str)]) -> String {
    substitute(t(key), values)
}

/// How many of something, in the form the language's plural rules choose
/// for `n`, with `{n}` (and any other `{name}`) filled in.
pub fn count(key: Plural, n: u64, values: &[(&str, &str)]) -> String {
    let one = key as usize;
    let form = if plural_is_one(n) { one } else { one + 1 };
    let number = n.to_string();
    let mut all = vec![("n", number.as_str())];
    all.extend_from_slice(values);
    substitute(slot(form), &all)
}

fn slot(index: usize) -> &'static str {
    let english = EN.get(index).copied().unwrap_or_default();
    match lang() {
        Lang::En => english,
        Lang::Es => spanish(index).unwrap_or(english),
    }
}

#[cfg(not(test))]
fn spanish(index: usize) -> Option<&'static str> {
    SPANISH
        .with(Cell::get)
        .and_then(|table| table.get(index))
        .map(String::as_str)
}

/// Host tests read Spanish from the compiled-in table (nothing to fetch).
#[cfg(test)]
fn spanish(index: usize) -> Option<&'static str> {
    ES.get(index).copied()
}

/// Shows `lang` at once, in a host test (this thread only).
#[cfg(test)]
pub(crate) fn show_in_test(lang: Lang) {
    LANG.with(|signal| signal.set(lang));
}

fn substitute(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            rest = &rest[open..];
            break;
        };
        let name = &after[..close];
        match values.iter().find(|(n, _)| *n == name) {
            Some((_, value)) => out.push_str(value),
            None => {
                out.push('{');
                out.push_str(name);
                out.push('}');
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether `n` takes the "one" form in the language shown, by the
/// browser's plural rules (Spanish "many", for a million, reads as
/// "other").
fn plural_is_one(n: u64) -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        let locales = js_sys::Array::of1(&lang().tag().into());
        let rules = js_sys::Intl::PluralRules::new(&locales, &js_sys::Object::new());
        rules.select(n as f64) == "one"
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        n == 1
    }
}

/// The language to start in: the saved choice, else the first of the
/// browser's languages Ward speaks, else English.
fn initial() -> Lang {
    let window = web_sys::window();
    let saved = window
        .as_ref()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(PREF_KEY).ok().flatten())
        .and_then(|tag| Lang::from_tag(&tag));
    saved
        .or_else(|| {
            let languages = window?.navigator().languages();
            languages
                .iter()
                .filter_map(|tag| tag.as_string())
                .find_map(|tag| Lang::from_tag(&tag))
        })
        .unwrap_or(Lang::En)
}

/// Chooses the starting language before anything is shown (so a Spanish
/// reader never sees English flash first).
pub async fn start() {
    show(initial()).await;
}

/// Switches to `lang` and remembers it on this device (a preference, not
/// a secret). Where Spanish cannot be fetched (offline on a first visit)
/// the texts stay English, and `false` says so.
pub async fn set(lang: Lang) -> bool {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(PREF_KEY, lang.tag());
    }
    show(lang).await
}

async fn show(lang: Lang) -> bool {
    let ready = match lang {
        Lang::En => true,
        Lang::Es => SPANISH.with(Cell::get).is_some() || load_spanish().await,
    };
    if !ready {
        return false;
    }
    LANG.with(|signal| signal.set(lang));
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", lang.tag());
    }
    true
}

/// `public/es.json`: `{"version", "text": [...]}` in the catalogue's slot
/// order. One from another build (a stale cache) is refused, not misread.
#[derive(serde::Deserialize)]
struct Table {
    version: String,
    text: Vec<String>,
}

async fn load_spanish() -> bool {
    let url = format!("/es.json?v={VERSION}");
    let Ok(response) = gloo_net::http::Request::get(&url).send().await else {
        return false;
    };
    let Ok(table) = response.json::<Table>().await else {
        return false;
    };
    if table.version != VERSION || table.text.len() != SLOTS {
        return false;
    }
    let table: &'static [String] = Box::leak(table.text.into_boxed_slice());
    SPANISH.with(|cell| cell.set(Some(table)));
    true
}
