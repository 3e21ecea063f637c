//! Passkeys in the browser. The session service calls these; they call the
//! browser's WebAuthn API and hand the relay's JSON back.

pub(crate) mod ceremony;
pub mod webauthn;
