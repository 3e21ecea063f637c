//! What the relay writes in English into the access log, in the language
//! shown. The log's entries are hashed as written, so the relay keeps its
//! words ("Chrome on Android", [`ward_proto::account::device_description`];
//! "key history seq 3"); the client reads the few shapes they come in and
//! says them again in the patient's language. Browser and system names,
//! and anything not in one of the shapes, are shown as written.

use super::{Text, fill, t};

/// `english`, a device description the relay wrote, in the language shown.
/// Anything not in one of its shapes is shown as written.
pub(crate) fn device_name(english: &str) -> String {
    match english {
        "the clinic agent" => t(Text::DeviceClinicAgent).into(),
        "an unknown browser" => t(Text::DeviceUnknownBrowser).into(),
        _ => match english.strip_prefix("a browser on ") {
            Some(system) => fill(Text::DeviceSomeBrowserOn, &[("system", system)]),
            None => match english.split_once(" on ") {
                Some((browser, system)) => fill(
                    Text::DeviceBrowserOn,
                    &[("browser", browser), ("system", system)],
                ),
                None => english.to_owned(),
            },
        },
    }
}

/// An access-log entry's detail the relay wrote: "key history seq 3",
/// "vault version 2" (`crates/relay/src/history.rs`, `routes/vault.rs`).
pub(crate) fn log_detail(english: &str) -> String {
    let said = |key, prefix: &str| {
        english
            .strip_prefix(prefix)
            .map(|number| fill(key, &[("number", number)]))
    };
    said(Text::ActivityKeySeq, "key history seq ")
        .or_else(|| said(Text::ActivityVaultVersion, "vault version "))
        .unwrap_or_else(|| english.to_owned())
}

#[cfg(test)]
mod tests {
    use super::{device_name, log_detail};
    use crate::i18n::{Lang, show_in_test};

    #[test]
    fn each_shape_the_relay_writes_is_said_in_the_language_shown() {
        let shapes = [
            (
                "Chrome on Android",
                "Chrome on Android",
                "Chrome en Android",
            ),
            (
                "a browser on Linux",
                "a browser on Linux",
                "un navegador en Linux",
            ),
            (
                "an unknown browser",
                "an unknown browser",
                "un navegador desconocido",
            ),
            (
                "the clinic agent",
                "the clinic agent",
                "el programa de la clínica",
            ),
            ("Safari", "Safari", "Safari"),
        ];
        for (written, en, es) in shapes {
            show_in_test(Lang::En);
            assert_eq!(device_name(written), en);
            show_in_test(Lang::Es);
            assert_eq!(device_name(written), es, "{written}");
        }
        show_in_test(Lang::En);
    }

    #[test]
    fn the_details_the_relay_writes_are_said_in_the_language_shown() {
        show_in_test(Lang::Es);
        assert_eq!(
            log_detail("key history seq 3"),
            "historial de claves, número 3"
        );
        assert_eq!(
            log_detail("vault version 12"),
            "versión 12 del almacén de claves"
        );
        assert_eq!(log_detail("Kitchen tablet"), "Kitchen tablet");
        show_in_test(Lang::En);
        assert_eq!(log_detail("key history seq 3"), "key history seq 3");
        assert_eq!(log_detail("vault version 12"), "vault version 12");
    }

    #[test]
    fn the_relay_writes_only_shapes_the_client_reads() {
        use ward_proto::account::device_description;
        show_in_test(Lang::Es);
        for agent in [
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36",
            "Mozilla/5.0 (X11; Linux x86_64)",
            "curl/8.0",
            "ward-clinic/0.1",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Safari/605.1.15",
        ] {
            let english = device_description(agent);
            let shown = device_name(&english);
            assert!(
                !shown.contains(" on ")
                    && !shown.starts_with("a ")
                    && !shown.starts_with("an ")
                    && !shown.starts_with("the "),
                "{agent}: {english} shown as {shown}"
            );
        }
        show_in_test(Lang::En);
    }
}
