//! `cargo xtask precache`: Trunk's post-build hook. Writes the service
//! worker, `sw.js`, into Trunk's staging directory with the exact list of
//! shell files this build made and a version that changes whenever any of
//! their bytes do, so a new build installs a new worker (which the client
//! offers as "A new version of Ward is ready") and nothing is listed by hand.

use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};

use crate::failure::{Failure, Result};

const STEP: &str = "precache: the service worker's shell list";

/// The worker's source; the lines this step writes go above it.
const TEMPLATE: &str = "public/sw.js";

/// Runs as Trunk's hook: `TRUNK_STAGING_DIR` is the build being staged.
pub fn run() -> Result {
    let staging = std::env::var_os("TRUNK_STAGING_DIR")
        .map(PathBuf::from)
        .ok_or_else(|| {
            Failure::new(STEP, "TRUNK_STAGING_DIR is not set")
                .fix("this runs as Trunk's post_build hook (Trunk.toml); build with `trunk build`")
        })?;
    let template = std::fs::read_to_string(TEMPLATE)
        .map_err(|e| Failure::new(STEP, format!("cannot read {TEMPLATE}: {e}")))?;
    let worker = worker(&staging, &template)?;
    std::fs::write(staging.join("sw.js"), worker)
        .map_err(|e| Failure::new(STEP, format!("cannot write sw.js: {e}")))
}

/// The worker for the build in `dir`: its shell list and version, then
/// `template`.
fn worker(dir: &Path, template: &str) -> Result<String> {
    let files = shell_files(dir)?;
    let mut hasher = DefaultHasher::new();
    hasher.write(template.as_bytes());
    for name in &files {
        let bytes = std::fs::read(dir.join(name))
            .map_err(|e| Failure::new(STEP, format!("cannot read {name}: {e}")))?;
        hasher.write(name.as_bytes());
        hasher.write(&bytes);
    }
    let urls: Vec<String> = files
        .iter()
        .map(|name| {
            let url = if name == "index.html" {
                "/".to_owned()
            } else {
                format!("/{name}")
            };
            format!("{url:?}")
        })
        .collect();
    Ok(format!(
        "// Written by `cargo xtask precache` (Trunk's post_build hook) from {TEMPLATE}.\n\
         const VERSION = \"{:016x}\";\n\
         const SHELL = [{}];\n\n{template}",
        hasher.finish(),
        urls.join(", ")
    ))
}

/// The files the app needs to start (sorted): the page, its script, wasm
/// and styles, the manifest and the icons. Not the worker itself, nor
/// what only crawlers or an install sheet ask for (robots.txt, screenshots).
fn shell_files(dir: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Failure::new(STEP, format!("cannot list {}: {e}", dir.display())))?;
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if entry.file_type().is_ok_and(|t| t.is_file()) && is_shell(&name) {
            files.push(name);
        }
    }
    files.sort();
    if !files.iter().any(|f| f == "index.html") || !files.iter().any(|f| f.ends_with(".wasm")) {
        return Err(Failure::new(
            STEP,
            format!("no index.html or wasm in {}", dir.display()),
        ));
    }
    Ok(files)
}

fn is_shell(name: &str) -> bool {
    let extension = name.rsplit_once('.').map_or("", |(_, e)| e);
    name != "sw.js"
        && !name.starts_with("screenshot")
        && matches!(
            extension,
            "html" | "js" | "wasm" | "css" | "webmanifest" | "svg" | "png" | "ico" | "json"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "ward-precache-{}-{}",
            std::process::id(),
            files.iter().map(|(_, b)| b.len()).sum::<usize>()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, body) in files {
            std::fs::write(dir.join(name), body).unwrap();
        }
        dir
    }

    #[test]
    fn lists_the_shell_only_and_versions_by_content() {
        let dir = build(&[
            ("index.html", "<html>"),
            ("ward-0123456789abcdef.js", "js"),
            ("ward-0123456789abcdef_bg.wasm", "wasm"),
            ("main-0123456789abcdef.css", "css"),
            ("icon-192.png", "png"),
            ("robots.txt", "no"),
            ("screenshot-narrow.png", "big"),
            ("sw.js", "old worker"),
        ]);
        let first = worker(&dir, "self.x = 1;").unwrap();
        assert!(first.contains(
            r#"const SHELL = ["/icon-192.png", "/", "/main-0123456789abcdef.css", "/ward-0123456789abcdef.js", "/ward-0123456789abcdef_bg.wasm"];"#
        ), "{first}");
        assert!(first.ends_with("self.x = 1;"));
        // An unhashed file's bytes change the version too.
        std::fs::write(dir.join("icon-192.png"), "new png").unwrap();
        let second = worker(&dir, "self.x = 1;").unwrap();
        let version = |w: &str| w.lines().nth(1).unwrap().to_owned();
        assert_ne!(version(&first), version(&second));
        assert_eq!(
            version(&second),
            version(&worker(&dir, "self.x = 1;").unwrap())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_a_build_without_its_page() {
        let dir = build(&[("robots.txt", "no no no no")]);
        assert!(worker(&dir, "").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
