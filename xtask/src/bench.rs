//! `cargo xtask bench`: the crypto core on the host (criterion) and in
//! Chromium (release wasm), and the client's size. Prints numbers to copy
//! into docs/benchmarks.md; asserts nothing about speed.

use crate::failure::{Failure, Result};
use crate::{relay, run, setup, test};

pub fn run() -> Result {
    setup::run()?;
    println!("\n── host: criterion (cargo bench -p ward-seal) ──");
    run::status(
        "bench: host",
        &mut run::cargo(&["bench", "--locked", "-p", "ward-seal", "--bench", "seal"]),
    )?;

    println!("\n── browser: release wasm in headless Chromium ──");
    let mut lines = Vec::new();
    let mut browser = run::cargo(&[
        "test",
        "--locked",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "ward-seal",
        "--features",
        "browser-bench",
        "--test",
        "browser_bench",
        "--",
        "--nocapture",
    ]);
    browser.env("CHROMEDRIVER", setup::CHROMEDRIVER);
    let ok = run::stream("bench: browser", &mut browser, |line| {
        if let Some(at) = line.find("BENCH ") {
            lines.push(line[at + "BENCH ".len()..].to_owned());
        }
    })?;
    if !ok {
        return Err(Failure::new(
            "bench: browser",
            "the browser benchmark failed (see above)",
        ));
    }

    println!("\n── browser: the client rendering a 10 000-message thread ──");
    let mut render = run::cargo(&[
        "test",
        "--locked",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "ward",
        "--features",
        "browser-bench",
        "--test",
        "render_bench",
        "--",
        "--nocapture",
    ]);
    render.env("CHROMEDRIVER", setup::CHROMEDRIVER);
    let ok = run::stream("bench: render", &mut render, |line| {
        if let Some(at) = line.find("BENCH ") {
            lines.push(line[at + "BENCH ".len()..].to_owned());
        }
    })?;
    if !ok {
        return Err(Failure::new(
            "bench: render",
            "the render benchmark failed (see above)",
        ));
    }

    println!("\n── client size ──");
    relay::build_client()?;
    let (file, raw, gzip) = test::wasm_sizes(&crate::paths::dist())?;
    println!("{}: {raw} bytes raw, {gzip} bytes gzip -9", file.display());

    println!("\n── browser summary ──");
    for line in &lines {
        println!("  {line}");
    }
    Ok(())
}
