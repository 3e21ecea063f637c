//! The relay API's wire types.
//!
//! Every request and response body that crosses between the web client, the
//! relay and the clinic agent is defined here once, so the two ends cannot
//! drift apart. Types are plain data: no I/O, no cryptography.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod health;

pub use health::{HEALTH_PATH, Health, HealthStatus};
