//! Slow and stalled clients over real sockets: half-sent headers, bodies
//! that trickle, idle keep-alive connections and a WebSocket that never
//! reads are cut off by the configured limits, while a real client keeps
//! signing in, posting and getting `/healthz` answered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use support::{Relay, events};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use ward_proto::events::{Event, EventsAuth};
use ward_proto::threads::Category;
use ward_proto::{ErrorBody, ErrorCode};

fn addr(relay: &Relay) -> String {
    relay.url.trim_start_matches("http://").to_owned()
}

/// Reads until the relay closes the connection (or resets it); what it
/// said, or `None` if it is still open at `deadline`.
async fn closed_by(stream: &mut TcpStream, deadline: Instant) -> Option<String> {
    let mut said = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline.into(), stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(String::from_utf8_lossy(&said).into_owned()),
            Ok(Ok(n)) => said.extend_from_slice(&buf[..n]),
        }
    }
}

/// A JSON body announced as 1000 bytes, sent one byte every 200 ms (at
/// most 60 of them): how long until the relay cut it off, and what it said.
async fn trickle(addr: String) -> (Duration, String) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(
            b"POST /v1/auth/code/start HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
        )
        .await
        .unwrap();
    let mut said = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..60 {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return (started.elapsed(), String::from_utf8_lossy(&said).into_owned()),
                Ok(n) => said.extend_from_slice(&buf[..n]),
            },
            () = tokio::time::sleep(Duration::from_millis(200)) => {
                let _ = stream.write_all(b" ").await;
            }
        }
    }
    panic!("a body trickling for 12 s was not cut off");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_and_trickling_clients_are_cut_off_while_a_real_client_keeps_working() {
    let relay = Relay::start_with(|config| {
        config.header_read_timeout_seconds = 2;
        config.body_read_timeout_seconds = 3;
        config.idle_timeout_seconds = 3;
    })
    .await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let (thread, key) = relay
        .thread_with_key(&patient, clinic.keys.bundle(), Category::Question)
        .await;

    // 300 stalled connections: half send nothing, half half a request.
    let opened = Instant::now();
    let mut stalled = Vec::new();
    for i in 0..300 {
        let mut stream = TcpStream::connect(addr(&relay)).await.unwrap();
        if i % 2 == 1 {
            stream
                .write_all(b"POST /v1/auth/code/start HTTP/1.1\r\nHost: localhost\r\nContent-Ty")
                .await
                .unwrap();
        }
        stalled.push(stream);
    }
    // And 20 bodies that trickle in.
    let trickles: Vec<_> = (0..20)
        .map(|_| tokio::spawn(trickle(addr(&relay))))
        .collect();

    // Meanwhile a real client signs in, posts and checks health, promptly.
    for i in 0..5 {
        let asked = Instant::now();
        let health = relay
            .http
            .get(format!("{}/healthz", relay.url))
            .send()
            .await
            .unwrap();
        assert!(health.status().is_success());
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "/healthz took {:?}",
            asked.elapsed()
        );
        assert_eq!(relay.key_login(&clinic.keys).await.status(), StatusCode::OK);
        let sent = relay
            .send(
                &patient,
                &key,
                &thread.thread_id,
                0,
                &format!("m{i}"),
                "still here",
            )
            .await;
        assert_eq!(sent.status(), StatusCode::CREATED);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The stalled ones are closed by the header timeout (2 s), not before
    // half of it.
    for stream in &mut stalled {
        let said = closed_by(stream, opened + Duration::from_secs(8)).await;
        assert!(
            said.is_some(),
            "a stalled connection was still open after 8 s"
        );
    }
    assert!(opened.elapsed() >= Duration::from_secs(1));

    // The trickling bodies by the body timeout (3 s), with a 408 where the
    // answer got through before the connection closed.
    let mut answered = 0;
    for trickle in trickles {
        let (after, said) = trickle.await.unwrap();
        assert!(
            after >= Duration::from_millis(2500) && after < Duration::from_secs(8),
            "a trickling body was cut off after {after:?}"
        );
        if !said.is_empty() {
            assert!(said.starts_with("HTTP/1.1 408"), "{said}");
            assert!(said.contains("body_timeout"), "{said}");
            answered += 1;
        }
    }
    assert!(answered > 0, "no trickling body got its 408");

    // The relay is still fine.
    let health = relay
        .http
        .get(format!("{}/healthz", relay.url))
        .send()
        .await
        .unwrap();
    assert!(health.status().is_success());
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let relay = Relay::start_with(|config| {
        config.header_read_timeout_seconds = 2;
        config.idle_timeout_seconds = 2;
    })
    .await;
    let mut stream = TcpStream::connect(addr(&relay)).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let answered = Instant::now();
    let said = closed_by(&mut stream, answered + Duration::from_secs(6)).await;
    assert!(said.is_some(), "an idle keep-alive connection stayed open");
    assert!(answered.elapsed() >= Duration::from_secs(1));
}

