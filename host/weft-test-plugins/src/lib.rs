//! Test support: the build script compiles `plugins/test-plugins/*` for wasm32-wasip2; these
//! functions hand their components to tests, and the Python and JavaScript examples that
//! `scripts/build-example-plugins.sh` builds (`just test` runs it first).

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

/// Where `scripts/build-example-plugins.sh` puts the Python and JavaScript examples.
pub const EXAMPLES_DIR: &str = env!("WEFT_EXAMPLE_PLUGINS_DIR");

/// The bytes of an example plugin in another language (`python-provider`, `js-provider`).
pub fn example(name: &str) -> Vec<u8> {
    let path = PathBuf::from(EXAMPLES_DIR).join(format!("{}.wasm", name.replace('-', "_")));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "example plugin {} is missing ({e}); build it with scripts/build-example-plugins.sh \
             (`just test` does)",
            path.display()
        )
    })
}
