//! Running tools: with Ward's PATH and target directory, from the checkout.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use crate::failure::{Failure, Result};
use crate::paths;

/// `program` set up to run from the checkout with Ward's pinned tools first
/// on PATH and the shared target directory.
pub fn command(program: &str) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(paths::root())
        .env("PATH", paths::tool_path())
        .env("CARGO_TARGET_DIR", paths::target_dir());
    command
}

/// `cargo` through rustup's proxy, so `rust-toolchain.toml` decides the
/// toolchain.
pub fn cargo(args: &[&str]) -> Command {
    let mut command = command("cargo");
    command.args(args);
    command
}

/// The first line a tool prints for `--version`, or `None` when it is not
/// installed or does not run.
pub fn version_of(program: &std::path::Path) -> Option<String> {
    let output = Command::new(program)
        .arg("--version")
        .env("PATH", paths::tool_path())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines().next().map(|line| line.trim().to_owned())
}

/// Runs to completion with the terminal attached; a non-zero exit is a
/// failure of `step`.
pub fn status(step: &str, command: &mut Command) -> Result {
    let status = command
        .stdin(Stdio::null())
        .status()
        .map_err(|error| spawn_failure(step, command, &error))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure::new(
            step,
            format!("{} exited with {status}", describe(command)),
        ))
    }
}

/// Runs to completion, echoing stdout line by line and handing each line to
/// `on_line` (stderr stays attached). Returns whether it exited successfully.
pub fn stream(step: &str, command: &mut Command, mut on_line: impl FnMut(&str)) -> Result<bool> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|error| spawn_failure(step, command, &error))?;
    if let Some(stdout) = child.stdout.take() {
        let mut echo = std::io::stdout();
        for line in BufReader::new(stdout)
            .lines()
            .map_while(std::result::Result::ok)
        {
            let _ = writeln!(echo, "{line}");
            on_line(&line);
        }
    }
    let status = child.wait().map_err(|error| {
        Failure::new(step, format!("waiting for {}: {error}", describe(command)))
    })?;
    Ok(status.success())
}

fn spawn_failure(step: &str, command: &Command, error: &std::io::Error) -> Failure {
    Failure::new(
        step,
        format!("could not start {}: {error}", describe(command)),
    )
    .fix("run `cargo xtask setup`, which installs the tools Ward needs")
}

fn describe(command: &Command) -> String {
    let mut words = vec![command.get_program().to_string_lossy().into_owned()];
    words.extend(
        command
            .get_args()
            .map(|arg| arg.to_string_lossy().into_owned()),
    );
    format!("`{}`", words.join(" "))
}
