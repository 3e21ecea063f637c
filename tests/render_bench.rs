//! How fast a thread of 10 000 messages (already decrypted, in memory)
//! goes on the page, in Chromium, release wasm: `cargo xtask bench` runs it
//! and prints the numbers for docs/benchmarks.md. Asserts nothing about
//! speed. Built only with `--features browser-bench`.
#![cfg(all(target_arch = "wasm32", feature = "browser-bench"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use leptos::prelude::*;
use ward::messaging::{Delivery, Shown};
use ward::pages::thread::ThreadView;
use ward::session::Session;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const MESSAGES: usize = 10_000;

fn now() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

async fn frame() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .request_animation_frame(&resolve)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

fn seeded() -> Vec<Shown> {
    let start = 1_700_000_000_000u64;
    (0..MESSAGES)
        .map(|i| Shown {
            seq: Some(i as u64 + 1),
            message_id: format!("m-{i}"),
            sender_id: if i % 3 == 0 {
                "acc-me".into()
            } else {
                "acc-clinic".into()
            },
            sent_at_ms: start + i as u64 * 600_000,
            text: format!("Message number {i}: how are you feeling today after the new dose?"),
            quick_replies: Vec::new(),
            answers_offer: None,
            delivery: (i % 3 == 0).then_some(Delivery::Sent),
            attachments: Vec::new(),
            upload: None,
        })
        .collect()
}

#[wasm_bindgen_test]
async fn a_thread_of_ten_thousand_messages_renders() {
    let window = web_sys::window().unwrap();
    window
        .history()
        .unwrap()
        .push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/threads/bench"))
        .unwrap();
    let document = window.document().unwrap();
    let root: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();

    let seed_start = now();
    let messages = seeded();
    let seed_ms = now() - seed_start;

    let start = now();
    let handle = leptos::mount::mount_to(root.clone(), move || {
        let session = Session::new();
        provide_context(session);
        session.account_id.set(Some("acc-me".into()));
        let inbox = session.inbox();
        inbox.messages.update(|all| {
            all.insert("bench".into(), messages.clone());
        });
        ward::router::Location::provide();
        view! { <ThreadView /> }
    });
    let mut items = 0;
    for _ in 0..200 {
        items = root.query_selector_all("li.message").unwrap().length();
        if items > 0 {
            break;
        }
        frame().await;
    }
    let first_render_ms = now() - start;
    assert_eq!(items, 100, "the newest 100 messages are on the page");

    let more = now();
    let button: web_sys::HtmlElement = root
        .query_selector("button.show-earlier")
        .unwrap()
        .unwrap()
        .unchecked_into();
    button.click();
    frame().await;
    let earlier_ms = now() - more;
    let after = root.query_selector_all("li.message").unwrap().length();
    assert_eq!(after, 200);
    handle.forget();

    console_log!("BENCH thread of {MESSAGES} messages: build in memory {seed_ms:.1} ms");
    console_log!(
        "BENCH thread of {MESSAGES} messages: first render (newest 100) {first_render_ms:.1} ms"
    );
    console_log!("BENCH thread of {MESSAGES} messages: show 100 earlier {earlier_ms:.1} ms");
}
