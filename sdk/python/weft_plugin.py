"""Helpers for Weft plugins written in Python (componentize-py).

A provider module defines ``class ProviderApi(weft_plugin.Provider)`` and ``Inventory`` (the
machines it holds, for the host's reconciler: ``class Inventory(weft_plugin.Inventory)``, or
``Inventory = weft_plugin.Inventory`` for none); an automator module
``class AutomatorApi(weft_plugin.Automator)``. Operations a plugin does not implement answer
``unsupported``. Build with::

    componentize-py -d WEFT/wit/weft-plugin -w provider componentize \\
        -p WEFT/sdk/python -p . app -o my_plugin.wasm

Everything here runs inside the sandbox; the host grants each capability per task.
"""

from typing import Dict, List, Optional, Tuple

from componentize_py_types import Err
from wit_world.imports import log as _log
from wit_world.imports import outgoing_handler, resources, secrets, ssh, streams
from wit_world.imports import wasi_http_types as http_types
try:  # the provider world's; an automator has no inventory
    from wit_world.exports.inventory import Machine
except ImportError:
    Machine = None
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
    "unsupported", "http", "HttpError", "ssh_exec", "read_resource", "reveal", "Inventory",
    "machine",
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

class HttpError(Exception):
    """A request that got no response: denied by the host, a forbidden header, or a failure."""


def http(method: str, url: str, headers: Optional[Dict[str, str]] = None,
         body: bytes = b"") -> Tuple[int, Dict[str, str], bytes]:
    """One HTTP exchange over wasi:http: (status, headers, body). The host checks the URL
    against the task's grant; ``authorization`` is the host's to set. Raises HttpError."""
    scheme, _, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    headers = dict(headers or {})
    if body and not any(k.lower() == "content-length" for k in headers):
        headers["content-length"] = str(len(body))
    try:
        fields_ = http_types.Fields.from_list([(k, v.encode()) for k, v in headers.items()])
    except Err as error:
        raise HttpError(f"a header is refused by the host: {error.value!r}") from None
    request = http_types.OutgoingRequest(fields_)
    methods = {"GET": http_types.Method_Get(), "POST": http_types.Method_Post(),
               "PUT": http_types.Method_Put(), "DELETE": http_types.Method_Delete(),
               "PATCH": http_types.Method_Patch(), "HEAD": http_types.Method_Head()}
    request.set_method(methods.get(method.upper(), http_types.Method_Other(method.upper())))
    request.set_scheme(http_types.Scheme_Https() if scheme == "https" else http_types.Scheme_Http())
    request.set_authority(authority)
    request.set_path_with_query(slash + path if slash else "/")
    outgoing = request.body()
    try:
        pending = outgoing_handler.handle(request, None)
    except Err as error:
        raise HttpError(f"{method} {url}: {error.value!r}") from None
    with outgoing.write() as stream:
        for start in range(0, len(body), 4096):
            stream.blocking_write_and_flush(body[start:start + 4096])
    http_types.OutgoingBody.finish(outgoing, None)
    answer = pending.get()
    while answer is None:
        pending.subscribe().block()
        answer = pending.get()
    # Ok(Ok(response)) | Ok(Err(error-code)) | Err(()) when asked twice
    if isinstance(answer, Err) or isinstance(answer.value, Err):
        detail = answer.value if isinstance(answer, Err) else answer.value.value
        raise HttpError(f"{method} {url}: {detail!r}")
    response = answer.value.value
    status = response.status()
    response_headers = {k: v.decode(errors="replace") for k, v in response.headers().entries()}
    incoming = response.consume()
    length = response_headers.get("content-length")
    expected = int(length) if length is not None and length.isdigit() else None
    data = b""
    with incoming.stream() as body_stream:
        # with a known length, stop once it is read rather than wait for the end of stream
        while expected is None or len(data) < expected:
            try:
                data += body_stream.blocking_read(65536)
            except Err as end:
                if isinstance(end.value, streams.StreamError_Closed):
                    break
                raise HttpError(f"{method} {url}: reading the body: {end.value!r}") from None
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


def machine(machine_id: str, tags: Dict[str, str]) -> Machine:
    """A machine of an inventory: its provider id (CREATE's ``providerid``) and Weft's tags."""
    return Machine(id=machine_id, tags=[KeyValue(key=k, value=v) for k, v in tags.items()])


class Inventory:
    """The machines a provider account holds for the task's ``weft-tenant`` and
    ``weft-cluster`` tags, whatever their state, each with its tags (``machine(id, tags)``).
    The host's reconciler deletes those no node owns. The default lists nothing it knows of."""

    def list(self, task: Task) -> List[Machine]:
        raise unsupported("list")


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
