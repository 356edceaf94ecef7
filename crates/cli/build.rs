//! Puts the commit the binary is built from into `--version` (`unknown` outside a git checkout,
//! as in a published package).

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| String::from("unknown"));
    println!("cargo:rustc-env=CALI_REG_COMMIT={commit}");
    // A new commit or checkout changes HEAD or the ref it points at.
    for path in ["../../.git/HEAD", "../../.git/refs/heads"] {
        println!("cargo:rerun-if-changed={path}");
    }
    // A position-dependent executable: the training build links polars, whose 69,000 pointers
    // a position-independent one relocates at every start, copying the pages that hold them
    // (2 ms of each command's start-up, measured). Dynamically linked Linux builds only: the
    // image's static binary (crt-static) has no polars and keeps rustc's static-pie.
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let static_crt = features.split(',').any(|f| f == "crt-static");
    if linux && !static_crt {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
