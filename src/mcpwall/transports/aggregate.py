"""The aggregated endpoint: several upstreams merged into one MCP server.

The client sees one server. Behind it each named upstream is a *leg* (any message back
end: Streamable HTTP through the client emulation, legacy SSE, WebSocket, stdio). One relay
sits in front of the aggregate, so the pipeline and the audit see the merged view: tool
names as the client knows them.

Names and references are namespaced so that two upstreams can never collide:

- tools and prompts: ``<prefix><separator><name>`` (``everything__echo``); a routing rule
  (``http.aggregate.routes``: tool-name glob -> upstream) keeps a tool's bare name and sends
  calls to it to that upstream;
- resources: ``<prefix>+<uri>`` (``fs+file:///tmp/a``: still a valid URI, whose scheme
  tells the upstream), in lists, reads, templates, subscriptions, update notifications and
  the resource links and embedded resources of results;
- request ids: each leg gets ids allocated by the aggregate, mapped back to the client's
  own id (JSON type kept) on the answer; server requests (sampling, elicitation, roots) get
  client-facing ids mapped back to the leg's id;
- progress tokens and cancellations are mapped per leg in both directions;
- list cursors are opaque tokens holding every leg's own cursor.

``initialize`` goes to every leg; the answer merges capabilities (a feature is offered when
any leg offers it; ``listChanged`` and ``subscribe`` likewise) and instructions. List
methods fan out and merge; ``ping`` and ``logging/setLevel`` fan out. A request the
aggregate cannot route is answered with an error naming the method.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import fnmatch
import itertools
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..config import Settings
from ..frame import Direction, Frame, Kind, classify, encode, error_message, id_key, parse_json
from ..relay import Outgoing
from .backend import MessageBackend
from .connect import Upstream

log = logging.getLogger(__name__)

LISTS = {  # method -> (capability, result key)
    "tools/list": ("tools", "tools"),
    "prompts/list": ("prompts", "prompts"),
    "resources/list": ("resources", "resources"),
    "resources/templates/list": ("resources", "resourceTemplates"),
}
ROUTE_ERROR = -32602


@dataclass(eq=False)
class Leg:
    """One upstream behind the aggregate, and its half of the id/token maps."""

    name: str
    prefix: str
    upstream: Upstream
    agg: Aggregator
    backend: Any = None
    capabilities: dict[str, Any] = field(default_factory=dict)
    alive: bool = False
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def from_server(self, raw: bytes, transport: dict[str, Any] | None = None) -> None:
        await self.agg._from_leg(self, raw)

    async def upstream_lost(self, reason: str) -> None:
        await self.agg._leg_lost(self, reason)


@dataclass
class Call:
    """A client request in flight: on one leg, or fanned out to several."""

    client_id: Any
    method: str
    legs: dict[str, int]  # leg name -> the id the leg got
    merge: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: list[tuple[str, str]] = field(default_factory=list)


class Aggregator(MessageBackend):
    """A message back end that is several upstreams at once."""

    def __init__(self, settings: Settings, upstreams: Mapping[str, Upstream]) -> None:
        super().__init__()
        agg = settings.http.aggregate
        self.sep = agg.separator
        self.routes = dict(agg.routes)
        self.legs: dict[str, Leg] = {}
        for name, up in upstreams.items():
            entry = settings.upstreams.get(name)
            prefix = entry.prefix if entry is not None and entry.prefix else name
            self.legs[name] = Leg(name, prefix, up, self)
        self.calls: dict[tuple[str, int], Call] = {}
        self.by_client: dict[Any, Call] = {}
        self.server_requests: dict[Any, tuple[Leg, Any]] = {}
        self.next_server_id = itertools.count(1)
        self.tokens: dict[tuple[str, str], Any] = {}
        self.next_token = itertools.count(1)

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        async def open_leg(leg: Leg) -> None:
            leg.backend = await leg.upstream.make_message()
            leg.backend.relay = leg
            try:
                await leg.backend.start()
                leg.alive = True
            except Exception as e:
                log.warning("upstream %s is unavailable: %s", leg.name, e)
                with contextlib.suppress(Exception):
                    await leg.backend.close()

        await asyncio.gather(*(open_leg(leg) for leg in self.legs.values()))
        if not any(leg.alive for leg in self.legs.values()):
            raise ConnectionError("no upstream of the aggregate is reachable")

    async def _shutdown(self) -> None:
        await asyncio.gather(*(leg.backend.close() for leg in self.legs.values() if leg.backend is not None),
                             return_exceptions=True)

    def _alive(self) -> list[Leg]:
        return [leg for leg in self.legs.values() if leg.alive]

    # --- client -> upstreams ------------------------------------------------------------------

    async def send(self, out: Outgoing) -> None:
        if self.stale:
            raise ConnectionResetError("every upstream of the aggregate is gone")
        for frame in out.frames:
            if frame.kind is Kind.REQUEST:
                await self._request(frame)
            elif frame.kind is Kind.NOTIFICATION:
                await self._notification(frame)
            else:
                await self._reply(frame)

    async def _request(self, frame: Frame) -> None:
        method = frame.method or ""
        params = dict(frame.params)
        if method == "initialize":
            await self._fan(frame, self._alive(), params, self._merge_initialize)
        elif method in ("ping", "logging/setLevel"):
            legs = self._alive() if method == "ping" else [
                leg for leg in self._alive() if "logging" in leg.capabilities or not leg.capabilities]
            await self._fan(frame, legs, params, lambda _: {})
        elif method in LISTS:
            await self._list(frame, method, params)
        elif method == "tools/call":
            await self._named(frame, params, "name", tools=True)
        elif method == "prompts/get":
            await self._named(frame, params, "name", tools=False)
        elif method in ("resources/read", "resources/subscribe", "resources/unsubscribe"):
            leg, uri = self._uri(params.get("uri"))
            if leg is None:
                await self._answer_error(frame, ROUTE_ERROR, f"unknown resource {params.get('uri')!r}")
                return
            await self._one(frame, leg, {**params, "uri": uri})
        elif method == "completion/complete":
            await self._complete(frame, params)
        else:
            alive = self._alive()
            if len(alive) == 1:
                await self._one(frame, alive[0], params)
            else:
                await self._answer_error(frame, -32601, f"the aggregate endpoint cannot route {method!r} "
                                                        "to one of its upstreams")

    async def _named(self, frame: Frame, params: dict[str, Any], key: str, *, tools: bool) -> None:
        name = params.get(key)
        leg, bare = self._resolve(name, tools=tools) if isinstance(name, str) else (None, None)
        if leg is None:
            kind = "tool" if tools else "prompt"
            await self._answer_error(frame, ROUTE_ERROR, f"unknown {kind} {name!r}")
            return
        await self._one(frame, leg, {**params, key: bare})

    async def _complete(self, frame: Frame, params: dict[str, Any]) -> None:
        ref = params.get("ref")
        leg: Leg | None = None
        new_ref: Any = ref
        if isinstance(ref, dict) and ref.get("type") == "ref/prompt" and isinstance(ref.get("name"), str):
            leg, bare = self._resolve(ref["name"], tools=False)
            new_ref = {**ref, "name": bare}
        elif isinstance(ref, dict) and ref.get("type") == "ref/resource":
            leg, uri = self._uri(ref.get("uri"))
            new_ref = {**ref, "uri": uri}
        if leg is None:
            await self._answer_error(frame, ROUTE_ERROR, "unknown completion reference")
            return
        await self._one(frame, leg, {**params, "ref": new_ref})

    async def _list(self, frame: Frame, method: str, params: dict[str, Any]) -> None:
        capability, key = LISTS[method]
        cursor = params.get("cursor")
        if cursor is not None:
            cursors = _decode_cursor(cursor)
            if cursors is None:
                await self._answer_error(frame, ROUTE_ERROR, "invalid cursor")
                return
            targets = {name: c for name, c in cursors.items() if name in self.legs and self.legs[name].alive}
        else:
            # Without an initialize (2026-07-28 has none) nothing is known: ask every upstream.
            targets = {leg.name: None for leg in self._alive()
                       if capability in leg.capabilities or not leg.capabilities}
        per_leg = {name: ({**params, "cursor": c} if c is not None else
                          {k: v for k, v in params.items() if k != "cursor"}) for name, c in targets.items()}

        def merge(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
            items: list[Any] = []
            nxt: dict[str, Any] = {}
            for name in self.legs:
                result = results.get(name)
                if result is None:
                    continue
                for item in result.get(key) or []:
                    items.append(self._expose(self.legs[name], method, item))
                if result.get("nextCursor") is not None:
                    nxt[name] = result["nextCursor"]
            merged: dict[str, Any] = {key: items}
            if nxt:
                merged["nextCursor"] = _encode_cursor(nxt)
            return merged

        await self._fan(frame, [self.legs[n] for n in targets], params, merge, per_leg=per_leg)

    async def _notification(self, frame: Frame) -> None:
        if frame.method == "notifications/cancelled":
            rid = frame.params.get("requestId")
            call = self.by_client.get(id_key(rid)) if isinstance(rid, (int, str)) else None
            if call is None:
                return
            for name, up_id in call.legs.items():
                await self._to_leg(self.legs[name], {"jsonrpc": "2.0", "method": "notifications/cancelled",
                                                     "params": {**frame.params, "requestId": up_id}})
            return
        for leg in self._alive():
            await self._to_leg(leg, frame.obj)

    async def _reply(self, frame: Frame) -> None:
        """The client's answer to a server request: back to its leg, with the leg's id."""
        entry = self.server_requests.pop(id_key(frame.id), None) if frame.id is not None else None
        if entry is None:
            return
        leg, orig = entry
        await self._to_leg(leg, {**frame.obj, "id": orig})

    # --- sending to legs ------------------------------------------------------------------------

    async def _one(self, frame: Frame, leg: Leg, params: dict[str, Any]) -> None:
        await self._fan(frame, [leg], params, None)

    async def _fan(self, frame: Frame, legs: list[Leg], params: dict[str, Any],
                   merge: Callable[[dict[str, dict[str, Any]]], dict[str, Any]] | None,
                   per_leg: Mapping[str, dict[str, Any]] | None = None) -> None:
        if not legs:
            if merge is not None:
                await self._answer(frame.id, merge({}))
            else:
                await self._answer_error(frame, ROUTE_ERROR, "no upstream can answer this")
            return
        call = Call(frame.id, frame.method or "", {}, merge)
        msgs: list[tuple[Leg, dict[str, Any]]] = []
        for leg in legs:
            up_id = next(leg.ids)
            call.legs[leg.name] = up_id
            self.calls[(leg.name, up_id)] = call
            p = dict(per_leg[leg.name]) if per_leg is not None else dict(params)
            p = self._map_token_out(leg, p, call)
            obj: dict[str, Any] = {"jsonrpc": "2.0", "id": up_id, "method": frame.method}
            if p or "params" in frame.obj:
                obj["params"] = p
            msgs.append((leg, obj))
        self.by_client[id_key(frame.id)] = call  # type: ignore[arg-type]
        for leg, obj in msgs:
            try:
                await self._to_leg(leg, obj)
            except ConnectionResetError:
                await self._settle(leg, call.legs[leg.name], error={"code": -32000, "message": "upstream gone"})

    async def _to_leg(self, leg: Leg, obj: dict[str, Any]) -> None:
        raw = encode(obj)
        frame = classify(obj, raw, Direction.C2S)
        await leg.backend.send(Outgoing(raw, [frame]))

    def _map_token_out(self, leg: Leg, params: dict[str, Any], call: Call) -> dict[str, Any]:
        meta = params.get("_meta")
        if not isinstance(meta, dict) or "progressToken" not in meta:
            return params
        token = f"{leg.prefix}-{next(self.next_token)}"
        self.tokens[(leg.name, token)] = meta["progressToken"]
        call.tokens.append((leg.name, token))
        return {**params, "_meta": {**meta, "progressToken": token}}

    # --- upstreams -> client ------------------------------------------------------------------

    async def _from_leg(self, leg: Leg, raw: bytes) -> None:
        try:
            msg = parse_json(raw)
        except Exception as e:
            log.warning("upstream %s sent a message that is not JSON (%s); dropped", leg.name, e)
            return
        for obj in msg if isinstance(msg, list) else [msg]:
            if not isinstance(obj, dict):
                continue
            if "method" in obj and "id" in obj:
                client_id = next(self.next_server_id)
                self.server_requests[id_key(client_id)] = (leg, obj["id"])
                await self._deliver({**obj, "id": client_id})
            elif "method" in obj:
                await self._leg_notification(leg, obj)
            elif isinstance(obj.get("id"), int):
                err = obj.get("error")
                await self._settle(leg, obj["id"], result=obj.get("result"),
                                   error=err if isinstance(err, dict) else None, has_error="error" in obj)

    async def _leg_notification(self, leg: Leg, obj: dict[str, Any]) -> None:
        method = obj.get("method")
        params = obj.get("params") if isinstance(obj.get("params"), dict) else {}
        assert isinstance(params, dict)
        if method == "notifications/progress":
            token = params.get("progressToken")
            client_token = self.tokens.get((leg.name, token)) if isinstance(token, str) else None
            if client_token is None:
                return  # progress for nothing the client asked about
            obj = {**obj, "params": {**params, "progressToken": client_token}}
        elif method == "notifications/cancelled":
            rid = params.get("requestId")
            client_id = next((cid for cid, (lg, orig) in self.server_requests.items()
                              if lg is leg and orig == rid and type(orig) is type(rid)), None)
            if client_id is None:
                return
            self.server_requests.pop(client_id, None)
            obj = {**obj, "params": {**params, "requestId": client_id[1]}}
        elif method == "notifications/resources/updated" and isinstance(params.get("uri"), str):
            obj = {**obj, "params": {**params, "uri": self._ns_uri(leg, params["uri"])}}
        elif method == "notifications/message":
            # Several servers log into one client: the logger names the one that spoke.
            logger = params.get("logger")
            named = f"{leg.name}/{logger}" if isinstance(logger, str) and logger else leg.name
            obj = {**obj, "params": {**params, "logger": named}}
        await self._deliver(obj)

    async def _settle(self, leg: Leg, up_id: int, *, result: Any = None, error: dict[str, Any] | None = None,
                      has_error: bool = False) -> None:
        call = self.calls.pop((leg.name, up_id), None)
        if call is None:
            return
        if error is not None or has_error:
            call.errors[leg.name] = error or {"code": -32603, "message": "malformed error"}
        else:
            call.results[leg.name] = result if isinstance(result, dict) else {}
        if len(call.results) + len(call.errors) < len(call.legs):
            return
        self.by_client.pop(id_key(call.client_id), None)
        self._forget_tokens(call)
        if call.merge is None:
            if call.errors:
                await self._deliver({"jsonrpc": "2.0", "id": call.client_id, "error": call.errors[leg.name]})
            else:
                await self._answer(call.client_id, self._expose_result(leg, call.method, call.results[leg.name]))
            return
        if not call.results:
            await self._deliver({"jsonrpc": "2.0", "id": call.client_id, "error": next(iter(call.errors.values()))})
            return
        for name, err in call.errors.items():
            log.warning("upstream %s failed %s: %s", name, call.method, err.get("message"))
        await self._answer(call.client_id, call.merge(call.results))

    def _forget_tokens(self, call: Call) -> None:
        # Progress after the answer belongs to nothing the client still waits for.
        for key in call.tokens:
            self.tokens.pop(key, None)

    async def _leg_lost(self, leg: Leg, reason: str) -> None:
        leg.alive = False
        log.warning("upstream %s of the aggregate is gone: %s", leg.name, reason)
        for (_, up_id) in [k for k in self.calls if k[0] == leg.name]:
            await self._settle(leg, up_id, error={"code": -32000, "message": f"upstream {leg.name} is gone: {reason}"})
        if not self._alive():
            await self._lost("every upstream of the aggregate is gone")

    async def _answer(self, client_id: Any, result: dict[str, Any]) -> None:
        await self._deliver({"jsonrpc": "2.0", "id": client_id, "result": result})

    async def _answer_error(self, frame: Frame, code: int, message: str) -> None:
        await self._deliver(error_message(frame.id, code, message))

    async def _deliver(self, obj: dict[str, Any]) -> None:
        if self.relay is not None:
            await self.relay.from_server(encode(obj))

    # --- merging and naming --------------------------------------------------------------------

    def _merge_initialize(self, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
        versions = []
        caps: dict[str, Any] = {}
        instructions = []
        for name, result in results.items():
            leg = self.legs[name]
            found = result.get("capabilities")
            leg.capabilities = found if isinstance(found, dict) else {}
            if isinstance(result.get("protocolVersion"), str):
                versions.append(result["protocolVersion"])
            for key, value in leg.capabilities.items():
                if not isinstance(value, dict):
                    caps.setdefault(key, value)
                    continue
                merged = caps.setdefault(key, {})
                for sub, flag in value.items():
                    if isinstance(flag, bool):
                        merged[sub] = merged.get(sub, False) or flag
                    else:
                        merged.setdefault(sub, flag)
            if isinstance(result.get("instructions"), str) and result["instructions"].strip():
                instructions.append(f"[{leg.prefix}] {result['instructions'].strip()}")
        for name in self.legs:
            if name not in results:
                self.legs[name].alive = False
        out: dict[str, Any] = {
            "protocolVersion": min(versions) if versions else "2025-06-18",
            "capabilities": caps,
            "serverInfo": {"name": "mcpwall-aggregate", "version": __version__},
        }
        if instructions:
            out["instructions"] = "\n\n".join(instructions)
        return out

    def _resolve(self, name: str, *, tools: bool) -> tuple[Leg | None, str | None]:
        if tools:
            for pattern, target in self.routes.items():
                leg = self.legs.get(target)
                if leg is not None and fnmatch.fnmatchcase(name, pattern):
                    return leg, name
        for leg in self.legs.values():
            head = leg.prefix + self.sep
            if name.startswith(head):
                return leg, name[len(head):]
        return None, None

    def _exposed_name(self, leg: Leg, name: str, *, tools: bool) -> str:
        if tools:
            for pattern, target in self.routes.items():
                if target == leg.name and fnmatch.fnmatchcase(name, pattern):
                    return name
        return f"{leg.prefix}{self.sep}{name}"

    def _ns_uri(self, leg: Leg, uri: str) -> str:
        return f"{leg.prefix}+{uri}"

    def _uri(self, uri: Any) -> tuple[Leg | None, str | None]:
        if not isinstance(uri, str):
            return None, None
        for leg in self.legs.values():
            head = leg.prefix + "+"
            if uri.startswith(head):
                return leg, uri[len(head):]
        return None, None

    def _expose(self, leg: Leg, method: str, item: Any) -> Any:
        if not isinstance(item, dict):
            return item
        if method in ("tools/list", "prompts/list") and isinstance(item.get("name"), str):
            return {**item, "name": self._exposed_name(leg, item["name"], tools=method == "tools/list")}
        if method == "resources/list" and isinstance(item.get("uri"), str):
            return {**item, "uri": self._ns_uri(leg, item["uri"])}
        if method == "resources/templates/list" and isinstance(item.get("uriTemplate"), str):
            return {**item, "uriTemplate": self._ns_uri(leg, item["uriTemplate"])}
        return item

    def _expose_result(self, leg: Leg, method: str, result: dict[str, Any]) -> dict[str, Any]:
        """Resource URIs inside results (links, embedded resources, read contents) get the prefix."""
        if method == "tools/call" and isinstance(result.get("content"), list):
            return {**result, "content": [self._content(leg, c) for c in result["content"]]}
        if method == "prompts/get" and isinstance(result.get("messages"), list):
            return {**result, "messages": [
                {**m, "content": self._content(leg, m.get("content"))} if isinstance(m, dict) else m
                for m in result["messages"]]}
        if method == "resources/read" and isinstance(result.get("contents"), list):
            return {**result, "contents": [
                {**c, "uri": self._ns_uri(leg, c["uri"])} if isinstance(c, dict) and isinstance(c.get("uri"), str)
                else c for c in result["contents"]]}
        return result

    def _content(self, leg: Leg, c: Any) -> Any:
        if not isinstance(c, dict):
            return c
        if c.get("type") == "resource_link" and isinstance(c.get("uri"), str):
            return {**c, "uri": self._ns_uri(leg, c["uri"])}
        res = c.get("resource")
        if c.get("type") == "resource" and isinstance(res, dict) and isinstance(res.get("uri"), str):
            return {**c, "resource": {**res, "uri": self._ns_uri(leg, res["uri"])}}
        return c


def _encode_cursor(cursors: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursors, separators=(",", ":")).encode()).decode()


def _decode_cursor(cursor: Any) -> dict[str, Any] | None:
    if not isinstance(cursor, str):
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error):
        return None
    return value if isinstance(value, dict) else None
