//! A small HTTP client for the relay's API, as the clinic agent uses it.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use ward_proto::auth::{KeyChallenge, KeyChallengeRequest, KeyLoginRequest, SessionCreated};
use ward_proto::{Bytes, ErrorBody};
use ward_seal::keys::AccountKeys;

/// What went wrong talking to the relay, said for the person at the terminal.
/// It often quotes the relay (or a patient's file name): it displays through
/// [`super::terminal::escape`].
#[derive(Debug, thiserror::Error)]
#[error("{}", super::terminal::line(.0))]
pub struct AgentError(pub String);

impl AgentError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// How long a request the relay may not have received, or answered, is
/// tried again while the relay (or its database) restarts.
const RETRY_FOR: Duration = Duration::from_secs(60);

/// The first pause before trying again; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(200);
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// Whether repeating `method path` cannot do twice what it does once, so
/// a request whose answer was lost may be sent again: reads, PUTs (upload
/// parts, compare-and-swap), and the POSTs the relay makes idempotent
/// (a message is stored once per message id; receipts only move forward;
/// finalizing answers the same twice; a typing poke and a sign-in
/// challenge change nothing lasting). Not: invites, new uploads, the
/// challenge's answer (it is single-use: signing in starts over instead).
fn repeatable(method: &Method, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    match *method {
        Method::GET | Method::PUT => true,
        Method::POST => {
            path == "/v1/auth/key/challenge"
                || ["/messages", "/receipts", "/typing", "/finalize"]
                    .iter()
                    .any(|end| path.ends_with(end))
        }
        _ => false,
    }
}

/// The relay did not get the request, or is restarting, or cannot reach
/// its database for a moment: worth trying again.
fn transient_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
    )
}

fn transient_error(error: &reqwest::Error) -> bool {
    error.is_connect() || error.is_timeout() || error.is_request() || error.is_body()
}

/// A signed-in (or not yet) connection to a relay.
pub struct Client {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl std::fmt::Debug for Client {
    /// Without the session token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("signed_in", &self.token.is_some())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the relay at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            // Names the agent in the clinic account's access log.
            http: reqwest::Client::builder()
                .user_agent(concat!("ward-clinic/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default(),
            token: None,
        }
    }

    /// Uses a session token.
    pub fn with_token(mut self, token: String) -> Self {
        self.token = Some(token);
        self
    }

