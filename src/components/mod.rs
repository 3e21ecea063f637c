//! Small view pieces shared by screens.

pub(crate) mod attachment;
pub(crate) mod code;
pub(crate) mod composer;
pub(crate) mod consent;
pub(crate) mod emergency;
pub(crate) mod language;
pub(crate) mod list;
pub(crate) mod notice;
pub(crate) mod qr;
pub(crate) mod relay_status;
pub(crate) mod viewport;

/// `text` in lower case, by the browser's Unicode rules
/// (`String.prototype.toLowerCase`): Rust's `to_lowercase` would carry its
/// own Unicode case tables into the client (about 10 KB gzip with
/// `to_uppercase`, docs/benchmarks.md) for what every browser has.
#[cfg(target_arch = "wasm32")]
pub(crate) fn lowercase(text: &str) -> String {
    js_sys::JsString::from(text).to_lower_case().into()
}

/// The same, for the native unit tests (there is no browser there).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn lowercase(text: &str) -> String {
    text.to_lowercase()
}

/// Whether `c` is a letter (Unicode's Alphabetic property), by the
/// browser's rules (`/\p{Alphabetic}/u`): Rust's `char::is_alphabetic`
/// would carry its own Unicode table into the client (docs/benchmarks.md).
/// ASCII is answered here.
#[cfg(target_arch = "wasm32")]
pub(crate) fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    js_sys::RegExp::new(r"^\p{Alphabetic}$", "u").test(c.encode_utf8(&mut [0; 4]))
}

/// The same, for the native unit tests (there is no browser there).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn is_letter(c: char) -> bool {
    c.is_alphabetic()
}

/// Sorts `list` by `key`, stably: items with equal keys keep their order.
///
/// Size: each `sort_by_key` on another item type compiles the standard
/// library's stable sort again (3–4 KB of wasm each, five of them in the
/// client). Here one sort of `(key, position)` pairs serves every caller,
/// and only the moving of items into that order is per type
/// (docs/benchmarks.md).
pub(crate) fn sort_by_u64<T>(list: &mut Vec<T>, key: impl Fn(&T) -> u64) {
    let mut order: Vec<(u64, usize)> = list.iter().map(key).zip(0..).collect();
    sort_pairs(&mut order);
    let mut items: Vec<Option<T>> = list.drain(..).map(Some).collect();
    list.extend(
        order
            .iter()
            .filter_map(|&(_, at)| items.get_mut(at)?.take()),
    );
}

/// Never inlined, so that there is one copy of the sort (positions are
/// distinct, so an unstable sort of the pairs is a stable sort of the items).
#[inline(never)]
fn sort_pairs(order: &mut [(u64, usize)]) {
    order.sort_unstable();
}

#[cfg(test)]
mod tests {
    use super::sort_by_u64;

    #[test]
    fn sort_by_u64_is_stable() {
        let mut list = vec![(3, 'a'), (1, 'b'), (3, 'c'), (0, 'd'), (1, 'e')];
        sort_by_u64(&mut list, |(key, _)| *key);
        assert_eq!(list, [(0, 'd'), (1, 'b'), (1, 'e'), (3, 'a'), (3, 'c')]);
        sort_by_u64(&mut list, |(key, _)| !*key);
        assert_eq!(list, [(3, 'a'), (3, 'c'), (1, 'b'), (1, 'e'), (0, 'd')]);
    }
}
