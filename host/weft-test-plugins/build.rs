//! Builds the guest test plugins (`plugins/test-plugins/*`) for wasm32-wasip2 with their own
//! target directory (so the outer cargo's lock is not contended) and tells the tests where the
//! components are through `WEFT_TEST_PLUGINS_DIR`.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.join("../..");
    let plugins = root.join("plugins");
    for watched in [
        "plugins/test-plugins",
        "plugins/docker",
        "plugins/hosts",
        "plugins/shell",
        "plugins/Cargo.toml",
        "sdk/src",
        "sdk/Cargo.toml",
        "wit",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let target_dir = root.join("target/plugins");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(plugins.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        // the outer build's flags are for the host, not for guests
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .status()
        .expect("cargo runs to build the test plugins");
    assert!(
        status.success(),
        "building the test plugins for wasm32-wasip2 failed (is the target installed? rustup target add wasm32-wasip2)"
    );
    println!(
        "cargo:rustc-env=WEFT_TEST_PLUGINS_DIR={}",
        target_dir.join("wasm32-wasip2/release").display()
    );
    println!(
        "cargo:rustc-env=WEFT_EXAMPLE_PLUGINS_DIR={}",
        target_dir.join("examples").display()
    );
}
