//! A native mock host, for unit tests of plugins with `cargo test` (feature `testing`).
//!
//! It answers the same calls the real host does and keeps its rules where they matter to a
//! plugin: an SSH target or URL it was not told about is denied, `authorization` is a
//! forbidden header, resource paths cannot leave the root. It records what the plugin did.
//!
//! ```ignore
//! let host = MockHost::new()
//!     .ssh_target("node-1", |command| ExecOutput::ok(format!("ran {command}")))
//!     .http("GET", "https://api.example.com/v1/servers", Response::new(200, "[]"))
//!     .secret("api_key", "s3cret")
//!     .resource("cookbooks/base.tar", b"...");
//! host.install();
//! let result = MyProvider::create(task);
//! assert_eq!(host.commands(), vec![("node-1".into(), "uname -a".into())]);
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::bindings::provider::weft::plugin0_1_0::log::Level;
use crate::http::{Request, Response};
use crate::ssh::ExecOutput;

type ExecFn = Box<dyn FnMut(&str) -> ExecOutput>;

/// A line the plugin logged.
#[derive(Debug, Clone)]
pub struct Logged {
    pub level: Level,
    pub message: String,
    pub fields: Vec<(String, String)>,
}

#[derive(Default)]
struct State {
    targets: BTreeMap<String, ExecFn>,
    files: BTreeMap<(String, String), Vec<u8>>,
    uploads: Vec<(String, String, Vec<u8>, u32)>,
    commands: Vec<(String, String)>,
    responses: Vec<(String, String, Response)>,
    requests: Vec<Request>,
    secrets: BTreeMap<String, String>,
    reveals: Vec<String>,
    resources: BTreeMap<String, Vec<u8>>,
    logs: Vec<Logged>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<RefCell<State>>>> = const { RefCell::new(None) };
}

/// A host for one test thread; [`MockHost::install`] makes the SDK's calls go to it.
#[derive(Clone, Default)]
pub struct MockHost {
    state: Rc<RefCell<State>>,
}

impl ExecOutput {
    /// Exit code 0 with this stdout.
    pub fn ok(stdout: impl Into<String>) -> ExecOutput {
        ExecOutput {
            exit_code: 0,
            stdout: stdout.into(),
            stderr: String::new(),
            truncated: false,
        }
    }

    /// This exit code with this stderr.
    pub fn failed(exit_code: i32, stderr: impl Into<String>) -> ExecOutput {
        ExecOutput {
            exit_code,
            stdout: String::new(),
            stderr: stderr.into(),
            truncated: false,
        }
    }
}

impl MockHost {
    pub fn new() -> MockHost {
        MockHost::default()
    }

    /// Grants an SSH target whose commands `exec` answers.
    pub fn ssh_target(self, name: &str, exec: impl FnMut(&str) -> ExecOutput + 'static) -> Self {
        self.state
            .borrow_mut()
            .targets
            .insert(name.to_string(), Box::new(exec));
        self
    }

    /// A file on a target's node, for downloads.
    pub fn node_file(self, target: &str, path: &str, data: impl Into<Vec<u8>>) -> Self {
        self.state
            .borrow_mut()
            .files
            .insert((target.to_string(), path.to_string()), data.into());
        self
    }

    /// Grants `method url` and answers it with `response`.
    pub fn http(self, method: &str, url: &str, response: Response) -> Self {
        self.state.borrow_mut().responses.push((
            method.to_ascii_uppercase(),
            url.to_string(),
            response,
        ));
        self
    }

    pub fn secret(self, name: &str, value: &str) -> Self {
        self.state
            .borrow_mut()
            .secrets
            .insert(name.to_string(), value.to_string());
        self
    }

    /// A file of the plugin's resources.
    pub fn resource(self, path: &str, data: impl Into<Vec<u8>>) -> Self {
        self.state
            .borrow_mut()
            .resources
            .insert(path.trim_start_matches("./").to_string(), data.into());
        self
    }

    /// Makes this host answer the SDK's calls on this thread.
    pub fn install(&self) {
        CURRENT.with(|current| *current.borrow_mut() = Some(self.state.clone()));
    }

    /// Commands run, as (target, command).
    pub fn commands(&self) -> Vec<(String, String)> {
        self.state.borrow().commands.clone()
    }

    /// Files uploaded, as (target, path, data, mode).
    pub fn uploads(&self) -> Vec<(String, String, Vec<u8>, u32)> {
        self.state.borrow().uploads.clone()
    }

    /// Requests sent (including refused ones).
    pub fn requests(&self) -> Vec<Request> {
        self.state.borrow().requests.clone()
    }

    /// Names of the secrets revealed, in order.
    pub fn reveals(&self) -> Vec<String> {
        self.state.borrow().reveals.clone()
    }

    /// Log lines, in order.
    pub fn logs(&self) -> Vec<Logged> {
        self.state.borrow().logs.clone()
    }
}

fn with_state<T>(f: impl FnOnce(&mut State) -> T) -> T {
    CURRENT.with(|current| {
        let current = current.borrow();
        let state = current
            .as_ref()
            .expect("no MockHost is installed on this thread: call MockHost::install() first");
        let mut state = state.borrow_mut();
        f(&mut state)
    })
}

