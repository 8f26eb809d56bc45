"""The pipeline's routing and the decision it returns: what each inspector is offered, and
what the audit record gets out of the verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from mcpwall.frame import Direction, Frame, Kind, classify
from mcpwall.pipeline import Inspector, Pipeline
from mcpwall.session import Session
from mcpwall.verdict import Block, Finding, Modify, Pass, Severity, Verdict


def request(method: str, msg_id: int = 1, **params: Any) -> Frame:
    obj = {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}
    return classify(obj, b"{}", Direction.C2S)


class Counting(Inspector):
    """Wants ``tools/call`` requests from the client; counts how often it is asked and run."""

    name = "counting"

    def __init__(self, verdict: Verdict | None = None, *, static: bool) -> None:
        self.static_routing = static  # type: ignore[misc]
        self.asked = 0
        self.seen: list[Frame] = []
        self.verdict = verdict or Pass()

    def wants(self, frame: Frame) -> bool:
        self.asked += 1
        return frame.method == "tools/call" and frame.kind is Kind.REQUEST and frame.direction is Direction.C2S

    async def inspect(self, frame: Frame, session: Session) -> Verdict:
        self.seen.append(frame)
        return self.verdict


@pytest.mark.parametrize(("static", "asked"), [(True, 2), (False, 6)])
async def test_static_routing_asks_once_per_method_direction_and_kind(static: bool, asked: int) -> None:
    inspector = Counting(static=static)
    pipeline = Pipeline([inspector])
    frames = [request("tools/call", i) for i in range(3)] + [request("ping", i) for i in range(3)]
    for f in frames:
        await pipeline.run(f, Session())
    assert inspector.seen == frames[:3]  # exactly the frames it wants, either way
    assert inspector.asked == asked


async def test_an_inspector_added_to_the_list_in_place_is_routed_too() -> None:
    first, second = Counting(static=True), Counting(static=True)
    pipeline = Pipeline([first])
    await pipeline.run(request("tools/call", 1), Session())
    pipeline.inspectors.append(second)
    await pipeline.run(request("tools/call", 2), Session())
    assert len(first.seen) == 2 and len(second.seen) == 1


async def test_the_base_class_routes_on_its_attributes() -> None:
    class OnlyPing(Inspector):
        name = "ping"
        methods = frozenset({"ping"})
        kinds = frozenset({Kind.REQUEST})

        def __init__(self) -> None:
            self.seen: list[str | None] = []

        async def inspect(self, frame: Frame, session: Session) -> Verdict:
            self.seen.append(frame.method)
            return Pass()

    inspector = OnlyPing()
    pipeline = Pipeline([inspector])
    for method in ("ping", "tools/call", "ping"):
        await pipeline.run(request(method), Session())
    assert inspector.seen == ["ping", "ping"]


FINDING = Finding("secrets", "s.key", Severity.HIGH, "a key", detector="d")


@pytest.mark.parametrize(
    ("verdicts", "action", "trail", "deciding"),
    [
        ([Pass(), Pass()], "pass", [], None),
        ([Pass([FINDING]), Pass()], "pass", ["a"], None),
        ([Modify(obj={"jsonrpc": "2.0", "id": 1, "method": "tools/call"}), Pass()], "modify", ["a"], "a"),
        ([Pass(), Block(reason="no")], "block", ["b"], "b"),
        ([Modify(obj={"jsonrpc": "2.0", "id": 1, "method": "x"}), Block(reason="no")], "block", ["a", "b"], "b"),
    ],
)
async def test_bare_passes_stay_out_of_the_trail(verdicts: list[Verdict], action: str, trail: list[str],
                                                 deciding: str | None) -> None:
    inspectors = []
    for name, verdict in zip("ab", verdicts, strict=True):
        inspector = Counting(verdict, static=True)
        inspector.name = name  # type: ignore[misc]
        inspectors.append(inspector)
    decision = await Pipeline(inspectors).run(request("tools/call"), Session())
    assert decision.action == action
    assert [v.inspector for v in decision.trail] == trail
    assert (decision.deciding.inspector if decision.deciding else None) == deciding
    if action == "modify":
        assert decision.frame.obj == verdicts[0].obj  # type: ignore[attr-defined]
    if action == "pass":
        assert isinstance(decision.verdict, Pass) and decision.frame.obj["method"] == "tools/call"


async def test_a_shared_pass_is_never_mutated() -> None:
    shared = Pass()
    inspector = Counting(shared, static=True)
    await Pipeline([inspector]).run(request("tools/call"), Session())
    assert shared.inspector == "" and shared.findings == []


def test_frame_tool_is_worked_out_once_and_only_once_linked() -> None:
    req = request("tools/call", 5, name="echo")
    resp = classify({"jsonrpc": "2.0", "id": 5, "result": {}}, b"{}", Direction.S2C)
    assert resp.tool is None  # not linked yet: not remembered
    resp.request, resp.method = req, req.method
    assert req.tool == "echo" and resp.tool == "echo"
    req.obj["params"]["name"] = "changed"  # a frame's message does not change; the cache shows it
    assert req.tool == "echo" and resp.tool == "echo"
    assert request("ping").tool is None


def test_the_session_learns_the_stateless_version_from_any_request_until_it_knows_one() -> None:
    s = Session()
    s.observe(request("tools/call", 1, _meta={"io.modelcontextprotocol/protocolVersion": "2026-07-28"}))
    assert s.protocol_version == "2026-07-28"
    s.observe(request("tools/call", 2, _meta={"io.modelcontextprotocol/protocolVersion": "2099-01-01"}))
    assert s.protocol_version == "2026-07-28"
