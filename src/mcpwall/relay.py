"""The relay: takes wire messages from a client-facing and a server-facing adapter, runs each
through the pipeline, and applies the decision on the wire.

Adapters own bytes and framing; the relay owns protocol bookkeeping (the pending table,
blocked ids, batches) and the meaning of verdicts (DESIGN §2):

- a passed frame goes on as its original bytes;
- a blocked request never reaches its receiver; its sender gets a JSON-RPC error with the
  same id, and a later ``notifications/cancelled`` for it is swallowed;
- a blocked or changed response is replaced, never dropped;
- a blocked notification is dropped.

In monitor mode every decision is recorded and the original bytes are forwarded. Frames that
break JSON-RPC are never forwarded in either mode: they are recorded, and their sender gets
an error when it expects an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from .audit.record import AuditRecord, plain_record
from .errors import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    PARSE_ERROR,
    UPSTREAM_UNAVAILABLE,
    AuditError,
    FrameTooLarge,
    ProtocolError,
)
from .frame import (
    Direction,
    Frame,
    IdKey,
    Kind,
    classify,
    decode,
    encode,
    error_message,
    id_key,
    peek_id,
    result_message,
)
from .pipeline import Decision, Pipeline
from .session import Session
from .verdict import Block, Defer, Finding, Respond, Severity, Verdict

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Outgoing:
    """Bytes for one peer, with the frame(s) they carry (several for a batch)."""

    data: bytes
    frames: list[Frame]


class Peer(Protocol):
    """Where the relay delivers messages: the client or the server side of an adapter."""

    async def send(self, out: Outgoing) -> None: ...


class AuditSink(Protocol):
    healthy: bool

    def record(self, rec: AuditRecord) -> None: ...

    async def commit(self, rec: AuditRecord) -> None: ...


class NullAudit:
    """Used when the audit log is switched off."""

    healthy = True

    def record(self, rec: AuditRecord) -> None:
        pass

    async def commit(self, rec: AuditRecord) -> None:
        pass


@dataclass(slots=True)
class _Route:
    forward: Frame | None = None  # goes on to the other side
    reply: Frame | None = None  # goes back to the sender


class Relay:
    """One client connection to one upstream, with its session and pipeline."""

    def __init__(
        self,
        pipeline: Pipeline,
        session: Session,
        *,
        enforce: bool,
        audit: AuditSink | None = None,
        client: Peer | None = None,
        server: Peer | None = None,
        max_bytes: int = 64 * 1024 * 1024,
        max_depth: int = 64,
    ) -> None:
        self.pipeline = pipeline
        self.session = session
        self.enforce = enforce
        self.audit: AuditSink = audit or NullAudit()
        self.client = client
        self.server = server
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        # mcpwall's own requests to the client (approvals): string ids with a random prefix
        # no server can predict, answered into futures and never forwarded to the server.
        self._own_prefix = f"mcpwall-{secrets.token_hex(6)}-"
        self._own_seq = itertools.count(1)
        self._own: dict[IdKey, asyncio.Future[dict[str, Any]]] = {}
        # Client requests waiting for a human's approval, each in a task of its own.
        self._waiting: dict[IdKey, asyncio.Task[None]] = {}

    # --- entry points for adapters -------------------------------------------------------

    async def from_client(self, raw: bytes, transport: dict[str, Any] | None = None) -> None:
        await self._receive(raw, Direction.C2S, transport)

    async def from_server(self, raw: bytes, transport: dict[str, Any] | None = None) -> None:
        await self._receive(raw, Direction.S2C, transport)

    async def oversized(self, direction: Direction, size: int, head: bytes) -> None:
        """An adapter dropped a message over the size limit; ``head`` is its first bytes."""
        err = FrameTooLarge(size, self.max_bytes, peek_id(head))
        await self._reject(head, direction, err)

    async def upstream_lost(self, reason: str) -> None:
        """The server is gone: every request still waiting for it gets an error now."""
        for pending in self.session.pending_from(Direction.C2S):
            frame = pending.frame
            self.session.close_request(Direction.C2S, frame.id)
            if pending.cancelled:
                continue  # the client gave up on it; an answer now would be unexpected
            reply = self._error_frame(frame, UPSTREAM_UNAVAILABLE, f"MCP server unavailable: {reason}")
            self._audit(frame, "error", True, reason=f"upstream lost: {reason}")
            await self._send(self.client, reply)

    # --- the core ---------------------------------------------------------------------

    async def _receive(self, raw: bytes, direction: Direction, transport: dict[str, Any] | None) -> None:
        try:
            decoded = decode(raw, direction, max_bytes=self.max_bytes, max_depth=self.max_depth)
        except ProtocolError as err:
            await self._reject(raw, direction, err)
            return
        if isinstance(decoded, list):
            await self._batch(raw, decoded, direction, transport)
            return
        if transport:
            decoded.transport = transport
        route = await self._guarded(decoded)
        receiver, sender = self._peers(direction)
        if route.forward is not None:
            await self._send(receiver, route.forward)
        if route.reply is not None:
            await self._send(sender, route.reply)

    async def _guarded(self, frame: Frame, *, retry: bool = False) -> _Route:
        try:
            return await self._handle(frame, retry=retry)
        except Exception as exc:  # a bug here must never take the proxy down
            log.exception("internal error while relaying %s %s", frame.kind, frame.method)
            reason = f"mcpwall internal error: {type(exc).__name__}"
            self._audit(frame, "block" if self.enforce else "pass", self.enforce, reason=reason)
            if not self.enforce:
                return _Route(forward=frame)
            return self._block(frame, Block(reason=reason + " (enforce mode fails closed)", code=INTERNAL_ERROR))

    async def _handle(self, frame: Frame, *, retry: bool = False) -> _Route:
        session = self.session
        d = frame.direction
        if frame.kind is Kind.REQUEST:
            if session.is_pending(d, frame.id):
                err = ProtocolError(
                    f"request id {encode(frame.id).decode()} is already in use by a request still in flight",
                    INVALID_REQUEST, frame.id,
                )
                self._audit(frame, "invalid", True, reason=str(err))
                return _Route(reply=self._error_frame(frame, INVALID_REQUEST, str(err)))
        elif frame.kind is Kind.NOTIFICATION:
            if frame.method == "notifications/cancelled":
                rid = frame.params.get("requestId")
                if rid is not None and session.was_blocked(d, rid):
                    self._audit(frame, "drop", True, reason="cancellation of a request mcpwall blocked")
                    return _Route()
                if isinstance(rid, (int, str)) and not isinstance(rid, bool):
                    cancelled = session.pending.get((d, id_key(rid)))
                    if cancelled is not None:
                        cancelled.cancelled = True
                waiting = self._waiting.pop(id_key(rid), None) if isinstance(rid, (int, str)) else None
                if waiting is not None and d is Direction.C2S:
                    waiting.cancel()
                    session.mark_blocked(Frame(b"", {}, Kind.REQUEST, d, rid))
                    self._audit(frame, "drop", True, reason="cancellation of a request waiting for approval")
                    return _Route()
        elif frame.id is not None:
            if d is Direction.C2S and self._own:
                own = self._own.pop(id_key(frame.id), None)
                if own is not None:
                    self._audit(frame, "consume", True,
                                reason="answer to mcpwall's own request; kept by mcpwall, not forwarded")
                    if not own.done():
                        own.set_result(frame.obj)
                    return _Route()
            pending = session.close_request(d.reverse, frame.id)
            if pending is None:
                reason = f"response id {encode(frame.id).decode()} matches no request in flight"
                self._audit(frame, "invalid", True, reason=reason)
                log.warning("dropped %s from %s: %s", frame.kind, _side(d), reason)
                return _Route()
            frame.request = pending.frame
            frame.method = pending.frame.method

        decision = await self.pipeline.run(frame, session)
        action = decision.action
        if self.enforce and not self.audit.healthy and action == "pass":
            decision = self._fail_closed(decision, "the audit log cannot be written")
            action = decision.action
        if not self.enforce or action == "pass":
            self._audit_decision(frame, decision, enforced=self.enforce)
            return self._pass(frame)
        verdict = decision.verdict
        if (isinstance(verdict, Defer) and verdict.ask is not None and not retry and self.client is not None
                and frame.kind is Kind.REQUEST and d is Direction.C2S):
            try:
                await self.audit.commit(self._decision_record(frame, decision, enforced=True))
            except AuditError as e:
                log.error("%s; blocking %s", e, frame.method)
                return self._block(frame, verdict)
            task = asyncio.get_running_loop().create_task(self._deferred(frame, verdict))
            self._waiting[id_key(frame.id)] = task  # type: ignore[arg-type]
            return _Route()
        try:
            await self.audit.commit(self._decision_record(frame, decision, enforced=True))
        except AuditError as e:
            log.error("%s; blocking %s", e, frame.method)
            if action == "modify":
                decision = self._fail_closed(decision, "the audit log cannot be written")
                action = decision.action
        return self._apply(frame, decision)

    # --- mcpwall's own requests to the client (human approval) ------------------------------

    async def ask_client(self, method: str, params: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send a request of mcpwall's own to the client and return its result.

        Raises TimeoutError when no answer comes in time (the client is told to stop with
        ``notifications/cancelled``) and RuntimeError when the client answers with an error.
        """
        if self.client is None:
            raise RuntimeError("no client connection to ask")
        msg_id = f"{self._own_prefix}{next(self._own_seq)}"
        obj = {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}
        frame = Frame(encode(obj), obj, Kind.REQUEST, Direction.S2C, msg_id, method)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        key = id_key(msg_id)
        self._own[key] = fut
        self._audit(frame, "ask", True, reason="mcpwall's own request to the client")
        try:
            await self._send(self.client, frame)
            answer = await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            note = {"jsonrpc": "2.0", "method": "notifications/cancelled",
                    "params": {"requestId": msg_id, "reason": "mcpwall stopped waiting for an answer"}}
            with contextlib.suppress(ConnectionResetError):
                await self._send(self.client, Frame(encode(note), note, Kind.NOTIFICATION, Direction.S2C,
                                                    None, "notifications/cancelled"))
            raise
        finally:
            self._own.pop(key, None)
        if "error" in answer:
            err = answer.get("error")
            raise RuntimeError(f"client answered with an error: {err.get('message') if isinstance(err, dict) else err}")
        result = answer.get("result")
        return result if isinstance(result, dict) else {}

    async def _deferred(self, frame: Frame, verdict: Defer) -> None:
        """Wait for the human's answer off the pump, then relay or refuse the request."""
        assert verdict.ask is not None
        try:
            try:
                approved = await verdict.ask(self.ask_client)
            except Exception:
                log.exception("asking for approval of %s failed", frame.method)
                approved = False
            if approved:
                route = await self._guarded(frame, retry=True)
            else:
                self._audit(frame, "block", True, reason=verdict.reason)
                route = self._block(frame, verdict)
        finally:
            if frame.id is not None:
                self._waiting.pop(id_key(frame.id), None)
        receiver, sender = self._peers(frame.direction)
        with contextlib.suppress(ConnectionResetError):
            if route.forward is not None:
                await self._send(receiver, route.forward)
            if route.reply is not None:
                await self._send(sender, route.reply)

    def _pass(self, frame: Frame) -> _Route:
        if frame.kind is Kind.REQUEST:
            self.session.open_request(frame)
        self.session.observe(frame)
        return _Route(forward=frame)

    def _apply(self, frame: Frame, decision: Decision) -> _Route:
        verdict = decision.verdict
        if isinstance(verdict, Block):
            return self._block(frame, verdict)
        if isinstance(verdict, Respond):
            if frame.kind is Kind.REQUEST:
                self.session.mark_blocked(frame)
                return _Route(reply=self._frame_for(frame, result_message(frame.id, verdict.result)))  # type: ignore[arg-type]
            return _Route()
        # modify
        out = decision.frame
        if out.kind is Kind.REQUEST:
            self.session.open_request(out)
        self.session.observe(out)
        return _Route(forward=out)

    def _block(self, frame: Frame, verdict: Block) -> _Route:
        if frame.kind is Kind.REQUEST:
            self.session.mark_blocked(frame)
            return _Route(reply=self._error_frame(frame, verdict.code, verdict.reason, verdict.data))
        if frame.kind is Kind.NOTIFICATION:
            return _Route()
        # A response is replaced by an error, never dropped: its requester waits for it.
        return _Route(forward=self._error_frame(frame, verdict.code, verdict.reason, verdict.data))

    def _fail_closed(self, decision: Decision, why: str) -> Decision:
        finding = Finding("internal", "audit.unavailable", Severity.HIGH, why, detector="relay")
        block = Block([finding], reason=f"mcpwall blocked this message: {why} (enforce mode fails closed)",
                      code=INTERNAL_ERROR, inspector="relay")
        return Decision(block, decision.frame, [*decision.trail, block])

    # --- batches (protocol 2025-03-26 only) ---------------------------------------------

    async def _batch(self, raw: bytes, items: list[Any], direction: Direction,
                     transport: dict[str, Any] | None) -> None:
        receiver, sender = self._peers(direction)
        if not items or not self.session.batches_allowed:
            version = self.session.protocol_version or self.session.proposed_version or "unknown"
            why = ("an empty batch is not a valid JSON-RPC message" if not items else
                   f"JSON-RPC batches are not supported on protocol version {version}")
            err = ProtocolError(why, INVALID_REQUEST)
            await self._reject(raw, direction, err, items=items)
            return
        forwards: list[Frame] = []
        replies: list[Frame] = []
        for item in items:
            try:
                frame = classify(item, encode(item), direction)
            except ProtocolError as err:
                self._audit_raw(encode(item), item, direction, "invalid", str(err))
                if isinstance(item, dict) and "method" in item:
                    replies.append(self._make_error(direction, err.msg_id, err.code, str(err)))
                continue
            if transport:
                frame.transport = transport
            route = await self._guarded(frame)
            if route.forward is not None:
                forwards.append(route.forward)
            if route.reply is not None:
                replies.append(route.reply)
        if forwards:
            untouched = len(forwards) == len(items) and all(
                f.obj is i for f, i in zip(forwards, items, strict=True))
            data = raw if untouched else b"[" + b",".join(f.raw for f in forwards) + b"]"
            if receiver is not None:
                await receiver.send(Outgoing(data, forwards))
        if replies and sender is not None:
            await sender.send(Outgoing(b"[" + b",".join(f.raw for f in replies) + b"]", replies))

    # --- bad input ------------------------------------------------------------------------

    async def _reject(self, raw: bytes, direction: Direction, err: ProtocolError,
                      items: list[Any] | None = None) -> None:
        self._audit_raw(raw, None, direction, "invalid", str(err))
        if not self._expects_answer(raw, direction, err):
            if direction is Direction.S2C and err.code == PARSE_ERROR:
                text = raw[:300].decode("utf-8", "replace")
                log.warning("server printed a line that is not JSON-RPC (not forwarded): %s", text)
            else:
                log.warning("dropped a reply from the %s: %s", _side(direction), err)
            return
        log.warning("refused a message from the %s: %s", _side(direction), err)
        _, sender = self._peers(direction)
        if items:
            # Answer each request of a refused batch, so none of them hangs.
            replies = [self._make_error(direction, i["id"], err.code, str(err)) for i in items
                       if isinstance(i, dict) and "method" in i and _valid_id(i.get("id"))]
            if replies:
                data = b"[" + b",".join(r.raw for r in replies) + b"]"
                if sender is not None:
                    await sender.send(Outgoing(data, replies))
                return
        await self._send(sender, self._make_error(direction, err.msg_id, err.code, str(err)))

    @staticmethod
    def _expects_answer(raw: bytes, direction: Direction, err: ProtocolError) -> bool:
        head = raw[:65536]
        if b'"method"' not in head and (b'"result"' in head or b'"error"' in head):
            return False  # a reply gets no reply
        # Stray output of a server (logs on stdout) is logged, not answered.
        return not (direction is Direction.S2C and err.code == PARSE_ERROR and err.msg_id is None)

    # --- helpers --------------------------------------------------------------------------

    def _peers(self, direction: Direction) -> tuple[Peer | None, Peer | None]:
        """(receiver, sender) of a message travelling in ``direction``."""
        return (self.server, self.client) if direction is Direction.C2S else (self.client, self.server)

    @staticmethod
    async def _send(peer: Peer | None, frame: Frame) -> None:
        if peer is not None:
            await peer.send(Outgoing(frame.raw, [frame]))

    def _frame_for(self, request: Frame, obj: dict[str, Any]) -> Frame:
        kind = Kind.ERROR if "error" in obj else Kind.RESPONSE
        return Frame(encode(obj), obj, kind, request.direction.reverse, request.id, request.method, request)

    def _error_frame(self, about: Frame, code: int, message: str, data: Any = None) -> Frame:
        """An error answering ``about`` (a request), or replacing it (a response)."""
        request = about.request if about.is_reply else about
        obj = error_message(about.id, code, message, data)
        direction = about.direction.reverse if about.kind is Kind.REQUEST else about.direction
        return Frame(encode(obj), obj, Kind.ERROR, direction, about.id, about.method, request)

    def _make_error(self, direction: Direction, msg_id: Any, code: int, message: str) -> Frame:
        obj = error_message(msg_id, code, message)
        return Frame(encode(obj), obj, Kind.ERROR, direction.reverse, msg_id)

    def _decision_record(self, frame: Frame, decision: Decision, *, enforced: bool) -> AuditRecord:
        session = self.session
        if not decision.trail:  # nothing to say but "pass": the common case, kept cheap
            return plain_record(_TEXT[frame.direction], decision.action, enforced, frame.raw, frame.obj,
                                _TEXT[frame.kind], frame.method, frame.id, frame.tool, session.id,
                                session.upstream, session.identity.subject)
        deciding: Verdict | None = decision.deciding
        reason = ""
        if isinstance(deciding, Block):
            reason = deciding.reason
        elif deciding is not None:
            reason = getattr(deciding, "reason", "")
        return AuditRecord(
            direction=_TEXT[frame.direction], action=decision.action, enforced=enforced, raw=frame.raw,
            obj=frame.obj, kind=_TEXT[frame.kind], method=frame.method, msg_id=frame.id, tool=frame.tool,
            inspector=deciding.inspector if deciding else "", rule=deciding.rule if deciding else "",
            reason=reason, findings=decision.findings, session=session.id,
            upstream=session.upstream, identity=session.identity.subject,
        )

    def _audit_decision(self, frame: Frame, decision: Decision, *, enforced: bool) -> None:
        self.audit.record(self._decision_record(frame, decision, enforced=enforced))

    def _audit(self, frame: Frame, action: str, enforced: bool, *, reason: str = "") -> None:
        self.audit.record(AuditRecord(
            direction=frame.direction.value, action=action, enforced=enforced, raw=frame.raw, obj=frame.obj,
            kind=frame.kind.value, method=frame.method, msg_id=frame.id, tool=frame.tool, reason=reason,
            inspector="relay", session=self.session.id, upstream=self.session.upstream,
            identity=self.session.identity.subject,
        ))

    def _audit_raw(self, raw: bytes, obj: Any, direction: Direction, action: str, reason: str) -> None:
        self.audit.record(AuditRecord(
            direction=direction.value, action=action, enforced=True, raw=raw, obj=obj, reason=reason,
            inspector="relay", session=self.session.id, upstream=self.session.upstream,
            identity=self.session.identity.subject,
            method=obj.get("method") if isinstance(obj, dict) and isinstance(obj.get("method"), str) else None,
        ))


def _valid_id(value: Any) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


# Plain strings for the audit columns (an enum's ``.value`` is a slow property).
_TEXT: dict[Any, str] = {**{d: d.value for d in Direction}, **{k: k.value for k in Kind}}


def _side(direction: Direction) -> str:
    return "client" if direction is Direction.C2S else "server"
