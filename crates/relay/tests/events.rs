//! Live events over a real WebSocket: new messages, receipts and typing
//! reach the other members, and nobody else.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use support::{Account, NONE, Relay};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use ward_proto::events::{Event, EventsAuth, ReceiptKind, ReceiptRequest};
use ward_proto::threads::{Category, Thread};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(relay: &Relay, account: &Account) -> Socket {
    let url = relay.url.replace("http://", "ws://") + "/v1/events";
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", "http://localhost:8080".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let auth = serde_json::to_string(&EventsAuth {
        token: account.token.clone(),
    })
    .unwrap();
    socket.send(Message::Text(auth.into())).await.unwrap();
    assert_eq!(
        next(&mut socket).await,
        Event::Ready {
            account_id: account.id.clone()
        }
    );
    socket
}

async fn next(socket: &mut Socket) -> Event {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("an event within 5 s")
            .unwrap()
            .unwrap();
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

async fn nothing_within(socket: &mut Socket, wait: Duration) {
    if let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(wait, socket.next()).await {
        panic!("unexpected event: {text}");
    }
}

#[tokio::test]
async fn messages_receipts_and_typing_arrive_live_for_members_only() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let outsider = relay.patient(&clinic, "eve@example.com").await;
    let p = Some(patient.token.as_str());

    let (thread, key) = relay
        .thread_with_key(&patient, clinic.keys.bundle(), Category::Question)
        .await;
    let path = format!("/v1/threads/{}", thread.thread_id);

    let mut clinic_socket = connect(&relay, &clinic).await;
    let mut patient_socket = connect(&relay, &patient).await;
    let mut outsider_socket = connect(&relay, &outsider).await;

    // The patient sends: the clinic (and the patient's other devices) hear it.
    let post = support::envelope_request(&patient, &key, &thread.thread_id, 0, "m1", "hello");
    let response = relay
        .call(Method::POST, &format!("{path}/messages"), p, Some(&post))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    for socket in [&mut clinic_socket, &mut patient_socket] {
        match next(socket).await {
            Event::Message { thread_id, message } => {
                assert_eq!(thread_id, thread.thread_id);
                assert_eq!(message.seq, 1);
                assert_eq!(message.envelope, post.envelope);
            }
            other => panic!("expected a message, got {other:?}"),
        }
    }

    // The clinic types, then reads: the patient sees both.
    let c = Some(clinic.token.as_str());
    let response = relay
        .call(Method::POST, &format!("{path}/typing"), c, NONE)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        next(&mut patient_socket).await,
        Event::Typing {
            thread_id: thread.thread_id.clone(),
            account_id: clinic.id.clone()
        }
    );
    let response = relay
        .call(
            Method::POST,
            &format!("{path}/receipts"),
            c,
            Some(&ReceiptRequest {
                kind: ReceiptKind::Read,
                up_to_seq: 99,
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    match next(&mut patient_socket).await {
        Event::Receipt {
            account_id,
            kind,
            up_to_seq,
            ..
        } => assert_eq!(
            (account_id, kind, up_to_seq),
            (clinic.id.clone(), ReceiptKind::Read, 1)
        ),
        other => panic!("expected a receipt, got {other:?}"),
    }
    // The thread now says the clinic read message 1, and has nothing unread.
    let seen: Thread = relay
        .expect(Method::GET, &path, c, NONE, StatusCode::OK)
        .await;
    let clinic_member = seen
        .members
        .iter()
        .find(|m| m.account_id == clinic.id)
        .unwrap();
    assert_eq!(
        (clinic_member.read_up_to, clinic_member.delivered_up_to),
        (1, 1)
    );
    assert!(clinic_member.read_at.is_some());
    assert_eq!(seen.unread_count, 0);

    // The outsider heard nothing at all.
    nothing_within(&mut outsider_socket, Duration::from_millis(300)).await;
}

#[tokio::test]
async fn foreign_origins_and_bad_tokens_are_refused() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let url = relay.url.replace("http://", "ws://") + "/v1/events";
    let mut request = url.clone().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_err());

    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let auth = serde_json::to_string(&EventsAuth {
        token: "forged".into(),
    })
    .unwrap();
    socket.send(Message::Text(auth.into())).await.unwrap();
    let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap();
    assert!(
        matches!(frame, Some(Ok(Message::Close(_))) | None | Some(Err(_))),
        "{frame:?}"
    );
    drop(clinic);
}

