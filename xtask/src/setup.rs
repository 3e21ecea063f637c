//! `cargo xtask setup`: install what is missing, at pinned versions, into
//! Ward's cache outside the checkout. Quiet when everything is present.
//!
//! Nothing here downloads a prebuilt binary: Trunk and wasm-bindgen are built
//! from crates.io, wasm-opt comes from npm's `binaryen` package, Chromium
//! from Debian.

use std::path::Path;

use crate::failure::{Failure, Result};
use crate::paths;
use crate::run::{self, version_of};

/// 0.22 needs rustc >= 1.96.1; the pinned toolchain is 1.95.0.
const TRUNK_VERSION: &str = "0.21.14";
/// Must match `wasm_opt` in Trunk.toml and xtask/tools/wasm-opt/package.json.
const WASM_OPT_VERSION: &str = "version 132";

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub fn run() -> Result {
    wasm_target()?;
    openssl_headers()?;
    trunk()?;
    wasm_bindgen()?;
    wasm_opt()?;
    chromium()?;
    npm_ci(
        "setup: end-to-end test packages",
        &paths::root().join("tests/e2e"),
    )?;
    Ok(())
}

fn announce(what: &str) {
    eprintln!("setup: {what}");
}

fn wasm_target() -> Result {
    let step = "setup: wasm32 target";
    let sysroot = std::process::Command::new("rustc")
        .args(["--print", "sysroot"])
        .current_dir(paths::root())
        .output()
        .map_err(|e| {
            Failure::new(step, format!("could not run rustc: {e}")).fix("install Rust with rustup")
        })?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_owned();
    if Path::new(&sysroot)
        .join("lib/rustlib/wasm32-unknown-unknown")
        .is_dir()
    {
        return Ok(());
    }
    announce("adding the wasm32-unknown-unknown target (seconds)");
    run::status(
        step,
        run::command("rustup").args(["target", "add", "wasm32-unknown-unknown"]),
    )
    .map_err(|f| f.fix("run `rustup target add wasm32-unknown-unknown` by hand and read its error"))
}

fn trunk() -> Result {
    let bin = paths::tools_root().join("bin/trunk");
    let wanted = format!("trunk {TRUNK_VERSION}");
    if version_of(&bin).as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    announce(&format!(
        "building Trunk {TRUNK_VERSION} from crates.io into {} (once per machine; about 5 to 11 minutes on 2 cores)",
        paths::tools_root().display()
    ));
    run::status(
        "setup: Trunk",
        &mut cargo_install(&["--locked", &format!("trunk@{TRUNK_VERSION}")]),
    )
        .map_err(|f| f.fix("check that crates.io is reachable (`cargo info trunk`), then run `cargo xtask setup` again"))
}

fn wasm_bindgen() -> Result {
    let step = "setup: wasm-bindgen CLI";
    let version = locked_version("wasm-bindgen").ok_or_else(|| {
        Failure::new(step, "Cargo.lock names no wasm-bindgen version")
            .fix("run `cargo generate-lockfile`")
    })?;
    let wanted = format!("wasm-bindgen {version}");
    let bin = paths::tools_root().join("bin");
    let runner_ok =
        version_of(&bin.join("wasm-bindgen-test-runner")).is_some_and(|v| v.ends_with(&version));
    if version_of(&bin.join("wasm-bindgen")).as_deref() == Some(wanted.as_str()) && runner_ok {
        return Ok(());
    }
    announce(&format!(
        "building wasm-bindgen-cli {version} (matches Cargo.lock; once per machine; about 3 to 7 minutes on 2 cores)"
    ));
    // Not --locked: the CLI's lockfile names a webpki-roots version that is
    // missing from the registry.
    run::status(
        step,
        &mut cargo_install(&["wasm-bindgen-cli", "--version", &version]),
    )
    .map_err(|f| f.fix("check that crates.io is reachable, then run `cargo xtask setup` again"))
}