pub(crate) mod backend {
    use super::with_state;
    use crate::bindings::provider::weft::plugin0_1_0::log::Level;
    use crate::bindings::provider::weft::plugin0_1_0::resources::ResourceError;
    use crate::bindings::provider::weft::plugin0_1_0::secrets::SecretError;
    use crate::bindings::provider::weft::plugin0_1_0::ssh::{ExecOutput, SshError};
    use crate::http::{HttpError, Request, Response, Url};

    pub(crate) struct SessionHandle(String);
    pub(crate) struct SecretHandle(String);

    pub(crate) fn log(level: Level, message: &str, fields: &[(String, String)]) {
        with_state(|s| {
            s.logs.push(super::Logged {
                level,
                message: message.to_string(),
                fields: fields.to_vec(),
            })
        });
    }

    pub(crate) fn ssh_open(target: &str) -> Result<SessionHandle, SshError> {
        with_state(|s| {
            if s.targets.contains_key(target) {
                Ok(SessionHandle(target.to_string()))
            } else {
                Err(SshError::Denied(format!(
                    "ssh target '{target}' is not granted to this task"
                )))
            }
        })
    }

    pub(crate) fn ssh_exec(session: &SessionHandle, command: &str) -> Result<ExecOutput, SshError> {
        with_state(|s| {
            s.commands.push((session.0.clone(), command.to_string()));
            match s.targets.get_mut(&session.0) {
                Some(exec) => Ok(exec(command)),
                None => Err(SshError::Denied(format!(
                    "ssh target '{}' is not granted to this task",
                    session.0
                ))),
            }
        })
    }

    pub(crate) fn ssh_upload(
        session: &SessionHandle,
        path: &str,
        data: &[u8],
        mode: u32,
    ) -> Result<(), SshError> {
        with_state(|s| {
            s.uploads
                .push((session.0.clone(), path.to_string(), data.to_vec(), mode));
            s.files
                .insert((session.0.clone(), path.to_string()), data.to_vec());
            Ok(())
        })
    }

    pub(crate) fn ssh_download(session: &SessionHandle, path: &str) -> Result<Vec<u8>, SshError> {
        with_state(|s| {
            s.files
                .get(&(session.0.clone(), path.to_string()))
                .cloned()
                .ok_or_else(|| SshError::Failed(format!("reading {path} exited with 1")))
        })
    }

    pub(crate) fn http_send(request: &Request) -> Result<Response, HttpError> {
        Url::parse(&request.url)?;
        with_state(|s| {
            s.requests.push(request.clone());
            if let Some((name, _)) = request.headers.iter().find(|(k, _)| {
                k.eq_ignore_ascii_case("authorization")
                    || k.eq_ignore_ascii_case("proxy-authorization")
                    || k.eq_ignore_ascii_case("host")
            }) {
                return Err(HttpError::ForbiddenHeader(format!(
                    "the host does not let plugins set '{name}'"
                )));
            }
            s.responses
                .iter()
                .find(|(method, url, _)| *method == request.method && *url == request.url)
                .map(|(_, _, response)| response.clone())
                .ok_or_else(|| {
                    HttpError::Denied("the host refused this endpoint for this task".into())
                })
        })
    }

    pub(crate) fn secret_names() -> Vec<String> {
        with_state(|s| s.secrets.keys().cloned().collect())
    }

    pub(crate) fn secret_get(name: &str) -> Result<SecretHandle, SecretError> {
        with_state(|s| {
            if s.secrets.contains_key(name) {
                Ok(SecretHandle(name.to_string()))
            } else {
                Err(SecretError::NotFound(format!(
                    "this task carries no secret named '{name}'"
                )))
            }
        })
    }

    pub(crate) fn secret_name(secret: &SecretHandle) -> String {
        secret.0.clone()
    }

    pub(crate) fn secret_reveal(secret: &SecretHandle) -> String {
        with_state(|s| {
            s.reveals.push(secret.0.clone());
            s.secrets.get(&secret.0).cloned().unwrap_or_default()
        })
    }

    fn inside(path: &str) -> Result<String, ResourceError> {
        if path.starts_with('/') || path.split('/').any(|part| part == "..") {
            return Err(ResourceError::Denied(format!(
                "{path}: outside this plugin's resources"
            )));
        }
        Ok(path.trim_start_matches("./").to_string())
    }

    pub(crate) fn resource_entries(dir: &str) -> Result<Vec<String>, ResourceError> {
        let dir = inside(dir)?;
        let prefix = match dir.trim_end_matches('/') {
            "" | "." => String::new(),
            d => format!("{d}/"),
        };
        with_state(|s| {
            let mut names: Vec<String> = s
                .resources
                .keys()
                .filter_map(|k| k.strip_prefix(&prefix))
                .map(|rest| match rest.split_once('/') {
                    Some((folder, _)) => format!("{folder}/"),
                    None => rest.to_string(),
                })
                .collect();
            names.dedup();
            if names.is_empty() && !prefix.is_empty() {
                return Err(ResourceError::NotFound(format!("{dir}: no such resource")));
            }
            Ok(names)
        })
    }

    pub(crate) fn resource_read(path: &str) -> Result<Vec<u8>, ResourceError> {
        let path = inside(path)?;
        with_state(|s| {
            s.resources
                .get(&path)
                .cloned()
                .ok_or_else(|| ResourceError::NotFound(format!("{path}: no such resource")))
        })
    }
}
