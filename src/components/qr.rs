//! A QR code drawn as inline SVG (no image request, no script).

use leptos::prelude::*;
use qrcode::QrCode;
use qrcode::render::svg;

/// `text` as a QR code, labelled for screen readers by `label` (a text, or
/// `tr(Text::…)` to follow the language).
#[component]
#[allow(unreachable_pub)]
pub(crate) fn QrCodeImage(text: String, #[prop(into)] label: Signal<String>) -> impl IntoView {
    let svg = QrCode::new(text.as_bytes())
        .map(|code| {
            code.render::<svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default();
    view! { <div class="qr" role="img" aria-label=label inner_html=svg></div> }
}
