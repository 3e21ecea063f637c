//! The live event stream (`/v1/events`, a WebSocket). The token goes in the
//! first frame, never in the URL.

use ward_proto::events::{Event, EventsAuth};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use super::SessionToken;

/// An open event stream; dropping it closes the socket.
#[derive(Debug)]
pub(crate) struct EventStream {
    socket: web_sys::WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_close: Closure<dyn FnMut()>,
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}

fn events_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}/v1/events", location.host().ok()?))
}

/// Opens the stream; `on_event` gets every event the relay sends (unknown
/// ones are skipped), `on_closed` runs once when the socket ends.
pub(crate) fn connect(
    token: &SessionToken,
    on_event: impl Fn(Event) + 'static,
    on_closed: impl FnOnce() + 'static,
) -> Option<EventStream> {
    let socket = web_sys::WebSocket::new(&events_url()?).ok()?;
    let auth = serde_json::to_string(&EventsAuth {
        token: token.expose().to_owned(),
    })
    .ok()?;
    let opened = socket.clone();
    let on_open = Closure::<dyn FnMut()>::new(move || {
        let _ = opened.send_with_str(&auth);
    });
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |message: web_sys::MessageEvent| {
            if let Some(text) = message.data().as_string()
                && let Ok(event) = serde_json::from_str::<Event>(&text)
            {
                on_event(event);
            }
        });
    let mut on_closed = Some(on_closed);
    let on_close = Closure::<dyn FnMut()>::new(move || {
        if let Some(f) = on_closed.take() {
            f();
        }
    });
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    Some(EventStream {
        socket,
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
    })
}
