//! A real relay on a free port with a fresh database, and a small client
//! for it, shared by the API tests.
//!
//! The database is a fresh SQLite file, or, when `WARD_TEST_POSTGRES` names
//! a PostgreSQL server (as `cargo xtask test` does for its second pass
//! over these tests), a fresh schema on that server.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::{Client, Method, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tempfile::TempDir;
use ward_proto::ErrorCode;
use ward_proto::auth::{
    ClinicSetupRequest, EnrollCodeRequest, EnrollStartRequest, EnrollStarted, EnrollVerifyRequest,
    InviteCreateRequest, InviteCreated, KeyChallenge, KeyChallengeRequest, KeyLoginRequest,
    SessionCreated,
};
use ward_proto::keys::PublishBundleRequest;
use ward_proto::{Bytes, ErrorBody};
use ward_relay::{AppState, Config};
use ward_seal::keys::AccountKeys;
use ward_seal::random::os_rng;

pub mod blobs;

pub struct Relay {
    pub url: String,
    pub data: TempDir,
    /// The PostgreSQL schema this relay uses, when on PostgreSQL.
    pub database_url: Option<ward_relay::config::DatabaseUrl>,
    pub http: Client,
    /// The served state (for in-process calls and the blob cleanup pass).
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Whether these tests run on PostgreSQL (`WARD_TEST_POSTGRES` is set).
pub fn on_postgres() -> bool {
    std::env::var_os("WARD_TEST_POSTGRES").is_some()
}

/// With `WARD_TEST_POSTGRES` set (the address of a PostgreSQL server's
/// database the tests may create schemas in), a new empty schema there,
/// as the address a relay connects to.
pub async fn fresh_postgres_schema() -> Option<ward_relay::config::DatabaseUrl> {
    use sqlx::{Connection, Executor};
    let admin = std::env::var("WARD_TEST_POSTGRES").ok()?;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&admin)
        .await
        .expect("WARD_TEST_POSTGRES names a PostgreSQL server");
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).unwrap();
    let schema = format!(
        "t_{}",
        id.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    conn.execute(&*format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    conn.close().await.unwrap();
    let separator = if admin.contains('?') { '&' } else { '?' };
    // The schema names the connections too, so a test can find (and end)
    // this relay's alone.
    Some(ward_relay::config::DatabaseUrl(format!(
        "{admin}{separator}options[search_path]={schema}&application_name={schema}"
    )))
}

/// The PostgreSQL server of `WARD_TEST_POSTGRES`, as its administrator.
pub async fn admin_postgres() -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(&std::env::var("WARD_TEST_POSTGRES").unwrap())
        .await
        .unwrap()
}

impl Relay {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A relay whose default configuration (in development mode: codes go
    /// to the outbox file) `configure` changes first (the data directory is
    /// set afterwards); the result must validate.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> Self {
        Self::start_with_state(configure, |_| {}).await
    }

    /// Like [`Relay::start_with`], and `adjust` changes the opened state
    /// before the relay serves it (a blob store opened another way).
    pub async fn start_with_state(
        configure: impl FnOnce(&mut Config),
        adjust: impl FnOnce(&mut AppState),
    ) -> Self {
        Self::start_on(fresh_postgres_schema().await, configure, adjust).await
    }

    /// A relay (default development configuration) on the PostgreSQL
    /// database at `url`, rather than a fresh schema of
    /// `WARD_TEST_POSTGRES`: a server the test started itself.
    pub async fn start_on_database(url: String) -> Self {
        Self::start_on(Some(ward_relay::config::DatabaseUrl(url)), |_| {}, |_| {}).await
    }

