//! Makes sure `web/dist` exists before the `Embed` derive looks at it: a debug build resolves
//! the folder when it compiles and reads files from it at run time, so a UI built after the
//! server is still served. A release build embeds the folder, and rebuilds when it changes.

fn main() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/dist");
    if let Err(e) = std::fs::create_dir_all(&dist) {
        println!("cargo::warning=cannot create {}: {e}", dist.display());
    }
    println!("cargo::rerun-if-changed=../../web/dist");
}
