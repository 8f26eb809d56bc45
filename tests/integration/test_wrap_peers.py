"""Real MCP peers see no difference between a direct connection and one through ``mcpwall wrap``.

Servers: ``@modelcontextprotocol/server-everything`` and ``@modelcontextprotocol/server-filesystem``
(stdio, Node 22).  Clients: the official ``mcp`` Python SDK and the MCP Inspector CLI.  Each
client runs the same script once directly and once through ``mcpwall wrap`` in monitor mode
(audit to a temporary SQLite file); every observable result must be identical, and the tee
shims on both sides of mcpwall must show that the server received exactly the bytes the client
sent (and the client exactly the bytes the server sent).

One run per (server, client, route) is shared by the whole module; the tests below only read
its transcript.  Normalised, because they legitimately differ between two runs:

- the level and text of server-everything's *simulated* log messages (chosen at random);
- file timestamps in server-filesystem's ``get_file_info`` (the files are re-created per run);
- the wall-clock time server-everything writes into its dynamic resources ("created at 3:00:37 PM").

Nothing else is normalised: ids, ordering of results, server info and capabilities are
compared as they arrive.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from harness import MCPWALL, Route, byte_mismatch, child_env, frames, routes
from mcp import Client, StdioServerParameters
from mcp.client.session import ClientRequestContext
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError

import peers

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings(f"ignore::{MCPDeprecationWarning.__module__}.MCPDeprecationWarning"),
]

WAIT = 15.0  # seconds any single awaited event may take before the run is declared hung

SIMULATED_LOG = re.compile(
    r"^(Debug|Info|Notice|Warning|Error|Critical|Emergency)-level message|^Alert level-message"
)
TIMESTAMP_KEYS = {"created", "modified", "accessed"}
CLOCK_TIME = re.compile(r"\b\d{1,2}:\d{2}:\d{2}\s?[AP]M\b")


def strip_clock_times(value: Any) -> Any:
    """server-everything stamps dynamic resources with the time they were generated."""
    if isinstance(value, dict):
        out = {k: strip_clock_times(v) for k, v in value.items()}
        blob = value.get("blob")
        if isinstance(blob, str):
            try:
                text = base64.b64decode(blob, validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return out
            if CLOCK_TIME.search(text):
                out["blob"] = "base64:" + CLOCK_TIME.sub("<time>", text)
        return out
    if isinstance(value, list):
        return [strip_clock_times(v) for v in value]
    if isinstance(value, str):
        return CLOCK_TIME.sub("<time>", value)
    return value


def dump(value: Any) -> Any:
    if isinstance(value, list):
        return [dump(item) for item in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return value


# --- the SDK client's side of the conversation -------------------------------------------------


@dataclass
class Transcript:
    """Everything one client observed, in a JSON-comparable form."""

    steps: dict[str, Any] = field(default_factory=dict)
    server_requests: list[tuple[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def record(self, name: str, value: Any) -> None:
        assert name not in self.steps, f"step {name} recorded twice"
        self.steps[name] = dump(value)


class Peer:
    """Callbacks that answer the server's requests deterministically and record what arrived."""

    def __init__(self, transcript: Transcript, roots: list[types.Root]) -> None:
        self.transcript = transcript
        self.roots = roots
        self.watchers: list[tuple[Callable[[dict[str, Any]], bool], anyio.Event]] = []

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool]) -> anyio.Event:
        event = anyio.Event()
        if any(predicate(seen) for seen in self.transcript.notifications):
            event.set()
        self.watchers.append((predicate, event))
        return event

    async def sampling(
        self, context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        self.transcript.server_requests.append(("sampling/createMessage", dump(params)))
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text="A sampled answer from the test client."),
            model="mcpwall-test-model",
            stop_reason="endTurn",
        )

    async def elicitation(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        self.transcript.server_requests.append(("elicitation/create", dump(params)))
        return types.ElicitResult(
            action="accept",
            content={"name": "Ada Lovelace", "check": True, "email": "ada@example.com", "integer": 7},
        )

    async def list_roots(self, context: ClientRequestContext) -> types.ListRootsResult:
        self.transcript.server_requests.append(("roots/list", None))
        return types.ListRootsResult(roots=self.roots)

    async def logging(self, params: types.LoggingMessageNotificationParams) -> None:
        # Logging notifications also reach message_handler; recorded there.
        return None

    async def message(self, message: Any) -> None:
        if isinstance(message, Exception):
            self.transcript.errors.append(repr(message))
            return
        entry = {"method": message.method, "params": dump(getattr(message, "params", None))}
        if entry["method"] == "notifications/progress":
            # Progress is recorded per call through progress callbacks; after a cancellation
            # the server may keep reporting for a while, and how many of those arrive is timing.
            return
        self.transcript.notifications.append(entry)
        for predicate, event in self.watchers:
            if predicate(entry):
                event.set()


Script = Callable[[Client, Peer, Transcript], Awaitable[None]]


async def run_sdk(
    route: Route, server: list[str], tag: str, script: Script, roots: list[types.Root]
) -> Transcript:
    transcript = Transcript()
    peer = Peer(transcript, roots)
    argv = route.command(server, tag)
    params = StdioServerParameters(command=argv[0], args=argv[1:], env=route.env())
    with anyio.fail_after(120):
        async with Client(
            params,
            mode="legacy",
            read_timeout_seconds=WAIT,
            sampling_callback=peer.sampling,
            elicitation_callback=peer.elicitation,
            list_roots_callback=peer.list_roots,
            logging_callback=peer.logging,
            message_handler=peer.message,
        ) as client:
            transcript.record(
                "initialize",
                {
                    "protocolVersion": client.protocol_version,
                    "serverInfo": dump(client.server_info),
                    "capabilities": dump(client.server_capabilities),
                    "instructions": client.instructions,
                },
            )
            await script(client, peer, transcript)
    return transcript


async def call(client: Client, name: str, arguments: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """A tool result, or the JSON-RPC error it produced (both are observable results)."""
    try:
        return dump(await client.call_tool(name, arguments or {}, **kwargs))
    except MCPError as error:
        return {"error": dump(error.error)}


async def wait(event: anyio.Event, what: str) -> None:
    with anyio.fail_after(WAIT):
        await event.wait()


def notified(method: str, **params: Any) -> Callable[[dict[str, Any]], bool]:
    def match(entry: dict[str, Any]) -> bool:
        got = entry.get("params") or {}
        return entry["method"] == method and all(got.get(k) == v for k, v in params.items())

    return match


def is_simulated_log(entry: dict[str, Any]) -> bool:
    params = entry.get("params") or {}
    return entry["method"] == "notifications/message" and bool(
        SIMULATED_LOG.match(str(params.get("data", "")))
    )


# --- server-everything through the SDK -----------------------------------------------------------

EVERYTHING_ROOTS = [
    types.Root(uri="file:///srv/mcpwall/project-a", name="Project A"),
    types.Root(uri="file:///srv/mcpwall/project-b", name="Project B"),
]
GZIP_SOURCE = "data:text/plain;base64,aGVsbG8gbWNwd2FsbAo="
SUBSCRIBED_URI = "demo://resource/dynamic/text/1"


async def everything_script(client: Client, peer: Peer, t: Transcript) -> None:
    t.record("ping", await client.send_ping())
    t.record("logging/setLevel", await client.set_logging_level("debug"))
    t.record("tools/list", await client.list_tools())

    t.record("call echo", await call(client, "echo", {"message": "hello through mcpwall"}))
    t.record("call get-sum", await call(client, "get-sum", {"a": 40, "b": 2}))
    t.record(
        "call get-annotated-message",
        await call(client, "get-annotated-message", {"messageType": "error", "includeImage": True}),
    )
    t.record("call get-tiny-image", await call(client, "get-tiny-image"))
    t.record(
        "call get-structured-content", await call(client, "get-structured-content", {"location": "New York"})
    )
    t.record("call get-resource-links", await call(client, "get-resource-links", {"count": 3}))
    t.record(
        "call get-resource-reference",
        await call(client, "get-resource-reference", {"resourceType": "blob", "resourceId": 2}),
    )
    t.record("call get-env", await call(client, "get-env"))
    t.record("call unknown tool", await call(client, "no-such-tool"))
    t.record("call echo with bad arguments", await call(client, "echo", {"message": 42}))

    # Server-to-client requests: sampling, elicitation, roots.
    t.record(
        "call trigger-sampling-request",
        await call(client, "trigger-sampling-request", {"prompt": "Say hi", "maxTokens": 20}),
    )
    t.record("call trigger-elicitation-request", await call(client, "trigger-elicitation-request"))
    t.record("call get-roots-list", await call(client, "get-roots-list"))
    roots_changed = peer.wait_for(
        lambda e: (
            e["method"] == "notifications/message"
            and "Roots updated: 3 root(s)" in str(e["params"].get("data"))
        )
    )
    peer.roots = [*EVERYTHING_ROOTS, types.Root(uri="file:///srv/mcpwall/project-c", name="Project C")]
    await client.send_roots_list_changed()
    await wait(roots_changed, "roots re-synced after roots/list_changed")
    t.record("call get-roots-list after list_changed", await call(client, "get-roots-list"))

    # Progress.
    reports: list[list[Any]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append([progress, total, message])

    t.record(
        "call trigger-long-running-operation",
        await call(
            client,
            "trigger-long-running-operation",
            {"duration": 0.3, "steps": 3},
            progress_callback=on_progress,
        ),
    )
    t.record("progress of trigger-long-running-operation", reports)

    # Logging: the first simulated message is sent at once when the toggle turns on.
    first_log = peer.wait_for(is_simulated_log)
    t.record("call toggle-simulated-logging on", await call(client, "toggle-simulated-logging"))
    await wait(first_log, "a simulated log message")
    t.record("call toggle-simulated-logging off", await call(client, "toggle-simulated-logging"))

    # Resources, templates, subscriptions.
    t.record("resources/list", await client.list_resources())
    t.record("resources/templates/list", await client.list_resource_templates())
    t.record(
        "resources/read static", await client.read_resource("demo://resource/static/document/architecture.md")
    )
    t.record(
        "resources/read dynamic text",
        strip_clock_times(dump(await client.read_resource("demo://resource/dynamic/text/3"))),
    )
    t.record(
        "resources/read dynamic blob",
        strip_clock_times(dump(await client.read_resource("demo://resource/dynamic/blob/4"))),
    )
    try:
        t.record("resources/read unknown", await client.read_resource("demo://resource/nowhere"))
    except MCPError as error:
        t.record("resources/read unknown", {"error": dump(error.error)})
    t.record("resources/subscribe", await client.subscribe_resource(SUBSCRIBED_URI))
    updated = peer.wait_for(notified("notifications/resources/updated", uri=SUBSCRIBED_URI))
    t.record("call toggle-subscriber-updates on", await call(client, "toggle-subscriber-updates"))
    await wait(updated, "notifications/resources/updated for the subscribed URI")
    t.record("call toggle-subscriber-updates off", await call(client, "toggle-subscriber-updates"))
    t.record("resources/unsubscribe", await client.unsubscribe_resource(SUBSCRIBED_URI))

    # A session resource appears: resources/list_changed, then it can be read.
    list_changed = peer.wait_for(notified("notifications/resources/list_changed"))
    t.record(
        "call gzip-file-as-resource",
        await call(client, "gzip-file-as-resource", {"name": "hello.txt.gz", "data": GZIP_SOURCE}),
    )
    await wait(list_changed, "notifications/resources/list_changed")
    t.record(
        "resources/read session resource", await client.read_resource("demo://resource/session/hello.txt.gz")
    )

    # Prompts and completion.
    t.record("prompts/list", await client.list_prompts())
    t.record("prompts/get simple-prompt", await client.get_prompt("simple-prompt"))
    t.record(
        "prompts/get args-prompt", await client.get_prompt("args-prompt", {"city": "Paris", "state": "Texas"})
    )
    t.record(
        "prompts/get resource-prompt",
        strip_clock_times(
            dump(await client.get_prompt("resource-prompt", {"resourceType": "Text", "resourceId": "2"}))
        ),
    )
    reference = types.PromptReference(type="ref/prompt", name="completable-prompt")
    t.record(
        "completion/complete department",
        await client.complete(reference, {"name": "department", "value": "E"}),
    )
    t.record(
        "completion/complete name",
        await client.complete(
            reference, {"name": "name", "value": ""}, context_arguments={"department": "Sales"}
        ),
    )

    # Cancellation: abandon a long call after its first progress report; the SDK sends
    # notifications/cancelled, and the session must stay usable.
    started = anyio.Event()

    async def first_progress(progress: float, total: float | None, message: str | None) -> None:
        started.set()

    outcome: dict[str, Any] = {"completed": False}
    async with anyio.create_task_group() as group:
        scope = anyio.CancelScope()

        async def long_call() -> None:
            with scope:
                await client.call_tool(
                    "trigger-long-running-operation",
                    {"duration": 20, "steps": 100},
                    progress_callback=first_progress,
                )
                outcome["completed"] = True

        group.start_soon(long_call)
        await wait(started, "first progress of the call to cancel")
        scope.cancel()
    t.record("cancelled call completed", outcome["completed"])
    t.record("ping after cancellation", await client.send_ping())


# --- server-filesystem through the SDK -----------------------------------------------------------

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415478da63f8cfc000000301010018dd8db00000000049454e44ae426082"
)


def populate(root: Path) -> None:
    """The same starting tree for every run."""
    if root.exists():
        shutil.rmtree(root)
    (root / "docs" / "nested").mkdir(parents=True)
    (root / "docs" / "readme.md").write_text("# Title\n\nhello world\n", encoding="utf-8")
    (root / "docs" / "nested" / "notes.txt").write_text(
        "first line\nsecond line\nthird line\n", encoding="utf-8"
    )
    (root / "unicode-é.txt").write_text("naïve café ☕\n", encoding="utf-8")
    (root / "pixel.png").write_bytes(PNG_1X1)


def strip_timestamps(value: Any) -> Any:
    """get_file_info reports timestamps of files re-created for each run."""
    if isinstance(value, dict):
        return {k: strip_timestamps(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_timestamps(v) for v in value]
    if isinstance(value, str) and "\n" in value:
        return "\n".join(
            f"{line.split(':', 1)[0]}: <time>" if line.split(":", 1)[0].strip() in TIMESTAMP_KEYS else line
            for line in value.split("\n")
        )
    return value


def filesystem_script(root: Path) -> Script:
    async def script(client: Client, peer: Peer, t: Transcript) -> None:
        r = str(root)
        t.record("ping", await client.send_ping())
        t.record("tools/list", await client.list_tools())
        t.record("call list_allowed_directories", await call(client, "list_allowed_directories"))
        t.record("call list_directory", await call(client, "list_directory", {"path": r}))
        t.record(
            "call list_directory_with_sizes",
            await call(client, "list_directory_with_sizes", {"path": r, "sortBy": "name"}),
        )
        t.record("call directory_tree", await call(client, "directory_tree", {"path": r}))
        t.record("call read_text_file", await call(client, "read_text_file", {"path": f"{r}/docs/readme.md"}))
        t.record(
            "call read_text_file head",
            await call(client, "read_text_file", {"path": f"{r}/docs/nested/notes.txt", "head": 2}),
        )
        t.record(
            "call read_text_file unicode",
            await call(client, "read_text_file", {"path": f"{r}/unicode-é.txt"}),
        )
        t.record("call read_media_file", await call(client, "read_media_file", {"path": f"{r}/pixel.png"}))
        t.record(
            "call read_multiple_files",
            await call(client, "read_multiple_files", {"paths": [f"{r}/docs/readme.md", f"{r}/missing.txt"]}),
        )
        t.record(
            "call write_file",
            await call(client, "write_file", {"path": f"{r}/new.txt", "content": "line one\nline two\n"}),
        )
        t.record(
            "call edit_file dry run",
            await call(
                client,
                "edit_file",
                {
                    "path": f"{r}/new.txt",
                    "edits": [{"oldText": "line two", "newText": "line 2"}],
                    "dryRun": True,
                },
            ),
        )
        t.record(
            "call edit_file",
            await call(
                client,
                "edit_file",
                {"path": f"{r}/new.txt", "edits": [{"oldText": "line one", "newText": "line 1"}]},
            ),
        )
        t.record("call create_directory", await call(client, "create_directory", {"path": f"{r}/made/deep"}))
        t.record(
            "call move_file",
            await call(client, "move_file", {"source": f"{r}/new.txt", "destination": f"{r}/made/moved.txt"}),
        )
        t.record("call search_files", await call(client, "search_files", {"path": r, "pattern": "**/*.txt"}))
        t.record(
            "call get_file_info",
            strip_timestamps(await call(client, "get_file_info", {"path": f"{r}/made/moved.txt"})),
        )
        t.record(
            "call read outside the root", await call(client, "read_text_file", {"path": "/etc/hostname"})
        )
        t.record("call unknown tool", await call(client, "no-such-tool"))

    return script


# --- module-scoped runs ---------------------------------------------------------------------------


@dataclass
class Runs:
    transcripts: dict[str, Transcript]
    routes: dict[str, Route]
    tag: str

    def pair(self) -> tuple[Any, Any]:
        direct, wrapped = self.transcripts["direct"], self.transcripts["wrapped"]
        return direct, wrapped


def run_both(
    tmp: Path, tag: str, server_for: Callable[[Route], tuple[list[str], Script, list[types.Root]]]
) -> Runs:
    transcripts: dict[str, Transcript] = {}
    by_name: dict[str, Route] = {}
    for route in routes(tmp):
        server, script, roots = server_for(route)
        transcripts[route.name] = anyio.run(run_sdk, route, server, tag, script, roots)
        by_name[route.name] = route
    return Runs(transcripts, by_name, tag)


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    server = peers.everything_cmd("stdio")
    return run_both(
        tmp_path_factory.mktemp("everything"),
        "sdk",
        lambda route: (server, everything_script, EVERYTHING_ROOTS),
    )


FILESYSTEM_ROOT_NAME = "fs-root"


@pytest.fixture(scope="module")
def filesystem(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    # Both runs use the same directory, re-created before each, so paths in results match.
    root = tmp_path_factory.mktemp("filesystem") / FILESYSTEM_ROOT_NAME
    work = tmp_path_factory.mktemp("filesystem-runs")

    def server_for(route: Route) -> tuple[list[str], Script, list[types.Root]]:
        populate(root)
        return (
            peers.filesystem_cmd(root),
            filesystem_script(root),
            [types.Root(uri=root.as_uri(), name="root")],
        )

    return run_both(work, "sdk", server_for)


# --- the Inspector CLI ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CliCall:
    name: str
    options: tuple[str, ...]


EVERYTHING_CLI = [
    CliCall("initialize", ("--method", "initialize")),
    CliCall("tools/list", ("--method", "tools/list")),
    CliCall(
        "tools/call echo", ("--method", "tools/call", "--tool-name", "echo", "--tool-arg", "message=hi there")
    ),
    CliCall(
        "tools/call get-sum",
        ("--method", "tools/call", "--tool-name", "get-sum", "--tool-args-json", '{"a": 2, "b": 3}'),
    ),
    CliCall(
        "tools/call get-structured-content",
        ("--method", "tools/call", "--tool-name", "get-structured-content", "--tool-arg", "location=Chicago"),
    ),
    CliCall("resources/templates/list", ("--method", "resources/templates/list")),
    CliCall("resources/read", ("--method", "resources/read", "--uri", "demo://resource/dynamic/text/7")),
    CliCall(
        "prompts/get",
        ("--method", "prompts/get", "--prompt-name", "args-prompt", "--prompt-args", "city=Oslo"),
    ),
    CliCall("logging/setLevel", ("--method", "logging/setLevel", "--log-level", "warning")),
]


def filesystem_cli(root: Path) -> list[CliCall]:
    return [
        CliCall("initialize", ("--method", "initialize")),
        CliCall("tools/list", ("--method", "tools/list")),
        CliCall(
            "tools/call list_allowed_directories",
            ("--method", "tools/call", "--tool-name", "list_allowed_directories"),
        ),
        CliCall(
            "tools/call list_directory",
            ("--method", "tools/call", "--tool-name", "list_directory", "--tool-arg", f"path={root}"),
        ),
        CliCall(
            "tools/call read_text_file",
            (
                "--method",
                "tools/call",
                "--tool-name",
                "read_text_file",
                "--tool-arg",
                f"path={root}/docs/readme.md",
            ),
        ),
        CliCall(
            "tools/call search_files",
            (
                "--method",
                "tools/call",
                "--tool-name",
                "search_files",
                "--tool-arg",
                f"path={root}",
                "pattern=**/*.md",
            ),
        ),
    ]


@dataclass
class CliResult:
    returncode: int
    output: Any
    stderr: str


def run_cli(route: Route, server: list[str], call_: CliCall, tag: str) -> CliResult:
    argv = peers.inspector_cli_cmd(route.command(server, tag), *call_.options)
    # The Inspector starts stdio servers with a trimmed environment; -e puts the
    # state directory back so mcpwall never writes outside the test's directory.
    argv[argv.index("--cli") + 1 : argv.index("--cli") + 1] = [
        arg for key, value in route.env().items() for arg in ("-e", f"{key}={value}")
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=child_env(route))
    try:
        output: Any = strip_clock_times(json.loads(done.stdout))
    except ValueError:
        output = done.stdout
    return CliResult(done.returncode, output, done.stderr)


@dataclass
class CliRuns:
    results: dict[tuple[str, str], CliResult]
    routes: dict[str, Route]
    calls: list[CliCall]


def run_cli_both(tmp: Path, server: list[str], calls: list[CliCall]) -> CliRuns:
    by_name = {route.name: route for route in routes(tmp)}
    jobs = [(route, c, f"cli-{index}") for index, c in enumerate(calls) for route in by_name.values()]
    # Each CLI run spends most of its time waiting for the server to exit; run several at once.
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {
            (route.name, c.name): pool.submit(run_cli, route, server, c, tag) for route, c, tag in jobs
        }
        results = {key: future.result() for key, future in futures.items()}
    return CliRuns(results, by_name, calls)


@pytest.fixture(scope="module")
def everything_cli(tmp_path_factory: pytest.TempPathFactory) -> CliRuns:
    return run_cli_both(
        tmp_path_factory.mktemp("everything-cli"), peers.everything_cmd("stdio"), EVERYTHING_CLI
    )


@pytest.fixture(scope="module")
def filesystem_cli_runs(tmp_path_factory: pytest.TempPathFactory) -> CliRuns:
    root = tmp_path_factory.mktemp("filesystem-cli") / FILESYSTEM_ROOT_NAME
    populate(root)  # read-only calls only, so both routes can share one tree
    return run_cli_both(
        tmp_path_factory.mktemp("filesystem-cli-runs"), peers.filesystem_cmd(root), filesystem_cli(root)
    )


# --- assertions -----------------------------------------------------------------------------------


def normalised_notifications(transcript: Transcript) -> list[dict[str, Any]]:
    out = []
    for entry in transcript.notifications:
        if is_simulated_log(entry):
            entry = {
                "method": entry["method"],
                "params": {"level": "<random>", "data": "<simulated log message>"},
            }
        out.append(entry)
    # Notifications from independent server timers interleave with each other in any
    # order; the multiset of what arrived is what must match.
    return sorted(out, key=lambda e: json.dumps(e, sort_keys=True))


@pytest.mark.parametrize("peer_fixture", ["everything", "filesystem"])
def test_sdk_client_observes_identical_results_direct_and_wrapped(
    peer_fixture: str, request: pytest.FixtureRequest
) -> None:
    runs: Runs = request.getfixturevalue(peer_fixture)
    direct, wrapped = runs.pair()
    assert list(wrapped.steps) == list(direct.steps)
    different = [name for name in direct.steps if direct.steps[name] != wrapped.steps[name]]
    assert not different, "\n".join(
        f"{name}:\n  direct:  {json.dumps(direct.steps[name])[:600]}\n  wrapped: {json.dumps(wrapped.steps[name])[:600]}"
        for name in different
    )


@pytest.mark.parametrize("peer_fixture", ["everything", "filesystem"])
def test_sdk_client_sees_identical_server_requests_and_notifications(
    peer_fixture: str, request: pytest.FixtureRequest
) -> None:
    runs: Runs = request.getfixturevalue(peer_fixture)
    direct, wrapped = runs.pair()
    assert wrapped.server_requests == direct.server_requests
    assert normalised_notifications(wrapped) == normalised_notifications(direct)
    assert wrapped.errors == direct.errors == []


@pytest.mark.parametrize("peer_fixture", ["everything", "filesystem"])
def test_server_receives_exactly_the_bytes_the_sdk_client_sent(
    peer_fixture: str, request: pytest.FixtureRequest
) -> None:
    runs: Runs = request.getfixturevalue(peer_fixture)
    problems = byte_mismatch(runs.routes["wrapped"].logs(runs.tag))
    assert not problems, "\n".join(problems)


def test_everything_script_exercised_server_to_client_requests(everything: Runs) -> None:
    # Guards the comparison above against vacuous success: the features really ran.
    direct = everything.transcripts["direct"]
    methods = [method for method, _ in direct.server_requests]
    assert {"sampling/createMessage", "elicitation/create", "roots/list"} <= set(methods)
    assert direct.steps["progress of trigger-long-running-operation"] == [
        [1, 3, None],
        [2, 3, None],
        [3, 3, None],
    ]
    assert direct.steps["cancelled call completed"] is False
    assert "Project C" in json.dumps(direct.steps["call get-roots-list after list_changed"])
    notified_methods = {entry["method"] for entry in direct.notifications}
    assert {
        "notifications/message",
        "notifications/resources/updated",
        "notifications/resources/list_changed",
    } <= notified_methods


def test_cancellation_reaches_the_server_through_mcpwall(everything: Runs) -> None:
    received = (everything.routes["wrapped"].logs(everything.tag) / "server" / "stdin.bin").read_bytes()
    cancels = [json.loads(line) for line in received.splitlines() if b'"notifications/cancelled"' in line]
    assert cancels, "no notifications/cancelled frame reached the server"
    assert all(isinstance(c["params"]["requestId"], int) for c in cancels)


def test_filesystem_script_exercised_roots_and_writes(filesystem: Runs) -> None:
    direct = filesystem.transcripts["direct"]
    assert ("roots/list", None) in direct.server_requests
    assert "line 1" in json.dumps(direct.steps["call edit_file"])
    assert direct.steps["call read outside the root"].get("isError") is True


@pytest.mark.parametrize("peer_fixture", ["everything_cli", "filesystem_cli_runs"])
def test_inspector_cli_prints_identical_results_direct_and_wrapped(
    peer_fixture: str, request: pytest.FixtureRequest
) -> None:
    runs: CliRuns = request.getfixturevalue(peer_fixture)
    problems = []
    for c in runs.calls:
        direct, wrapped = runs.results[("direct", c.name)], runs.results[("wrapped", c.name)]
        assert direct.returncode == 0, f"{c.name} failed directly: {direct.stderr[-800:]}"
        if (wrapped.returncode, wrapped.output) != (direct.returncode, direct.output):
            problems.append(
                f"{c.name}: direct rc={direct.returncode} {json.dumps(direct.output)[:400]}\n"
                f"  wrapped rc={wrapped.returncode} {json.dumps(wrapped.output)[:400]}\n  stderr: {wrapped.stderr[-600:]}"
            )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("peer_fixture", ["everything_cli", "filesystem_cli_runs"])
def test_server_receives_exactly_the_bytes_the_inspector_sent(
    peer_fixture: str, request: pytest.FixtureRequest
) -> None:
    runs: CliRuns = request.getfixturevalue(peer_fixture)
    route = runs.routes["wrapped"]
    problems = [
        f"[{c.name}] {problem}"
        for index, c in enumerate(runs.calls)
        for problem in byte_mismatch(route.logs(f"cli-{index}"))
    ]
    assert not problems, "\n".join(problems)


def audit_rows(route: Route) -> list[dict[str, Any]]:
    done = subprocess.run(
        [*MCPWALL, "logs", "--config", str(route.config), "--format", "json", "--limit", "100000"],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(route),
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert isinstance(rows, list)
    return rows


@pytest.mark.parametrize("peer_fixture", ["everything", "filesystem"])
def test_monitor_mode_audits_every_frame_as_passed_and_the_chain_verifies(
    peer_fixture: str, request: pytest.FixtureRequest
) -> None:
    runs: Runs = request.getfixturevalue(peer_fixture)
    route = runs.routes["wrapped"]
    logs = route.logs(runs.tag)
    sent = {hashlib.sha256(f).hexdigest() for f in frames((logs / "client" / "stdin.bin").read_bytes())}
    emitted = {hashlib.sha256(f).hexdigest() for f in frames((logs / "server" / "stdout.bin").read_bytes())}
    rows = audit_rows(route)
    audited = {d: {r["frame_sha256"] for r in rows if r["direction"] == d} for d in ("c2s", "s2c")}
    assert sent - audited["c2s"] == set(), "client frames without an audit row"
    # The server may have written a last notification while mcpwall was stopping.
    assert len(emitted - audited["s2c"]) <= 1, "server frames without an audit row"
    assert {r["action"] for r in rows} == {"pass"}
    verify = subprocess.run(
        [*MCPWALL, "audit", "verify", "--config", str(route.config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(route),
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
