//! The height the app may use: the visual viewport's, which shrinks when
//! the on-screen keyboard opens (Safari on iOS, and browsers that ignore the
//! page's `interactive-widget=resizes-content`), kept as `--app-height` on
//! the root element. The thread screen is that tall, so its composer stays
//! just above the keyboard and only the messages scroll.

use wasm_bindgen::JsCast as _;
use wasm_bindgen::closure::Closure;

/// Follows the visual viewport's height for as long as the page lives.
pub(crate) fn follow_visual_viewport() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(viewport) = window.visual_viewport() else {
        return;
    };
    let root = window
        .document()
        .and_then(|d| d.document_element())
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    let Some(root) = root else {
        return;
    };
    let measured = viewport.clone();
    let set = move || {
        // Times the pinch-zoom scale: zooming in shrinks the visual
        // viewport too, and must not shrink the layout; the keyboard does.
        // Whole pixels: formatting an f64 would add 10 KB to the client.
        let height = (measured.height() * measured.scale()).floor() as i32;
        let _ = root
            .style()
            .set_property("--app-height", &format!("{height}px"));
    };
    set();
    let on_resize = Closure::<dyn Fn()>::new(set);
    let _ = viewport.add_event_listener_with_callback("resize", on_resize.as_ref().unchecked_ref());
    // The page's whole life: nothing to remove it for.
    on_resize.forget();
}
