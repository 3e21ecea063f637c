//! `List`: Leptos's keyed `<For>`, compiled once for every screen.
//!
//! Size: `<For>` is generic over its list, key and row closures, so each of
//! the client's eleven lists compiled Leptos's keyed update (which rows
//! stay, move, come and go) again. `List` takes the same three props but
//! hands `<For>` the same types every time: each row keyed by a `String`,
//! with its drawing waiting in a boxed closure. Only the small adapter
//! below is compiled per list (docs/benchmarks.md).

use leptos::prelude::*;

/// One row as `<For>` sees it: its key, and how to draw it.
struct Row {
    key: String,
    draw: Box<dyn FnOnce() -> AnyView + Send>,
}

/// A keyed list, as `<For each key let:item>`: a row is drawn once for
/// each new key and kept (not drawn again) while its key stays. Keys are
/// strings: a row keyed by several values builds its key with [`row_key`].
#[component]
#[allow(unreachable_pub)]
pub(crate) fn List<E, I, T, K, C, N>(each: E, key: K, children: C) -> impl IntoView
where
    E: Fn() -> I + Send + Sync + 'static,
    I: IntoIterator<Item = T>,
    T: Send + 'static,
    K: Fn(&T) -> String + Send + Sync + 'static,
    C: Fn(T) -> N + Clone + Send + Sync + 'static,
    N: IntoView + 'static,
{
    let each: Box<dyn Fn() -> Vec<Row> + Send> = Box::new(move || {
        each()
            .into_iter()
            .map(|item| {
                let children = children.clone();
                Row {
                    key: key(&item),
                    draw: Box::new(move || children(item).into_any()),
                }
            })
            .collect()
    });
    let key_of: fn(&Row) -> String = |row| row.key.clone();
    let draw: fn(Row) -> AnyView = |row| (row.draw)();
    For(ForProps::builder()
        .each(each)
        .key(key_of)
        .children(draw)
        .build())
}

/// A list key made of several values, each written whole and told apart by
/// its length, so that two different rows never get the same key.
pub(crate) fn row_key(parts: &[&str]) -> String {
    let mut key = String::new();
    for part in parts {
        key.push_str(&part.len().to_string());
        key.push(':');
        key.push_str(part);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::row_key;

    #[test]
    fn keys_of_different_parts_differ() {
        assert_ne!(row_key(&["ab", "c"]), row_key(&["a", "bc"]));
        assert_ne!(row_key(&["a:", "b"]), row_key(&["a", ":b"]));
        assert_eq!(row_key(&["id", "7"]), row_key(&["id", "7"]));
    }
}
