//! Helpers shared by the CLI tests: run the `credence` binary, expect success or a clean
//! failure, find files in the repository.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the binary with `args`.
pub fn credence(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_credence"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Runs the binary, asserts success and returns stdout.
pub fn ok(args: &[&str]) -> String {
    let o = credence(args);
    assert!(
        o.status.success(),
        "credence {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs the binary, asserts a clean error (a non-zero exit code, not a panic's 101 or a signal,
/// and no panic message) and returns stderr.
pub fn fails(args: &[&str]) -> String {
    let o = credence(args);
    assert!(!o.status.success(), "credence {args:?} succeeded");
    assert!(
        matches!(o.status.code(), Some(c) if c != 101),
        "a clean error exit, not a panic or a signal: {args:?} ended with {:?}",
        o.status
    );
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A path inside the repository, as a string for an argument list.
pub fn path(rel: &str) -> String {
    repo().join(rel).display().to_string()
}
