"""Helpers for Weft plugins written in Python (componentize-py).

A provider module defines ``class ProviderApi(weft_plugin.Provider)``; an automator module
``class AutomatorApi(weft_plugin.Automator)``. Operations a plugin does not implement answer
``unsupported``. Build with::

    componentize-py -d WEFT/wit/weft-plugin -w provider componentize \\
        -p WEFT/sdk/python -p . app -o my_plugin.wasm

Everything here runs inside the sandbox; the host grants each capability per task.
"""

from typing import Dict, List, Optional, Tuple

from componentize_py_types import Err, Ok, Some
from wit_world.imports import log as _log
from wit_world.imports import outgoing_handler, resources, secrets, ssh, streams
from wit_world.imports import wasi_http_types as http_types
from wit_world.imports.weft_plugin_types import (
    CapabilityRequest,
    KeyValue,
    ParameterSet,
    PluginError_Failed,
    PluginError_Transient,
    PluginError_Unsupported,
    PluginSpec,
    Task,
    TaskResult,
)

__all__ = [
    "Provider", "Automator", "spec", "result", "fields", "log", "failed", "transient",
    "unsupported", "http", "ssh_exec", "read_resource", "reveal",
]


# --- errors ------------------------------------------------------------------------------

def failed(message: str) -> Err:
    """An error not worth retrying: ``raise failed("...")``."""
    return Err(PluginError_Failed(message))


def transient(message: str) -> Err:
    """An error worth retrying (a timeout, a machine not up yet)."""
    return Err(PluginError_Transient(message))


def unsupported(operation: str) -> Err:
    return Err(PluginError_Unsupported(f"this plugin does not implement {operation}"))


# --- describing ----------------------------------------------------------------------------

def spec(name: str, description: str, http_hosts: List[str] = (), unix_sockets: List[str] = (),
         ssh: bool = False) -> PluginSpec:
    """A type spec with no fields: the smallest a plugin can describe."""
    empty = ParameterSet(fields=[], required=[])
    return PluginSpec(
        name=name, description=description, admin=empty, user=ParameterSet(fields=[], required=[]),
        resource_types=[],
        needs=CapabilityRequest(http_hosts=list(http_hosts), unix_sockets=list(unix_sockets),
                                ssh=ssh),
    )


# --- tasks -----------------------------------------------------------------------------------

def fields(pairs: List[KeyValue]) -> Dict[str, str]:
    """Key-value lists (provider fields, prior results, action fields) as a dict."""
    return {kv.key: kv.value for kv in pairs}


def result(results: Optional[Dict[str, str]] = None, hostname: Optional[str] = None,
           ip_addresses: Optional[Dict[str, str]] = None) -> TaskResult:
    return TaskResult(
        results=[KeyValue(k, v) for k, v in (results or {}).items()],
        hostname=hostname,
        ip_addresses=[KeyValue(k, v) for k, v in (ip_addresses or {}).items()],
    )


def log(level: str, message: str, **fields: str) -> None:
    """``log("info", "creating", node=task.node.id)``: a line in the task's log."""
    _log.log(_log.Level[level.upper()], message, [(k, str(v)) for k, v in fields.items()])


# --- capabilities --------------------------------------------------------------------------

def http(method: str, url: str, headers: Optional[Dict[str, str]] = None,
         body: bytes = b"") -> Tuple[int, Dict[str, str], bytes]:
    """One HTTP exchange over wasi:http; the host checks the URL against the task's grant."""
    scheme, _, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    request = http_types.OutgoingRequest(
        http_types.Fields.from_list([(k, v.encode()) for k, v in (headers or {}).items()]))
    methods = {"GET": http_types.Method_Get(), "POST": http_types.Method_Post(),
               "PUT": http_types.Method_Put(), "DELETE": http_types.Method_Delete(),
               "PATCH": http_types.Method_Patch(), "HEAD": http_types.Method_Head()}
    request.set_method(methods.get(method.upper(), http_types.Method_Other(method.upper())))
    request.set_scheme(http_types.Scheme_Https() if scheme == "https" else http_types.Scheme_Http())
    request.set_authority(authority)
    request.set_path_with_query(slash + path if slash else "/")
    outgoing = request.body()
    pending = outgoing_handler.handle(request, None)
    stream = outgoing.write()
    for start in range(0, len(body), 4096):
        stream.blocking_write_and_flush(body[start:start + 4096])
    stream.__exit__(None, None, None)
    http_types.OutgoingBody.finish(outgoing, None)
    while True:
        answer = pending.get()
        if answer is not None:
            break
        pending.subscribe().block()
    response = answer.value.value if isinstance(answer, Some) else answer
    if isinstance(response, Ok):
        response = response.value
    if isinstance(response, Err):
        raise response
    status = response.status()
    response_headers = {k: v.decode(errors="replace") for k, v in response.headers().entries()}
    incoming = response.consume()
    body_stream = incoming.stream()
    data = b""
    while True:
        try:
            data += body_stream.blocking_read(65536)
        except Err as end:
            if isinstance(end.value, streams.StreamError_Closed):
                break
            raise
    body_stream.__exit__(None, None, None)
    http_types.IncomingBody.finish(incoming)
    return status, response_headers, data


def ssh_exec(target: str, command: str) -> Tuple[int, str, str]:
    """Runs a command on a granted target: (exit code, stdout, stderr)."""
    with ssh.open(target) as session:
        out = session.exec(command)
        return out.exit_code, out.stdout, out.stderr


def read_resource(path: str) -> bytes:
    """A file of this plugin's resources in the task's tenant."""
    return resources.read(path)


def reveal(name: str) -> str:
    """A secret's value; the host audits the reveal."""
    with secrets.get(name) as secret:
        return secrets.reveal(secret)


# --- base classes ----------------------------------------------------------------------------

class Provider:
    """Subclass as ``class ProviderApi(weft_plugin.Provider)`` and override what you do."""

    def validate(self, fields: List[KeyValue]) -> None:
        return None

    def create(self, task: Task) -> TaskResult:
        raise unsupported("create")

    def confirm(self, task: Task) -> TaskResult:
        raise unsupported("confirm")

    def delete(self, task: Task) -> TaskResult:
        raise unsupported("delete")


class Automator:
    """Subclass as ``class AutomatorApi(weft_plugin.Automator)`` and override what you do."""

    def validate(self, fields: List[KeyValue]) -> None:
        return None

    def bootstrap(self, task: Task) -> TaskResult:
        raise unsupported("bootstrap")

    def install(self, task: Task) -> TaskResult:
        raise unsupported("install")

    def configure(self, task: Task) -> TaskResult:
        raise unsupported("configure")

    def initialize(self, task: Task) -> TaskResult:
        raise unsupported("initialize")

    def start(self, task: Task) -> TaskResult:
        raise unsupported("start")

    def stop(self, task: Task) -> TaskResult:
        raise unsupported("stop")

    def remove(self, task: Task) -> TaskResult:
        raise unsupported("remove")
