//! Builds the bundled plugins (`plugins/docker`, `plugins/hosts`, `plugins/shell`) for wasm32-wasip2 into
//! `target/plugins` (the test plugins' target directory) and lists the bundled catalog
//! (`catalog/`) for `include_str!`.
use std::fmt::Write;
use std::path::PathBuf;
use std::process::Command;

const PLUGINS: [&str; 3] = ["docker-provider", "hosts-provider", "shell-automator"];

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.join("../..");
    for watched in [
        "plugins/docker",
        "plugins/hosts",
        "plugins/shell",
        "plugins/Cargo.toml",
        "sdk/src",
        "sdk/Cargo.toml",
        "wit",
        "catalog",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let target_dir = root.join("target/plugins");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(root.join("plugins/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        // the outer build's flags are for the host, not for guests
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS");
    for plugin in PLUGINS {
        command.args(["-p", plugin]);
    }
    let status = command
        .status()
        .expect("cargo runs to build the bundled plugins");
    assert!(
        status.success(),
        "building the bundled plugins for wasm32-wasip2 failed (is the target installed? rustup target add wasm32-wasip2)"
    );

    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut code = String::from(
        "/// The bundled components, by crate name.\npub const COMPONENTS: &[(&str, &[u8])] = &[\n",
    );
    for plugin in PLUGINS {
        let path = target_dir
            .join("wasm32-wasip2/release")
            .join(format!("{}.wasm", plugin.replace('-', "_")));
        writeln!(
            code,
            "    ({plugin:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    code.push_str("];\n\n/// The bundled catalog's files: (folder, file text).\npub const CATALOG_FILES: &[(&str, &str)] = &[\n");
    let catalog = root.join("catalog");
    let mut files = Vec::new();
    for kind in std::fs::read_dir(&catalog).expect("catalog/ is readable") {
        let kind = kind.expect("catalog/ lists").path();
        if !kind.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&kind).expect("a catalog folder is readable") {
            let file = file.expect("a catalog folder lists").path();
            if file.extension().is_some_and(|e| e == "json") {
                files.push((
                    kind.file_name()
                        .expect("a folder has a name")
                        .to_string_lossy()
                        .into_owned(),
                    file,
                ));
            }
        }
    }
    files.sort();
    for (kind, file) in files {
        writeln!(
            code,
            "    ({kind:?}, include_str!({:?})),",
            file.display().to_string()
        )
        .expect("writing to a String");
    }
    code.push_str("];\n");
    std::fs::write(out.join("bundled.rs"), code).expect("OUT_DIR is writable");
}
