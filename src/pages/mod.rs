//! One module per screen.

pub mod code_sign_in;
pub mod enroll;
pub mod home;
pub mod lock;
pub mod recovery;
pub mod settings;
pub mod welcome;
