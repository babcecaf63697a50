//! `weft:plugin/resources`: read-only files of the plugin's resources in the task's tenant,
//! opened through a cap-std `Dir`, so `..`, absolute paths and symlinks cannot leave the root.

use std::io::Read;

use wasmtime::Result;

use super::TaskState;
use crate::bindings::resources::{self, ResourceError};

fn denied_without_root() -> ResourceError {
    ResourceError::Denied("no plugin resources are granted to this task".into())
}

fn from_io(path: &str, error: std::io::Error) -> ResourceError {
    match error.kind() {
        std::io::ErrorKind::NotFound => {
            ResourceError::NotFound(format!("{path}: no such resource"))
        }
        std::io::ErrorKind::PermissionDenied => {
            ResourceError::Denied(format!("{path}: outside this plugin's resources ({error})"))
        }
        _ => ResourceError::Failed(format!("{path}: {error}")),
    }
}

impl resources::Host for TaskState {
    async fn entries(
        &mut self,
        dir: String,
    ) -> Result<std::result::Result<Vec<String>, ResourceError>> {
        let Some(root) = &self.resources else {
            self.deny("resources: none are granted to this task".into());
            return Ok(Err(denied_without_root()));
        };
        let path = if dir.is_empty() { "." } else { dir.as_str() };
        let listed = (|| {
            let folder = root.open_dir(path)?;
            let mut names = Vec::new();
            for entry in folder.entries()? {
                let entry = entry?;
                let mut name = entry.file_name().to_string_lossy().into_owned();
                if entry.file_type()?.is_dir() {
                    name.push('/');
                }
                names.push(name);
            }
            names.sort();
            Ok::<_, std::io::Error>(names)
        })();
        let listed = listed.map_err(|e| from_io(&dir, e));
        if let Err(ResourceError::Denied(reason)) = &listed {
            self.deny(reason.clone());
        }
        Ok(listed)
    }

    async fn read(&mut self, path: String) -> Result<std::result::Result<Vec<u8>, ResourceError>> {
        let limit = self.resource_limit;
        let Some(root) = &self.resources else {
            self.deny("resources: none are granted to this task".into());
            return Ok(Err(denied_without_root()));
        };
        let read = (|| {
            let file = root.open(&path)?;
            let mut bytes = Vec::new();
            file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
            Ok::<_, std::io::Error>(bytes)
        })();
        let read = match read {
            Ok(bytes) if bytes.len() > limit => Err(ResourceError::TooLarge(format!(
                "{path} is larger than {limit} bytes"
            ))),
            Ok(bytes) => Ok(bytes),
            Err(error) => Err(from_io(&path, error)),
        };
        if let Err(ResourceError::Denied(reason)) = &read {
            self.deny(reason.clone());
        }
        Ok(read)
    }
}