/// An event costs its recipients' connections, not every socket: with 20,
/// then 100, sockets of an account outside the thread open, a message is
/// offered to the two members' sockets only, the same count both times.
/// Closed sockets leave the index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_is_offered_to_its_recipients_sockets_only_however_many_others_are_open() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let outsider = relay.patient(&clinic, "eve@example.com").await;
    let (thread, key) = relay
        .thread_with_key(&patient, clinic.keys.bundle(), Category::Question)
        .await;
    let path = format!("/v1/threads/{}/messages", thread.thread_id);
    let mut clinic_socket = connect(&relay, &clinic).await;
    let mut patient_socket = connect(&relay, &patient).await;
    let hub = relay.state.events.clone();

    let mut idle = Vec::new();
    let mut offered = Vec::new();
    for (round, open) in [20, 100].into_iter().enumerate() {
        while idle.len() < open {
            idle.push(connect(&relay, &outsider).await);
        }
        assert_eq!(hub.connections(), open + 2);
        let before = hub.local().offers();
        let post = support::envelope_request(
            &patient,
            &key,
            &thread.thread_id,
            0,
            &format!("m{round}"),
            "hello",
        );
        let response = relay
            .call(
                Method::POST,
                &path,
                Some(patient.token.as_str()),
                Some(&post),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        for socket in [&mut clinic_socket, &mut patient_socket] {
            assert!(matches!(next(socket).await, Event::Message { .. }));
        }
        offered.push(hub.local().offers() - before);
    }
    assert_eq!(offered, [2, 2], "offers per message with 20 and 100 others");
    for socket in idle.iter_mut().take(3) {
        nothing_within(socket, Duration::from_millis(100)).await;
    }

    drop(idle);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while hub.connections() != 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} connections still registered",
            hub.connections()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads frames until the relay closes the socket; panics if it stays open.
async fn closed_within(socket: &mut Socket, wait: Duration) {
    let closed = tokio::time::timeout(wait, async {
        loop {
            match socket.next().await {
                None | Some(Err(_) | Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the socket is still open after {wait:?}");
}

#[tokio::test]
async fn a_session_signed_out_closes_its_live_connections_at_once() {
    use ward_proto::auth::{SessionCreated, SessionList};
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    // A second device of the clinic's, live, and signed out from the first.
    let second: SessionCreated = relay.key_login(&clinic.keys).await.json().await.unwrap();
    // Only the token counts on the socket; fresh keys do no harm.
    let second = Account::from_session(second);
    let mut removed = connect(&relay, &second).await;
    let mut stays = connect(&relay, &clinic).await;
    let list: SessionList = relay.get_ok("/v1/sessions", Some(&clinic.token)).await;
    let other = list.sessions.iter().find(|s| !s.current).unwrap();
    let response = relay
        .call(
            Method::DELETE,
            &format!("/v1/sessions/{}", other.session_id),
            Some(&clinic.token),
            NONE,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // Not at the next minute's check: now.
    closed_within(&mut removed, Duration::from_secs(5)).await;
    nothing_within(&mut stays, Duration::from_millis(300)).await;
    // Signing out on the device itself closes its connection too.
    let response = relay
        .call(Method::POST, "/v1/auth/logout", Some(&clinic.token), NONE)
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    closed_within(&mut stays, Duration::from_secs(5)).await;
}
