//! Every text the patient reads, in English or Spanish.
//!
//! The catalogue (`src/i18n/catalogue/*.json`, English and Spanish side by
//! side) is turned by `build.rs` into the [`Text`] and [`Plural`] keys: a
//! screen names a key, never a literal, so a missing key is a compile
//! error and a missing translation a build error. No text is compiled
//! into the wasm: each language is a file (`/en.json`, `/es.json`, written
//! from the catalogue and precached by the service worker, so it works
//! offline), and the client fetches the one it shows before it draws
//! anything. That keeps the wasm the same size whatever languages Ward
//! speaks (docs/benchmarks.md).
//!
//! The language comes from the saved preference, else the browser's
//! languages, else English. [`set`] changes it live: texts are read
//! through [`t`] inside closures that track it, and `<html lang>` follows.

mod relay_words;
#[cfg(test)]
mod tests;
mod time;

pub(crate) use relay_words::{device_name, log_detail};
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
    /// Each language's table once fetched (by [`Lang`] order), kept for
    /// the page's lifetime.
    static TABLES: [Cell<Option<&'static [String]>>; 2] = const { [Cell::new(None), Cell::new(None)] };
}

/// The language shown (tracked: a closure reading it re-renders on change).
pub fn lang() -> Lang {
    LANG.with(|lang| lang.get())
}

/// The language shown, read without tracking it.
pub fn lang_untracked() -> Lang {
    LANG.with(|lang| lang.get_untracked())
}

/// The text for `key` in the language shown.
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
    let form = key as usize + usize::from(!plural_is_one(n));
    substitute(slot(form), values).replace("{n}", &n.to_string())
}

fn slot(index: usize) -> &'static str {
    text_in(lang(), index)
        .or_else(|| text_in(Lang::En, index))
        .unwrap_or_default()
}

#[cfg(not(test))]
fn text_in(lang: Lang, index: usize) -> Option<&'static str> {
    TABLES
        .with(|tables| tables[lang as usize].get())
        .and_then(|table| table.get(index))
        .map(String::as_str)
}

/// Host tests read the tables compiled in for them (nothing to fetch).
#[cfg(test)]
fn text_in(lang: Lang, index: usize) -> Option<&'static str> {
    match lang {
        Lang::En => EN.get(index).copied(),
        Lang::Es => ES.get(index).copied(),
    }
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

/// Fetches the starting language's texts before anything is shown (so a
/// Spanish reader never sees English flash first). `false` when not even
/// English could be fetched: there is nothing to show words with.
pub async fn start() -> bool {
    let lang = initial();
    show(lang).await || (lang != Lang::En && show(Lang::En).await)
}

/// Switches to `lang` and remembers it on this device (a preference, not
/// a secret). Where its texts cannot be fetched (offline before the app
/// was ever installed) nothing changes, and `false` says so.
pub async fn set(lang: Lang) -> bool {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(PREF_KEY, lang.tag());
    }
    show(lang).await
}

async fn show(lang: Lang) -> bool {
    let loaded = TABLES.with(|tables| tables[lang as usize].get().is_some());
    if !loaded {
        let Some(body) = fetch_file(lang).await else {
            return false;
        };
        if !install(lang, &body) {
            return false;
        }
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

/// `/en.json` or `/es.json` as fetched: the `?v=` asks past any HTTP cache
/// for this build's, and the service worker answers with its own build's by
/// path.
async fn fetch_file(lang: Lang) -> Option<String> {
    let url = format!("/{}.json?v={VERSION}", lang.tag());
    let response = gloo_net::http::Request::get(&url).send().await.ok()?;
    if !response.ok() {
        return None;
    }
    response.text().await.ok()
}

/// Keeps `lang`'s table from a language file's text:
/// `{"version", "text": [...]}` in the catalogue's slot order, read with the
/// browser's `JSON.parse`. One from another build (a stale cache) is
/// refused, not misread: `false`. (The browser tests give the file this
/// way, having no server for it.)
pub fn install(lang: Lang, file: &str) -> bool {
    use wasm_bindgen::JsCast as _;
    let table = (|| {
        let parsed = js_sys::JSON::parse(file).ok()?;
        let version = js_sys::Reflect::get(&parsed, &"version".into())
            .ok()?
            .as_string()?;
        let text: js_sys::Array = js_sys::Reflect::get(&parsed, &"text".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let table: Vec<String> = text.iter().filter_map(|t| t.as_string()).collect();
        (version == VERSION && table.len() == SLOTS).then_some(table)
    })();
    let Some(table) = table else {
        return false;
    };
    let table: &'static [String] = Box::leak(table.into_boxed_slice());
    TABLES.with(|tables| tables[lang as usize].set(Some(table)));
    true
}
