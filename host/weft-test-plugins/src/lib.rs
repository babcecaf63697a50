//! Test support: the build script compiles `plugins/test-plugins/*` for wasm32-wasip2; these
//! functions hand their components to tests.

use std::path::PathBuf;

/// Where the built test components are.
pub const PLUGINS_DIR: &str = env!("WEFT_TEST_PLUGINS_DIR");

/// The bytes of a test plugin's component, by crate name (`test-provider`, `test-misbehave`).
pub fn component(name: &str) -> Vec<u8> {
    let path = PathBuf::from(PLUGINS_DIR).join(format!("{}.wasm", name.replace('-', "_")));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "test plugin {} is missing ({e}); the build script should have built it",
            path.display()
        )
    })
}
