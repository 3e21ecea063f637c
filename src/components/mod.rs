//! Small view pieces shared by screens.

pub mod attachment;
pub mod code;
pub mod composer;
pub mod notice;
pub mod qr;
pub mod relay_status;