/// At the cap a new connection is answered at once, 503 `over_capacity`
/// with Retry-After, without taking a slot; `/healthz` still answers; and
/// once a slot frees, new connections are served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_new_connections_are_refused_at_once_and_healthz_still_answers() {
    let relay = Relay::start_with(|config| config.max_connections = Some(3)).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr(&relay)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // No pooling: every request is a new connection.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(8))
        .build()
        .unwrap();
    let openapi = format!("{}/v1/openapi.json", relay.url);

    for _ in 0..5 {
        let asked = Instant::now();
        let refused = client.get(&openapi).send().await.unwrap();
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "refused only after {:?}",
            asked.elapsed()
        );
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.headers()["retry-after"], "5");
        let body: ErrorBody = refused.json().await.unwrap();
        assert_eq!(body.error.code, ErrorCode::OverCapacity);
        assert_eq!(body.error.retry_after_seconds, Some(5));
    }

    let asked = Instant::now();
    let health = client
        .get(format!("{}/healthz", relay.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(asked.elapsed() < Duration::from_secs(2));

    // The refusals held no slot: one held connection closing is enough.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let response = client.get(&openapi).send().await.unwrap();
        if response.status() == StatusCode::OK {
            break;
        }
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            Instant::now() < deadline,
            "still refused after a slot freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_that_never_reads_is_disconnected_while_others_keep_receiving() {
    let relay = Relay::start_with(|config| config.websocket_send_queue = 4).await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let (thread, key) = relay
        .thread_with_key(&patient, clinic.keys.bundle(), Category::Question)
        .await;
    let mut reading = events::connect(&relay, &clinic.id, &clinic.token).await;

    // A client with a tiny receive buffer that stops reading after Ready.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(addr(&relay).parse().unwrap()).await.unwrap();
    let request = format!("ws://{}/v1/events", addr(&relay))
        .into_client_request()
        .unwrap();
    let (mut stalled, _) =
        tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(stream))
            .await
            .unwrap();
    let auth = serde_json::to_string(&EventsAuth {
        token: clinic.token.clone(),
    })
    .unwrap();
    stalled.send(Message::Text(auth.into())).await.unwrap();
    assert!(matches!(
        events::next(&mut stalled).await,
        Event::Ready { .. }
    ));

    // 24 messages of ~400 KB (about 13 MB of events): more than the
    // socket buffers and the queue of 4 hold.
    let text = "x".repeat(300_000);
    const SENT: usize = 14;
    for i in 0..SENT {
        let sent = relay
            .send(
                &patient,
                &key,
                &thread.thread_id,
                0,
                &format!("big{i}"),
                &text,
            )
            .await;
        assert_eq!(sent.status(), StatusCode::CREATED);
        // The reading client gets every one.
        match events::next(&mut reading).await {
            Event::Message { thread_id, .. } => assert_eq!(thread_id, thread.thread_id),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    // The one that never read was cut off: what reached it ends early.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut received = 0;
    loop {
        match tokio::time::timeout_at(deadline.into(), stalled.next()).await {
            Err(_) => panic!("the unread WebSocket is still open after {received} events"),
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => break,
            Ok(Some(Ok(Message::Text(_)))) => received += 1,
            Ok(Some(Ok(_))) => {}
        }
    }
    assert!(received < SENT, "it got all {received} events");

    // And the relay still serves the reader.
    let sent = relay
        .send(&patient, &key, &thread.thread_id, 0, "after", "small")
        .await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    assert!(matches!(
        events::next(&mut reading).await,
        Event::Message { .. }
    ));
}
