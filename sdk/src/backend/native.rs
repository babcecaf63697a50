//! Outside a component without the `testing` feature, host calls cannot be answered.

use crate::bindings::provider::weft::plugin0_1_0::log::Level;
use crate::bindings::provider::weft::plugin0_1_0::resources::ResourceError;
use crate::bindings::provider::weft::plugin0_1_0::secrets::SecretError;
use crate::bindings::provider::weft::plugin0_1_0::ssh::{ExecOutput, SshError};
use crate::http::{HttpError, Request, Response};

pub(crate) struct SessionHandle;
pub(crate) struct SecretHandle;

fn no_host() -> ! {
    panic!(
        "weft-plugin-sdk: host functions run only inside a Weft host; enable the `testing` \
         feature and install a `testing::MockHost` to run a plugin natively"
    )
}

pub(crate) fn log(_: Level, _: &str, _: &[(String, String)]) {
    no_host()
}
pub(crate) fn ssh_open(_: &str) -> Result<SessionHandle, SshError> {
    no_host()
}
pub(crate) fn ssh_exec(_: &SessionHandle, _: &str) -> Result<ExecOutput, SshError> {
    no_host()
}
pub(crate) fn ssh_upload(_: &SessionHandle, _: &str, _: &[u8], _: u32) -> Result<(), SshError> {
    no_host()
}
pub(crate) fn ssh_download(_: &SessionHandle, _: &str) -> Result<Vec<u8>, SshError> {
    no_host()
}
pub(crate) fn http_send(_: &Request) -> Result<Response, HttpError> {
    no_host()
}
pub(crate) fn secret_names() -> Vec<String> {
    no_host()
}
pub(crate) fn secret_get(_: &str) -> Result<SecretHandle, SecretError> {
    no_host()
}
pub(crate) fn secret_name(_: &SecretHandle) -> String {
    no_host()
}
pub(crate) fn secret_reveal(_: &SecretHandle) -> String {
    no_host()
}
pub(crate) fn resource_entries(_: &str) -> Result<Vec<String>, ResourceError> {
    no_host()
}
pub(crate) fn resource_read(_: &str) -> Result<Vec<u8>, ResourceError> {
    no_host()
}
