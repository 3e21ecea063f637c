//! Passkeys in the browser. The session service calls these; they call the
//! browser's WebAuthn API and hand the relay's JSON back. Inside another
//! site's frame, new passkeys are made in Ward's own window (`popup`).

pub(crate) mod ceremony;
pub(crate) mod popup;
pub mod webauthn;
