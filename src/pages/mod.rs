//! One module per screen.

pub(crate) mod code_sign_in;
pub(crate) mod consent_prompt;
pub(crate) mod enroll;
pub(crate) mod home;
pub(crate) mod lock;
pub(crate) mod new_thread;
pub(crate) mod passkey_window;
pub(crate) mod recovery;
pub(crate) mod search;
pub(crate) mod settings;
pub(crate) mod sign_in_alerts;
pub mod thread;
pub(crate) mod welcome;