    /// Signs in by proving the account key.
    pub async fn key_login(&mut self, keys: &AccountKeys) -> Result<(), AgentError> {
        // The challenge's answer is single-use: when it is lost on the way
        // (the relay restarting), sign-in starts over with a new challenge.
        let deadline = Instant::now() + RETRY_FOR;
        let mut pause = FIRST_PAUSE;
        loop {
            match self.key_login_once(keys).await {
                Err(error) if error.transient && Instant::now() < deadline => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_PAUSE);
                }
                done => return done.map_err(|e| e.error),
            }
        }
    }

    async fn key_login_once(&mut self, keys: &AccountKeys) -> Result<(), Attempt> {
        let challenge: KeyChallenge = self
            .call(
                Method::POST,
                "/v1/auth/key/challenge",
                Some(&KeyChallengeRequest {
                    account_id: keys.account_id().to_owned(),
                }),
            )
            .await
            .map_err(Attempt::fatal)?;
        let signature = keys.sign_login(&challenge.challenge.0);
        let response = self
            .send_once(
                Method::POST,
                "/v1/auth/key/login",
                Some(&KeyLoginRequest {
                    challenge_id: challenge.challenge_id,
                    signature: Bytes(signature.to_vec()),
                }),
            )
            .await?;
        if !response.status().is_success() {
            let transient = transient_status(response.status());
            return Err(Attempt {
                error: error_of(response).await,
                transient,
            });
        }
        let session: SessionCreated = response.json().await.map_err(|e| Attempt {
            error: self.unreachable(&e),
            transient: true,
        })?;
        self.token = Some(session.token);
        Ok(())
    }

    /// The relay's live event stream, `ws(s)://.../v1/events`.
    pub fn events_url(&self) -> Result<String, AgentError> {
        let rest = |scheme: &str| self.base.strip_prefix(scheme);
        match (rest("http://"), rest("https://")) {
            (Some(host), _) => Ok(format!("ws://{host}/v1/events")),
            (_, Some(host)) => Ok(format!("wss://{host}/v1/events")),
            _ => Err(AgentError::new(format!(
                "the relay URL {} is not http:// or https://; pass --relay http://HOST:PORT",
                self.base
            ))),
        }
    }

    /// The session token, once signed in (sent only in the event stream's
    /// first frame; never printed).
    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// GET `path`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, AgentError> {
        self.call::<(), T>(Method::GET, path, None).await
    }

    /// GET `path`, or `None` when the relay answers 404.
    pub async fn get_optional<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, AgentError> {
        let response = self.request::<()>(Method::GET, path, None).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(error_of(response).await);
        }
        response.json().await.map(Some).map_err(|e| {
            AgentError::new(format!(
                "the relay's answer to {path} was not understood: {e}"
            ))
        })
    }

    /// POST `body` to `path`.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, AgentError> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// POST to `path` with no body.
    pub async fn post_empty<T: DeserializeOwned>(&self, path: &str) -> Result<T, AgentError> {
        self.call::<(), T>(Method::POST, path, None).await
    }

    /// PUT `body` as JSON to `path`; the answer's JSON.
    pub async fn put<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, AgentError> {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// PUT raw `bytes` (`application/octet-stream`) to `path`; the answer
    /// has no body.
    pub async fn put_bytes(&self, path: &str, bytes: Vec<u8>) -> Result<(), AgentError> {
        let mut request = self
            .http
            .put(format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(error_of(response).await)
        }
    }

    /// GET `path`'s raw bytes.
    pub async fn get_bytes(&self, path: &str) -> Result<bytes::Bytes, AgentError> {
        let response = self.request::<()>(Method::GET, path, None).await?;
        if !response.status().is_success() {
            return Err(error_of(response).await);
        }
        response.bytes().await.map_err(|e| self.unreachable(&e))
    }

    fn unreachable(&self, error: &reqwest::Error) -> AgentError {
        AgentError::new(format!(
            "could not reach the relay at {}: {error}. Is it running? Pass --relay",
            self.base
        ))
    }

    /// A call whose answer has no body.
    pub async fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(), AgentError> {
        let response = self.request(method, path, body).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(error_of(response).await)
        }
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, AgentError> {
        let response = self.request(method, path, body).await?;
        if !response.status().is_success() {
            return Err(error_of(response).await);
        }
        response.json().await.map_err(|e| {
            AgentError::new(format!(
                "the relay's answer to {path} was not understood: {e}"
            ))
        })
    }

    /// Sends the request; one that may be repeated ([`repeatable`]) is
    /// sent again, for up to a minute, while the relay cannot take it.
    async fn request<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<reqwest::Response, AgentError> {
        if !repeatable(&method, path) {
            return self
                .send_once(method, path, body)
                .await
                .map_err(|a| a.error);
        }
        let deadline = Instant::now() + RETRY_FOR;
        let mut pause = FIRST_PAUSE;
        loop {
            let again = match self.send_once(method.clone(), path, body).await {
                Ok(response) if transient_status(response.status()) => Err(response),
                Ok(response) => return Ok(response),
                Err(attempt) if attempt.transient => Ok(attempt.error),
                Err(attempt) => return Err(attempt.error),
            };
            if Instant::now() >= deadline {
                return match again {
                    Err(response) => Ok(response),
                    Ok(error) => Err(error),
                };
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }

    /// One attempt: the answer, or why there was none.
    async fn send_once<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<reqwest::Response, Attempt> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.map_err(|e| Attempt {
            transient: transient_error(&e),
            error: self.unreachable(&e),
        })
    }
}

/// A failed attempt, and whether trying again may succeed.
struct Attempt {
    error: AgentError,
    transient: bool,
}

impl Attempt {
    fn fatal(error: AgentError) -> Self {
        Self {
            error,
            transient: false,
        }
    }
}

async fn error_of(response: reqwest::Response) -> AgentError {
    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(body) => AgentError::new(format!("{} ({})", body.error.message, body.error.code)),
        Err(_) if status == StatusCode::NOT_FOUND => AgentError::new("not found on the relay"),
        Err(_) => AgentError::new(format!("the relay answered {status}")),
    }
}
