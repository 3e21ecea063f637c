//! One module per screen.

pub mod code_sign_in;
pub mod enroll;
pub mod home;
pub mod lock;
pub mod new_thread;
pub mod recovery;
pub mod search;
pub mod settings;
pub mod thread;
pub mod welcome;
