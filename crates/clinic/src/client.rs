//! A small HTTP client for the relay's API, as the clinic agent uses it.

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
            http: reqwest::Client::new(),
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
        let challenge: KeyChallenge = self
            .call(
                Method::POST,
                "/v1/auth/key/challenge",
                Some(&KeyChallengeRequest {
                    account_id: keys.account_id().to_owned(),
                }),
            )
            .await?;
        let signature = keys.sign_login(&challenge.challenge.0);
        let session: SessionCreated = self
            .call(
                Method::POST,
                "/v1/auth/key/login",
                Some(&KeyLoginRequest {
                    challenge_id: challenge.challenge_id,
                    signature: Bytes(signature.to_vec()),
                }),
            )
            .await?;
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

    async fn request<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<reqwest::Response, AgentError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.map_err(|e| self.unreachable(&e))
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