fn wasm_opt() -> Result {
    let step = "setup: wasm-opt (binaryen from npm)";
    let dir = paths::wasm_opt_dir();
    let source = paths::root().join("xtask/tools/wasm-opt");
    let bin = dir.join("node_modules/.bin/wasm-opt");
    let present = version_of(&bin).is_some_and(|v| v.contains(WASM_OPT_VERSION))
        && same_file_contents(
            &source.join("package-lock.json"),
            &dir.join("package-lock.json"),
        );
    if present {
        return Ok(());
    }
    announce("installing binaryen's wasm-opt from npm (seconds)");
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::new(step, format!("could not create {}: {e}", dir.display())))?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(source.join(file), dir.join(file))
            .map_err(|e| Failure::new(step, format!("could not copy {file}: {e}")))?;
    }
    run::status(step, &mut npm_ci_command(&dir)).map_err(|f| {
        f.fix("check that the npm registry is reachable (`npm view binaryen version`)")
    })
}

/// webauthn-rs and the SMTP sender link OpenSSL: its headers and pkg-config
/// must be there for the relay to build.
fn openssl_headers() -> Result {
    let step = "setup: OpenSSL headers (libssl-dev, pkg-config)";
    let present = std::process::Command::new("pkg-config")
        .args(["--exists", "openssl"])
        .status()
        .is_ok_and(|status| status.success());
    if present {
        return Ok(());
    }
    apt_install(step, &["libssl-dev", "pkg-config"], "about a minute")
}

fn apt_install(step: &str, packages: &[&str], how_long: &str) -> Result {
    let fix = format!(
        "run `sudo apt-get update && sudo apt-get install -y {}`",
        packages.join(" ")
    );
    if !is_root() {
        return Err(Failure::new(step, "missing, and installing it needs root").fix(fix));
    }
    announce(&format!(
        "installing Debian's {} ({how_long})",
        packages.join(" ")
    ));
    run::status(step, run::command("apt-get").args(["update", "-q"]))
        .map_err(|f| f.fix(fix.clone()))?;
    run::status(
        step,
        run::command("apt-get")
            .args(["install", "-y", "-q"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
    .map_err(|f| f.fix(fix))
}

fn chromium() -> Result {
    if Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file() {
        return Ok(());
    }
    apt_install(
        "setup: Chromium and ChromeDriver",
        &["chromium", "chromium-driver"],
        "about 2 minutes",
    )
}

/// `npm ci` in `dir` unless the lockfile it last installed is the current one.
fn npm_ci(step: &str, dir: &Path) -> Result {
    let stamp = dir.join("node_modules/.ward-installed-lock.json");
    let lock = dir.join("package-lock.json");
    if same_file_contents(&lock, &stamp) {
        return Ok(());
    }
    announce(&format!(
        "installing npm packages in {} (seconds)",
        dir.display()
    ));
    run::status(step, &mut npm_ci_command(dir)).map_err(|f| {
        f.fix("check that the npm registry is reachable, then run `cargo xtask setup` again")
    })?;
    std::fs::copy(&lock, &stamp)
        .map(|_| ())
        .map_err(|e| Failure::new(step, format!("could not write {}: {e}", stamp.display())))
}

fn npm_ci_command(dir: &Path) -> std::process::Command {
    let mut command = run::command("npm");
    command
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        // Playwright must use Debian's Chromium: never fetch a browser.
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    command
}

fn cargo_install(args: &[&str]) -> std::process::Command {
    let root = paths::tools_root();
    let mut command = run::cargo(&["install", "--root"]);
    command
        .arg(root)
        .args(args)
        // A throwaway target directory, not Ward's: the tools' build
        // intermediates are large and never reused.
        .env_remove("CARGO_TARGET_DIR")
        // The tools' own release profiles (fat LTO) double their build time
        // for no gain in a build tool (measured in ../shared/TOOLCHAIN.md).
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1");
    command
}

/// The version Cargo.lock pins for `package`.
pub fn locked_version(package: &str) -> Option<String> {
    let lock = std::fs::read_to_string(paths::root().join("Cargo.lock")).ok()?;
    let name_line = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == name_line {
            let version = lines.next()?.trim().strip_prefix("version = \"")?;
            return version.strip_suffix('"').map(str::to_owned);
        }
    }
    None
}

fn same_file_contents(a: &Path, b: &Path) -> bool {
    matches!((std::fs::read(a), std::fs::read(b)), (Ok(a), Ok(b)) if a == b)
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}