    async fn start_on(
        database_url: Option<ward_relay::config::DatabaseUrl>,
        configure: impl FnOnce(&mut Config),
        adjust: impl FnOnce(&mut AppState),
    ) -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut config = Config {
            dev: true,
            ..Config::default()
        };
        configure(&mut config);
        config.data = data.path().to_path_buf();
        config.database_url.clone_from(&database_url);
        config.validate().unwrap();
        let mut state = AppState::open(config).await.unwrap();
        adjust(&mut state);
        let (url, stop) = serve(state.clone()).await;
        Self {
            url,
            data,
            database_url,
            http: Client::new(),
            state,
            stop: Some(stop),
        }
    }

    /// Stops this relay and starts another over the same data directory
    /// (as a restart would), its development configuration changed by
    /// `configure`; the error if the new one refuses to start (then nothing
    /// serves until the next successful restart).
    pub async fn restart_with(
        &mut self,
        configure: impl FnOnce(&mut Config),
    ) -> Result<(), ward_relay::StartError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let mut config = Config {
            dev: true,
            ..Config::default()
        };
        configure(&mut config);
        config.data = self.data.path().to_path_buf();
        config.database_url.clone_from(&self.database_url);
        config.validate().unwrap();
        let state = AppState::open(config).await?;
        let (url, stop) = serve(state.clone()).await;
        self.url = url;
        self.state = state;
        self.stop = Some(stop);
        Ok(())
    }

    /// Another relay on this one's PostgreSQL database, as a second
    /// instance behind a load balancer: a data directory of its own, the
    /// same relay secret (instances must share it), and what `configure`
    /// sets (a shared blob store).
    pub async fn beside(&self, configure: impl FnOnce(&mut Config)) -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut config = Config {
            dev: true,
            ..Config::default()
        };
        configure(&mut config);
        config.data = data.path().to_path_buf();
        config.database_url = Some(self.database_url.clone().expect("a relay on PostgreSQL"));
        config.secret_key_file = Some(
            self.data
                .path()
                .join(ward_relay::relay_secret::SECRET_KEY_FILE),
        );
        // And the same VAPID key: subscriptions are bound to it.
        config.vapid_key_file = Some(
            self.data
                .path()
                .join(ward_relay::push::vapid::VAPID_KEY_FILE),
        );
        config.validate().unwrap();
        let state = AppState::open(config).await.unwrap();
        let (url, stop) = serve(state.clone()).await;
        Self {
            url,
            data,
            database_url: self.database_url.clone(),
            http: Client::new(),
            state,
            stop: Some(stop),
        }
    }

    /// Stops serving new connections, as an instance taken out of service.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    pub async fn call<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&B>,
    ) -> Response {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    /// Calls and expects `status`, returning the JSON body.
    pub async fn expect<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&B>,
        status: StatusCode,
    ) -> T {
        let response = self.call(method.clone(), path, token, body).await;
        let got = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(got, status, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"))
    }

    /// Calls and expects an error with `status` and `code`.
    pub async fn expect_error<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&B>,
        status: StatusCode,
        code: ErrorCode,
    ) -> ErrorBody {
        let error: ErrorBody = self.expect(method.clone(), path, token, body, status).await;
        assert_eq!(error.error.code, code, "{method} {path}");
        assert!(!error.error.message.is_empty());
        error
    }

    pub fn setup_code(&self) -> String {
        std::fs::read_to_string(self.data.path().join(ward_relay::setup::SETUP_CODE_FILE)).unwrap()
    }

    /// Every code the development sink has "sent" to `contact`, oldest first.
    pub fn codes_for(&self, contact: &str) -> Vec<String> {
        let outbox =
            std::fs::read_to_string(self.data.path().join("dev-outbox.log")).unwrap_or_default();
        // Only whole lines: the relay may be appending one as we read.
        outbox
            .split_inclusive('\n')
            .filter_map(|line| line.strip_suffix('\n'))
            .filter_map(|line| {
                let mut parts = line.split('\t');
                let (to, _purpose, code) = (parts.next()?, parts.next()?, parts.next()?);
                (to == contact).then(|| code.to_owned())
            })
            .collect()
    }

    /// Waits (up to 5 s) for a code beyond the first `seen` sent to
    /// `contact`: sign-in codes are sent in the background.
    pub async fn next_code_for(&self, contact: &str, seen: usize) -> String {
        for _ in 0..100 {
            let codes = self.codes_for(contact);
            if codes.len() > seen {
                return codes[seen].clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no new code for {contact}");
    }

    /// The last one-time code the development sink "sent" to `contact`.
    pub fn last_code_for(&self, contact: &str) -> String {
        self.codes_for(contact).pop().expect("a code was sent")
    }

    /// Sets up the clinic and publishes its bundle.
    pub async fn clinic(&self) -> Account {
        let session: SessionCreated = self
            .expect(
                Method::POST,
                "/v1/clinic/setup",
                None,
                Some(&ClinicSetupRequest {
                    setup_code: self.setup_code(),
                    display_name: "Riverside Clinic".into(),
                }),
                StatusCode::OK,
            )
            .await;
        let account = Account::new(session);
        self.publish(&account).await;
        account
    }

    /// Invites, enrolls and publishes a patient.
    pub async fn patient(&self, clinic: &Account, contact: &str) -> Account {
        let invite_code = self.invite(clinic, contact).await;
        self.enroll(&invite_code, contact).await
    }

    /// The clinic invites a patient ("Sam Patient") at `contact`; the code.
    pub async fn invite(&self, clinic: &Account, contact: &str) -> String {
        let invite: InviteCreated = self
            .expect(
                Method::POST,
                "/v1/invites",
                Some(&clinic.token),
                Some(&InviteCreateRequest {
                    display_name: "Sam Patient".into(),
                    contact: contact.into(),
                }),
                StatusCode::CREATED,
            )
            .await;
        invite.invite_code
    }

    /// Redeems an invite (code sent to `contact`), then publishes fresh keys.
    pub async fn enroll(&self, invite_code: &str, contact: &str) -> Account {
        let account = Account::new(self.enroll_session(invite_code, contact).await);
        self.publish(&account).await;
        account
    }

    /// Redeems an invite (start, "yes, this is me", then the code sent to
    /// `contact`); the session, nothing published.
    pub async fn enroll_session(&self, invite_code: &str, contact: &str) -> SessionCreated {
        let started = self.start_enrollment(invite_code).await;
        self.expect(
            Method::POST,
            "/v1/enroll/verify",
            None,
            Some(&EnrollVerifyRequest {
                enrollment_id: started.enrollment_id,
                code: self.last_code_for(contact),
            }),
            StatusCode::OK,
        )
        .await
    }

    /// Starts enrolling with an invite and asks for its code, as the app
    /// does after "Yes, this is me".
    pub async fn start_enrollment(&self, invite_code: &str) -> EnrollStarted {
        let started: EnrollStarted = self
            .expect(
                Method::POST,
                "/v1/enroll/start",
                None,
                Some(&EnrollStartRequest {
                    invite_code: invite_code.to_owned(),
                }),
                StatusCode::OK,
            )
            .await;
        let response = self.send_enrollment_code(&started.enrollment_id).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        started
    }

    /// `POST /v1/enroll/code` for `enrollment_id`.
    pub async fn send_enrollment_code(&self, enrollment_id: &str) -> reqwest::Response {
        self.call(
            Method::POST,
            "/v1/enroll/code",
            None,
            Some(&EnrollCodeRequest {
                enrollment_id: enrollment_id.to_owned(),
            }),
        )
        .await
    }

    /// Every byte the relay's database holds: the SQLite file with its
    /// `-wal` and `-shm` files; on PostgreSQL, every stored value of every
    /// table in the relay's schema (bytes as stored, the rest as text). For
    /// tests that check what is, and is not, stored.
    pub async fn stored_bytes(&self) -> Vec<u8> {
        use sqlx::Row;
        let mut bytes = Vec::new();
        if self.database_url.is_none() {
            for entry in std::fs::read_dir(self.data.path()).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if name.starts_with(ward_relay::db::DATABASE_FILE) {
                    bytes.extend(std::fs::read(&path).unwrap());
                }
            }
            return bytes;
        }
        let db = self.db().await;
        let columns = sqlx::query(
            "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty
             FROM information_schema.columns WHERE table_schema = current_schema()",
        )
        .fetch_all(&db)
        .await
        .unwrap();
        assert!(!columns.is_empty(), "the relay's schema has tables");
        for column in columns {
            let (table, name, ty): (String, String, String) =
                (column.get("t"), column.get("c"), column.get("ty"));
            let sql = if ty == "bytea" {
                format!("SELECT \"{name}\" AS v FROM \"{table}\" WHERE \"{name}\" IS NOT NULL")
            } else {
                format!(
                    "SELECT CAST(\"{name}\" AS TEXT) AS v FROM \"{table}\" WHERE \"{name}\" IS NOT NULL"
                )
            };
            for row in sqlx::query(&sql).fetch_all(&db).await.unwrap() {
                if ty == "bytea" {
                    bytes.extend(row.get::<Vec<u8>, _>("v"));
                } else {
                    bytes.extend(row.get::<String, _>("v").into_bytes());
                }
                bytes.push(0);
            }
        }
        bytes
    }

    /// The relay's database (for what the API does not show, and to move
    /// time).
    pub async fn db(&self) -> sqlx::AnyPool {
        self.state.db.clone()
    }

    /// Moves every session of `account_id` to a sign-in an hour earlier,
    /// long past the step-up window (and a passkey ceremony begun within
    /// it); how many there were.
    pub async fn age_sessions(&self, account_id: &str) -> u64 {
        let aged =
            sqlx::query("UPDATE sessions SET created_at = created_at - $1 WHERE account_id = $2")
                .bind(3_600_000_i64)
                .bind(account_id)
                .execute(&self.db().await)
                .await
                .unwrap();
        aged.rows_affected()
    }

    pub async fn publish(&self, account: &Account) {
        let response = self
            .call(
                Method::PUT,
                "/v1/keys/me",
                Some(&account.token),
                Some(&PublishBundleRequest {
                    bundle: Bytes(account.keys.bundle().to_bytes()),
                }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }

    /// Signs in by account key (the clinic agent's way).
    pub async fn key_login(&self, keys: &AccountKeys) -> Response {
        let challenge: KeyChallenge = self
            .expect(
                Method::POST,
                "/v1/auth/key/challenge",
                None,
                Some(&KeyChallengeRequest {
                    account_id: keys.account_id().into(),
                }),
                StatusCode::OK,
            )
            .await;
        let signature = keys.sign_login(&challenge.challenge.0);
        self.call(
            Method::POST,
            "/v1/auth/key/login",
            None,
            Some(&KeyLoginRequest {
                challenge_id: challenge.challenge_id,
                signature: Bytes(signature.to_vec()),
            }),
        )
        .await
    }
}

/// Serves `state` on a free loopback port until the sender is used or dropped.
async fn serve(state: AppState) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(ward_relay::serve(listener, state, async {
        let _ = stopped.await;
    }));
    (url, stop)
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A signed-in account with its keys.
pub struct Account {
    pub id: String,
    pub token: String,
    pub keys: AccountKeys,
}

impl Account {
    /// An account for a session, with fresh keys.
    pub fn from_session(session: SessionCreated) -> Self {
        Self::new(session)
    }

    fn new(session: SessionCreated) -> Self {
        let keys =
            AccountKeys::generate(&session.account_id, 1_767_225_600, &mut os_rng()).unwrap();
        Self {
            id: session.account_id,
            token: session.token,
            keys,
        }
    }
}

/// No body.
pub const NONE: Option<&()> = None;

impl Relay {
    /// A clinic, Sam enrolled as its patient (`sam@example.com`), and a
    /// question thread Sam started with the clinic, epoch 0 sealed to both:
    /// where most message and attachment tests begin. The clinic, Sam, the
    /// thread and its key.
    pub async fn conversation(
        &self,
    ) -> (
        Account,
        Account,
        ward_proto::threads::Thread,
        ward_seal::thread_key::ThreadKey,
    ) {
        let clinic = self.clinic().await;
        let patient = self.patient(&clinic, "sam@example.com").await;
        let (thread, key) = self
            .thread_with_key(
                &patient,
                clinic.keys.bundle(),
                ward_proto::threads::Category::Question,
            )
            .await;
        (clinic, patient, thread, key)
    }

    /// `GET path` as `token`, expecting 404 `not_found`: how the relay
    /// answers for anything the caller may not see, without saying whether
    /// it exists.
    pub async fn expect_not_found(&self, path: &str, token: Option<&str>) {
        self.expect_error(
            Method::GET,
            path,
            token,
            NONE,
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
        )
        .await;
    }

    /// `GET path` as `token` (none, signed out or forged), expecting 401
    /// `not_signed_in`: every route refuses a caller without a live session
    /// the same way.
    pub async fn expect_not_signed_in(&self, path: &str, token: Option<&str>) {
        self.expect_error(
            Method::GET,
            path,
            token,
            NONE,
            StatusCode::UNAUTHORIZED,
            ErrorCode::NotSignedIn,
        )
        .await;
    }

    /// `GET path` as `token`, expecting 200: the JSON body. The read most
    /// checks begin with, without the method, body and status each time.
    pub async fn get_ok<T: DeserializeOwned>(&self, path: &str, token: Option<&str>) -> T {
        self.expect(Method::GET, path, token, NONE, StatusCode::OK)
            .await
    }

    /// Seals `text` as `sender` and posts it like [`Relay::send`],
    /// expecting 201 (the relay's answer in the message otherwise).
    pub async fn send_ok(
        &self,
        sender: &Account,
        key: &ward_seal::thread_key::ThreadKey,
        thread_id: &str,
        epoch: u32,
        message_id: &str,
        text: &str,
    ) {
        let response = self
            .send(sender, key, thread_id, epoch, message_id, text)
            .await;
        let status = response.status();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}",
            response.text().await.unwrap()
        );
    }

    /// The Prometheus text `GET /metrics` serves (no session needed).
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

/// The caregiver terms a test relay serves (its default), as a patient
/// who was shown them agrees to them.
pub fn caregiver_terms() -> ward_proto::account::ConsentAccept {
    use sha2::Digest;
    let text = ward_relay::config::DEFAULT_CAREGIVER_CONSENT_TEXT.trim();
    ward_proto::account::ConsentAccept {
        version: ward_relay::config::DEFAULT_CAREGIVER_CONSENT_VERSION.into(),
        sha256: ward_proto::Bytes(sha2::Sha256::digest(text.as_bytes()).to_vec()),
    }
}

impl Relay {
    /// Dana, a caregiver `patient` invited, enrolled at `contact`.
    pub async fn caregiver_for(&self, patient: &Account, contact: &str) -> Account {
        let invite: ward_proto::auth::InviteCreated = self
            .expect(
                Method::POST,
                "/v1/caregivers/invites",
                Some(&patient.token),
                Some(&ward_proto::auth::CaregiverInviteRequest {
                    display_name: "Dana".into(),
                    contact: contact.into(),
                    relationship: Some(ward_proto::caregivers::Relationship::Parent),
                    consent: caregiver_terms(),
                }),
                StatusCode::CREATED,
            )
            .await;
        self.enroll(&invite.invite_code, contact).await
    }

    /// `patient` starts a thread with the clinic and seals epoch 0 to both.
    pub async fn thread_with_key(
        &self,
        patient: &Account,
        clinic: &ward_seal::keys::PublicBundle,
        category: ward_proto::threads::Category,
    ) -> (
        ward_proto::threads::Thread,
        ward_seal::thread_key::ThreadKey,
    ) {
        use ward_proto::threads::{CreateThreadRequest, PutEpochRequest, Thread};
        let thread: Thread = self
            .expect(
                Method::POST,
                "/v1/threads",
                Some(&patient.token),
                Some(&CreateThreadRequest { category }),
                StatusCode::CREATED,
            )
            .await;
        let key = ward_seal::thread_key::ThreadKey::generate(&mut os_rng());
        let sealed = ward_seal::thread_key::seal_to_members(
            &key,
            &thread.thread_id,
            0,
            &patient.keys,
            &[patient.keys.bundle().clone(), clinic.clone()],
            &mut os_rng(),
        )
        .unwrap();
        let response = self
            .call(
                Method::POST,
                &format!("/v1/threads/{}/epochs", thread.thread_id),
                Some(&patient.token),
                Some(&PutEpochRequest {
                    epoch: 0,
                    sealed_keys: sealed.iter().map(|s| Bytes(s.to_bytes())).collect(),
                }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        (thread, key)
    }

    /// `patient` shares `thread_id` (epoch 0, `key`) with `with`: the
    /// thread key's history sealed to them, `POST .../members`.
    pub async fn share_thread(
        &self,
        patient: &Account,
        with: &Account,
        thread_id: &str,
        key: &ward_seal::thread_key::ThreadKey,
    ) -> Response {
        let history = ward_seal::thread_key::share_history(
            &[(0, key)],
            thread_id,
            &patient.keys,
            with.keys.bundle(),
            &mut os_rng(),
        )
        .unwrap();
        self.call(
            Method::POST,
            &format!("/v1/threads/{thread_id}/members"),
            Some(&patient.token),
            Some(&ward_proto::threads::AddMemberRequest {
                account_id: with.id.clone(),
                sealed_keys: history.iter().map(|k| Bytes(k.to_bytes())).collect(),
            }),
        )
        .await
    }

    /// Seals `text` as `sender` in `epoch` and posts it; returns the response.
    pub async fn send(
        &self,
        sender: &Account,
        key: &ward_seal::thread_key::ThreadKey,
        thread_id: &str,
        epoch: u32,
        message_id: &str,
        text: &str,
    ) -> Response {
        let payload = ward_seal::payload::Payload::text(text);
        self.send_payload(sender, key, thread_id, epoch, message_id, &payload)
            .await
    }

    /// Seals `payload` as `sender` in `epoch` and posts it; returns the
    /// response.
    pub async fn send_payload(
        &self,
        sender: &Account,
        key: &ward_seal::thread_key::ThreadKey,
        thread_id: &str,
        epoch: u32,
        message_id: &str,
        payload: &ward_seal::payload::Payload,
    ) -> Response {
        self.call(
            Method::POST,
            &format!("/v1/threads/{thread_id}/messages"),
            Some(&sender.token),
            Some(&payload_request(
                sender, key, thread_id, epoch, message_id, payload,
            )),
        )
        .await
    }
}

/// A sealed envelope, ready to post.
pub fn envelope_request(
    sender: &Account,
    key: &ward_seal::thread_key::ThreadKey,
    thread_id: &str,
    epoch: u32,
    message_id: &str,
    text: &str,
) -> ward_proto::threads::PostMessageRequest {
    let payload = ward_seal::payload::Payload::text(text);
    payload_request(sender, key, thread_id, epoch, message_id, &payload)
}

/// [`envelope_request`] of any payload.
pub fn payload_request(
    sender: &Account,
    key: &ward_seal::thread_key::ThreadKey,
    thread_id: &str,
    epoch: u32,
    message_id: &str,
    payload: &ward_seal::payload::Payload,
) -> ward_proto::threads::PostMessageRequest {
    let header = ward_seal::envelope::Header {
        thread_id: thread_id.to_owned(),
        epoch,
        message_id: message_id.to_owned(),
        sender_id: sender.id.clone(),
        sent_at_ms: 1,
    };
    let envelope =
        ward_seal::envelope::seal(&sender.keys, key, header, payload, &mut os_rng()).unwrap();
    ward_proto::threads::PostMessageRequest {
        envelope: Bytes(envelope.to_bytes()),
        attachments: Vec::new(),
    }
}

/// Live events over a real WebSocket, as an account's app hears them.
pub mod events {
    use std::time::Duration;

    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use ward_proto::events::{Event, EventsAuth};

    use super::Relay;

    pub type Socket = tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >;

    /// Opens `/v1/events` as the account with `token` (`account_id`), past
    /// its `Ready`.
    pub async fn connect(relay: &Relay, account_id: &str, token: &str) -> Socket {
        let url = relay.url.replace("http://", "ws://") + "/v1/events";
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("origin", "http://localhost:8080".parse().unwrap());
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let auth = serde_json::to_string(&EventsAuth {
            token: token.to_owned(),
        })
        .unwrap();
        socket.send(Message::Text(auth.into())).await.unwrap();
        assert_eq!(
            next(&mut socket).await,
            Event::Ready {
                account_id: account_id.to_owned()
            }
        );
        socket
    }

    /// The next event, within 5 s.
    pub async fn next(socket: &mut Socket) -> Event {
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
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Starts a code sign-in for `contact` (`POST /v1/auth/code/start`); the
/// sign-in's id.
pub async fn code_start(relay: &Relay, contact: &str) -> String {
    let started: ward_proto::auth::CodeLoginStarted = relay
        .expect(
            Method::POST,
            "/v1/auth/code/start",
            None,
            Some(&ward_proto::auth::CodeLoginStart {
                contact: contact.into(),
            }),
            StatusCode::OK,
        )
        .await;
    started.login_id
}

/// Sets up TOTP for `token`'s account through the API (enroll, then
/// confirm with the app's current code); the raw seed, the base32 the app
/// was shown, and an authenticator app for it.
pub async fn totp_on(relay: &Relay, token: &str) -> (Vec<u8>, String, totp_rs::TOTP) {
    let enrollment: ward_proto::auth::TotpEnrollment = relay
        .expect(
            Method::POST,
            "/v1/totp/enroll",
            Some(token),
            NONE,
            StatusCode::OK,
        )
        .await;
    let seed = totp_rs::Secret::Encoded(enrollment.secret_base32.clone())
        .to_bytes()
        .unwrap();
    let app = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        0,
        30,
        seed.clone(),
        None,
        String::new(),
    )
    .unwrap();
    let response = relay
        .call(
            Method::POST,
            "/v1/totp/confirm",
            Some(token),
            Some(&ward_proto::auth::TotpCode {
                code: app.generate(unix_now()),
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    (seed, enrollment.secret_base32, app)
}

/// The error code of a refusal's body.
pub async fn error_code(response: Response) -> ErrorCode {
    response.json::<ErrorBody>().await.unwrap().error.code
}
