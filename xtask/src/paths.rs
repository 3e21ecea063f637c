//! Where things live: the checkout, and Ward's tool cache outside it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The workspace root (the checkout).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Ward's cache, shared by every clone on this machine so a fresh clone (CI's)
/// finds the tools and the compiled dependencies again: `$WARD_CACHE_DIR`,
/// else `$XDG_CACHE_HOME/ward`, else `~/.cache/ward`.
pub fn cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("WARD_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("ward");
    }
    std::env::var_os("HOME")
        .map_or_else(|| root().join("target"), PathBuf::from)
        .join(".cache")
        .join("ward")
}

/// Where `cargo install --root` puts Trunk and wasm-bindgen.
pub fn tools_root() -> PathBuf {
    cache().join("tools")
}

/// binaryen's wasm-opt, installed from npm at the pinned version.
pub fn wasm_opt_dir() -> PathBuf {
    cache().join("wasm-opt")
}

/// Cargo's target directory. Shared across clones: dependencies compile once
/// per machine, while each clone's own crates still rebuild from its sources.
/// `CARGO_TARGET_DIR` set by the caller wins.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| cache().join("target"), PathBuf::from)
}

/// The built web client.
pub fn dist() -> PathBuf {
    root().join("dist")
}

/// PATH with Ward's pinned tools first, so they win over anything else
/// installed (Debian's broken wasm-opt 108, another Trunk).
pub fn tool_path() -> OsString {
    let mut dirs = vec![
        tools_root().join("bin"),
        wasm_opt_dir().join("node_modules").join(".bin"),
    ];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).unwrap_or_default()
}
