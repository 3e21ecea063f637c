//! The client rendered in a real browser (headless Chromium via
//! wasm-bindgen-test). No relay runs here, so the welcome screen must say so
//! plainly.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

fn mount() -> HtmlElement {
    // The test server has no /en.json: the texts are given as the page
    // would fetch them.
    ward::i18n::install(ward::i18n::Lang::En, include_str!("../public/en.json"));
    let document = web_sys::window().unwrap().document().unwrap();
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let handle = leptos::mount::mount_to(root.clone(), ward::app::App);
    // The view lives as long as the test page.
    handle.forget();
    root
}

async fn sleep(duration: Duration) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                &resolve,
                i32::try_from(duration.as_millis()).unwrap(),
            )
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

/// The router renders its first screen a tick after mounting.
async fn find(root: &HtmlElement, selector: &str) -> web_sys::Element {
    for _ in 0..50 {
        if let Some(found) = root.query_selector(selector).unwrap() {
            return found;
        }
        sleep(Duration::from_millis(20)).await;
    }
    root.query_selector(selector)
        .unwrap()
        .expect("the selector matches within a second")
}

#[wasm_bindgen_test]
async fn renders_landmarks_and_heading() {
    let root = mount();
    assert!(root.query_selector("main#main").unwrap().is_some());
    let heading = find(&root, "h1").await;
    assert_eq!(
        heading.text_content().unwrap(),
        "Messages with your care team"
    );
    // "Connecting…" at first; with no relay here, never "Connected".
    let status = find(&root, ".relay-status").await;
    let text = status.text_content().unwrap();
    assert!(!text.is_empty() && !text.contains("Connected"), "{text}");
}

#[wasm_bindgen_test]
async fn says_what_to_do_when_the_relay_does_not_answer() {
    let root = mount();
    // The test server has no /healthz: it answers 404, which must not read
    // as "connected".
    find(&root, ".relay-status").await;
    for _ in 0..50 {
        let status = root.query_selector(".relay-status").unwrap().unwrap();
        if status.get_attribute("data-state").as_deref() != Some("Checking") {
            break;
        }
        sleep(Duration::from_millis(50)).await;
    }
    let status = root.query_selector(".relay-status").unwrap().unwrap();
    assert_ne!(status.get_attribute("data-state").as_deref(), Some("Ready"));
    assert!(status.text_content().unwrap().contains("try again"));
    let retry = root
        .query_selector(".relay-status + button")
        .unwrap()
        .unwrap();
    assert_eq!(retry.text_content().unwrap(), "Try again");
}

#[wasm_bindgen_test]
fn a_language_file_from_another_build_is_refused_not_misread() {
    use ward::i18n::{Lang, install};
    assert!(!install(
        Lang::Es,
        r#"{"version":"0000000000000000","text":["Hola"]}"#
    ));
    assert!(!install(Lang::Es, "not json"));
    assert!(install(Lang::Es, include_str!("../public/es.json")));
}
