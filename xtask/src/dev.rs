//! `cargo xtask dev`: build everything, then become the relay.

use std::os::unix::process::CommandExt;

use crate::failure::{Failure, Result};
use crate::{paths, relay, setup};

const LISTEN: &str = "127.0.0.1:8080";

pub fn run() -> Result {
    setup::run()?;
    relay::build_client()?;
    let bin = relay::build_relay()?;
    let data = paths::root().join("data");
    println!(
        "\nWard is starting on http://localhost:8080\n\
         \n  open  http://localhost:8080 in a browser (use `localhost`: passkeys need a host name, not 127.0.0.1)\
         \n  data  {} (SQLite, created on first run)\
         \n  stop  Ctrl-C\n",
        data.display()
    );
    // Become the relay, so Ctrl-C reaches it directly and it shuts down
    // gracefully with nothing left behind.
    let error = std::process::Command::new(&bin)
        .args(["serve", "--listen", LISTEN, "--data"])
        .arg(&data)
        .arg("--static")
        .arg(paths::dist())
        .current_dir(paths::root())
        .exec();
    Err(Failure::new(
        "dev: start the relay",
        format!("could not run {}: {error}", bin.display()),
    ))
}
