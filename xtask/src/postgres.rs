//! A throwaway PostgreSQL server for the relay's tests, for
//! `cargo xtask dev --postgres` and for `cargo xtask bench relay`: the
//! `ward-pgserver` crate (which the relay's fault tests use too), its
//! failures told as xtask's.

pub use ward_pgserver::{Server, bin_dir};

use crate::failure::{Failure, Result};

/// Starts a new server (see [`Server::start`]); `purpose` names its
/// directory (`tests`, `dev`, `bench`).
pub fn start(purpose: &str) -> Result<Server> {
    Server::start(purpose).map_err(|error| {
        let failure = Failure::new(error.step(), error.detail());
        match error.fix() {
            Some(fix) => failure.fix(fix),
            None => failure,
        }
    })
}
