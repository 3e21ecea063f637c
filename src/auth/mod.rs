//! Passkeys and sign-in in the browser. Screens call these; they call the
//! browser's WebAuthn API and hand JSON to `api`.

pub mod webauthn;
