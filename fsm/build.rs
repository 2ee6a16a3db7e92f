//! Stamps the git commit this crate is built from into `FACEPAY_GIT_COMMIT`, so a trace
//! header names the exact build that wrote it. Built without git (a crate tarball, a
//! vendored copy) the commit is simply unknown: the build never fails for want of it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=FACEPAY_GIT_COMMIT");
    // A packager may set it (no .git in a tarball); otherwise ask git.
    let commit = std::env::var("FACEPAY_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_default();
    // Uncommitted edits are not flagged: the script does not rerun on every source
    // change, so a "-dirty" mark would go stale.
    println!("cargo:rustc-env=FACEPAY_GIT_COMMIT={commit}");
    // Rebuild when HEAD moves: HEAD itself, and the ref it points to (a worktree keeps
    // HEAD in its own git dir, refs in the common one).
    if let Some(dir) = git(&["rev-parse", "--git-dir"]).map(PathBuf::from) {
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        if let (Some(common), Some(head)) = (
            git(&["rev-parse", "--git-common-dir"]),
            git(&["symbolic-ref", "-q", "HEAD"]),
        ) {
            let reference = Path::new(&common).join(head);
            if reference.exists() {
                println!("cargo:rerun-if-changed={}", reference.display());
            }
        }
    }
}
