//! `cargo xtask setup`: install what is missing, at pinned versions, into
//! Ward's cache outside the checkout. Quiet when everything is present.
//!
//! Nothing here downloads a prebuilt binary: Trunk and wasm-bindgen are built
//! from crates.io, wasm-opt comes from npm's `binaryen` package, Chromium
//! from Debian, moto (the S3 server the relay's blob store test runs
//! against) from PyPI.

use std::path::{Path, PathBuf};

use crate::failure::{Failure, Result};
use crate::paths;
use crate::run::{self, version_of};

/// 0.22 needs rustc >= 1.96.1; the pinned toolchain is 1.95.0.
const TRUNK_VERSION: &str = "0.21.14";
/// Must match `wasm_opt` in Trunk.toml and xtask/tools/wasm-opt/package.json.
const WASM_OPT_VERSION: &str = "version 132";

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// moto's S3 server for crates/relay/tests/blob_store_s3.rs, and every
/// package it pulls in, at exact versions (as `pip freeze` listed them after
/// installing `moto[server]==5.2.5` with Python 3.11). A change here
/// reinstalls the virtualenv from scratch on the next `cargo xtask setup`.
const MOTO_REQUIREMENTS: &str = "\
moto[server]==5.2.5
annotated-types==0.8.0
antlr4-python3-runtime==4.13.2
attrs==26.1.0
aws-xray-sdk==2.15.0
blinker==1.9.0
boto3==1.44.8
botocore==1.44.8
certifi==2026.10.19.post1
cffi==2.1.1
cfn-lint==1.58.0
charset-normalizer==3.5.2
click==8.5.1
cryptography==50.0.2
docker==7.2.0
Flask==3.1.3
flask-cors==6.0.5
graphql-core==3.3.2
idna==3.20
itsdangerous==2.2.0
Jinja2==3.1.6
jmespath==1.1.0
joserfc==1.8.0
jsonpatch==1.48
jsonpath-ng==1.16.0
jsonpointer==3.12
jsonschema==4.26.0
jsonschema-path==0.5.0
jsonschema-specifications==2025.9.1
lazy-object-proxy==1.13.0
MarkupSafe==3.0.4
mpmath==1.3.0
networkx==3.6.1
openapi-schema-validator==0.9.0
openapi-spec-validator==0.9.0
pathable==0.6.0
py-partiql-parser==0.6.3
pycparser==3.12
pydantic==2.14.4
pydantic-settings==2.16.3
pydantic_core==2.50.5
pyparsing==3.3.3
python-dateutil==2.9.0.post0
python-dotenv==1.2.4
PyYAML==6.0.4
referencing==0.37.0
regex==2026.11.19
requests==2.34.2
responses==0.26.3
rfc3339-validator==0.1.4
rpds-py==2026.9.1
s3transfer==0.19.3
six==1.17.0
sympy==1.14.0
typing-inspection==0.4.5
typing_extensions==4.16.0
urllib3==2.8.0
Werkzeug==3.1.9
wrapt==2.5.2
xmltodict==1.0.4
";

pub fn run() -> Result {
    wasm_target()?;
    openssl_headers()?;
    trunk()?;
    wasm_bindgen()?;
    wasm_opt()?;
    chromium()?;
    postgresql()?;
    moto()?;
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

/// The moto virtualenv, in Ward's cache.
fn moto_venv() -> PathBuf {
    paths::cache().join("moto-venv")
}

/// moto's S3 server, as `cargo xtask setup` installs it; `cargo xtask test`
/// hands this path to the relay's tests in `WARD_MOTO_SERVER`.
pub fn moto_server() -> PathBuf {
    moto_venv().join("bin/moto_server")
}

/// `moto[server]` and its dependencies from PyPI, at [`MOTO_REQUIREMENTS`],
/// in a virtualenv of their own (`python3 -m venv`) unless the requirements
/// it last installed are the current ones.
fn moto() -> Result {
    let step = "setup: moto S3 server (PyPI, for the relay's blob store test)";
    let dir = moto_venv();
    let stamp = dir.join("ward-installed-requirements.txt");
    let present = std::fs::read_to_string(&stamp).is_ok_and(|s| s == MOTO_REQUIREMENTS)
        && dir.join("bin/python").exists()
        && moto_server().is_file();
    if present {
        return Ok(());
    }
    announce(&format!(
        "installing moto[server] from PyPI into {} (once per machine; about 30 seconds)",
        dir.display()
    ));
    // From scratch: no package of an older pin left behind.
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| Failure::new(step, format!("could not remove {}: {e}", dir.display())))?;
    }
    run::status(step, run::command("python3").arg("-m").arg("venv").arg(&dir)).map_err(|f| {
        f.fix("install Python 3 with its venv module (Debian: `apt-get install -y python3 python3-venv`), then run `cargo xtask setup` again")
    })?;
    let requirements = dir.join("ward-requirements.txt");
    std::fs::write(&requirements, MOTO_REQUIREMENTS).map_err(|e| {
        Failure::new(
            step,
            format!("could not write {}: {e}", requirements.display()),
        )
    })?;
    run::status(
        step,
        run::command(&dir.join("bin/python").to_string_lossy())
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-input",
                "--disable-pip-version-check",
                "--require-virtualenv",
                "--requirement",
            ])
            .arg(&requirements),
    )
    .map_err(|f| {
        f.fix(format!(
            "pip could not install moto: check that PyPI is reachable (`python3 -m pip download --no-deps --dest /tmp '{}'`) and read pip's error above, then run `cargo xtask setup` again (it starts over in {})",
            MOTO_REQUIREMENTS.lines().next().unwrap_or("moto"),
            dir.display()
        ))
    })?;
    std::fs::write(&stamp, MOTO_REQUIREMENTS)
        .map_err(|e| Failure::new(step, format!("could not write {}: {e}", stamp.display())))
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

/// PostgreSQL's server: the relay's tests run a second time against it.
fn postgresql() -> Result {
    if crate::postgres::bin_dir().is_some() {
        return Ok(());
    }
    apt_install(
        "setup: PostgreSQL server",
        &["postgresql"],
        "about a minute",
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

pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}
