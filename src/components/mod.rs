//! Small view pieces shared by screens.

pub(crate) mod attachment;
pub(crate) mod code;
pub(crate) mod composer;
pub(crate) mod consent;
pub(crate) mod emergency;
pub(crate) mod notice;
pub(crate) mod qr;
pub(crate) mod relay_status;
pub(crate) mod viewport;
