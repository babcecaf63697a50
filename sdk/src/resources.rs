//! Read-only files of this plugin's resources in the task's tenant (the resource types of its
//! spec). Paths are relative to the plugin's resource root.

pub use crate::bindings::provider::weft::plugin0_1_0::resources::ResourceError;

/// A folder's entries ("" for the root); folders end with `/`.
pub fn entries(dir: &str) -> Result<Vec<String>, ResourceError> {
    crate::backend::resource_entries(dir)
}

/// A file's bytes.
pub fn read(path: &str) -> Result<Vec<u8>, ResourceError> {
    crate::backend::resource_read(path)
}

/// A file as text (invalid UTF-8 replaced).
pub fn read_string(path: &str) -> Result<String, ResourceError> {
    read(path).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}
