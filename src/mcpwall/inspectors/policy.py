"""The policy inspector: turns rules, findings and data flow into verdicts.

Requests and notifications (either direction) are ruled on by the compiled policy, with the
findings of the inspectors that ran before (detection, pinning) and the session's data
flow. Responses are ruled on when some rule asks for them (findings in results) and for
response budgets. A ``tools/list`` result is filtered so that a tool no call of which could
pass is not listed. ``require_approval`` asks the user through MCP elicitation when the
client can answer one (a :class:`~mcpwall.verdict.Defer` the relay resolves), and otherwise
blocks with the ``mcpwall approvals`` command that grants a retry.

The compiled policy is swapped whole on reload; a message always sees one consistent policy.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..audit.mask import mask_frame
from ..frame import Direction, Frame, Kind, encode
from ..pipeline import PASS, Inspector
from ..policy import budget as budgets
from ..policy.dataflow import Flow
from ..policy.engine import CompiledRule, Facts, Policy, Ruling, compile_policy
from ..policy.external import Cedar, Opa
from ..policy.findings import FindingPolicy
from ..policy.rules import Action, PolicySettings, RuleSet
from ..redaction import redact_field
from ..session import Session
from ..state import StateError, StateStore, open_store
from ..verdict import Asker, Block, Defer, Finding, Modify, Pass, Respond, Severity, Verdict

if TYPE_CHECKING:
    from ..config import Settings

log = logging.getLogger(__name__)

REDACTED = "[REDACTED by mcpwall]"
# Plain strings for facts (an enum's ``.value`` is a slow property on the hot path).
_KIND = {Kind.REQUEST: "request", Kind.NOTIFICATION: "notification", Kind.RESPONSE: "response", Kind.ERROR: "error",
         Direction.C2S: "c2s", Direction.S2C: "s2c"}


class Compiled:
    """A policy with its external decision points, built and checked together."""

    def __init__(self, settings: PolicySettings, source: Path | None) -> None:
        self.policy: Policy = compile_policy(settings, source)
        top = self.policy.top
        base_dir = source.parent if source else None
        self.cedar = Cedar(top.cedar, base_dir) if top.cedar else None
        self.opa = Opa(top.opa) if top.opa else None
        self.approvals = top.approvals
        self.files = [*self.policy.files, *(self.cedar.files if self.cedar else [])]


# Requests that may get an ``input_required`` answer (2026-07-28), and how mcpwall names its
# own input requests in one (the rest of the key is the approval id).
IN_BAND_METHODS = frozenset({"tools/call", "prompts/get", "resources/read"})
OWN_INPUT = "mcpwall-approval-"
CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"


def _elicitation(facts: Facts, why: str, session: Session) -> dict[str, Any]:
    """The elicitation params that ask the user to approve one call."""
    args = json.dumps(facts.arguments, ensure_ascii=False, indent=2, sort_keys=True, default=str)
    if len(args) > 2000:
        args = args[:2000] + "\n... (truncated)"
    target = f"tool {facts.tool!r}" if facts.tool else f"method {facts.method!r}"
    message = (f"mcpwall: approve this call?\n\n{target} on {session.upstream or 'the server'}\n"
               f"Arguments:\n{args}\n\nReason approval is needed: {why}\n\n"
               f"This approval is for this exact call, once.")
    return {
        "message": message,
        "requestedSchema": {
            "type": "object",
            "properties": {"approve": {"type": "boolean", "title": "Approve this call", "default": True}},
            "required": ["approve"],
        },
    }


def call_digest(session: Session, method: str | None, tool: str | None, arguments: Any) -> str:
    """Binds an approval to exactly one call: who, where, what, with which arguments."""
    text = json.dumps([session.upstream, session.identity.subject, method, tool, arguments],
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PolicyInspector(Inspector):
    name = "policy"
    kinds = frozenset({Kind.REQUEST, Kind.NOTIFICATION, Kind.RESPONSE})

    def __init__(self, settings: PolicySettings, *, source: Path | None = None, enforce: bool = True,
                 state_db: Path | None = None, store: StateStore | None = None, replay: bool = False,
                 actions: FindingPolicy | None = None) -> None:
        self.compiled = Compiled(settings, source)
        # Built-in actions on detection findings, after the user's rules (policy/findings.py).
        self.actions = actions
        self.replay = replay  # deciding recorded traffic again: no approvals are asked or stored
        self.source = source
        self.enforce = enforce
        self.state_db = state_db
        self._store = store
        self.version = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> PolicyInspector:
        from ..config import state_db_path

        d = settings.detection
        return cls(settings.policy, source=settings.source, enforce=settings.enforce,
                   state_db=state_db_path(settings), actions=FindingPolicy(d.actions) if d.enabled else None)

    # --- compatibility with the first rule model ----------------------------------------

    @property
    def rules(self) -> RuleSet:
        return RuleSet(self.compiled.policy.top)

    @property
    def policy(self) -> Policy:
        return self.compiled.policy

    # --- reload ----------------------------------------------------------------------------

    def reload(self, settings: Settings) -> None:
        """Swap in a new policy; raises (keeping the old one) when it does not compile."""
        new = Compiled(settings.policy, settings.source)
        old, self.compiled = self.compiled, new
        if self.actions is not None:
            self.actions = FindingPolicy(settings.detection.actions)
        self.version += 1
        if old.opa is not None:
            import asyncio

            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().create_task(old.opa.close())

    def watched_files(self) -> list[Path]:
        return list(self.compiled.files)

    async def close(self) -> None:
        if self.compiled.opa is not None:
            await self.compiled.opa.close()

    # --- routing --------------------------------------------------------------------------

    def wants(self, frame: Frame) -> bool:
        return self.actions is not None or self._rules_want(frame)

    def _rules_want(self, frame: Frame) -> bool:
        if frame.kind is Kind.RESPONSE:
            return frame.method == "tools/list" or self.compiled.policy.inspects_responses
        return frame.kind is not Kind.ERROR

    def store(self) -> StateStore:
        if self._store is None:
            if self.state_db is None:
                raise StateError("no state database configured for approvals")
            self._store = open_store(self.state_db)
        return self._store

    async def inspect(self, frame: Frame, session: Session) -> Verdict:
        return await self.review(frame, session, ())

    async def review(self, frame: Frame, session: Session, findings: Sequence[Finding]) -> Verdict:
        actions = self.actions
        if actions is None:
            return await self._rule(frame, session, findings)
        verdict = await self._rule(frame, session, findings) if self._rules_want(frame) else Pass()
        if not isinstance(verdict, (Pass, Modify)):
            return verdict
        if findings and verdict.rule:
            # A user rule about findings decided about the findings it names; the built-in
            # actions still apply to the others (a rule trusting injection in one tool's
            # results, or redacting emails, must not let a secret beside them through).
            rule = self._findings_rule(verdict.rule)
            if rule is not None:
                findings = [f for f in findings if not rule.finding_hit(f)]
                if not findings:
                    return verdict
        return actions.decide(frame, session, findings, verdict)

    def _findings_rule(self, name: str) -> CompiledRule | None:
        """The user's rule called ``name``, when it matches on findings."""
        for layer in self.compiled.policy.layers:
            for r in layer.rules:
                if r.rule.name == name and r.findings is not None:
                    return r
        return None

    async def _rule(self, frame: Frame, session: Session, findings: Sequence[Finding]) -> Verdict:
        compiled = self.compiled  # one policy for the whole message, even across a reload
        if frame.kind is Kind.RESPONSE:
            if frame.method == "tools/list":
                flow = session.state.get("dataflow")
                if isinstance(flow, Flow):
                    flow.labels.clear()  # descriptions may have changed: label again
                return self._filter_tools(frame, session, compiled.policy)
            return self._response(frame, session, findings, compiled.policy)
        policy = compiled.policy
        if (policy.default is Action.ALLOW and compiled.cedar is None and compiled.opa is None
                and not (policy.uses_history and frame.method == "tools/call")):
            # No rule can match a message with this method, tool and caller, whatever it
            # holds: the default allows it, and there is no history to record.
            ident = session.identity
            if policy.default_only(_KIND[frame.kind], _KIND[frame.direction], frame.method, frame.tool,
                                   session.upstream, ident.subject, ident.roles):
                return PASS
        facts = self._facts(frame, session, findings, policy)
        ruling = policy.decide(facts)
        if ruling.action is not Action.DENY and frame.kind is Kind.REQUEST:
            ruling = await self._external(compiled, facts, ruling)
        return self._act(frame, session, facts, ruling, compiled)

    # --- facts ----------------------------------------------------------------------------

    def _flow(self, session: Session) -> Flow:
        flow = session.state.get("dataflow")
        if not isinstance(flow, Flow) or flow.version != self.version:
            old = flow if isinstance(flow, Flow) else None
            flow = Flow(version=self.version)
            if old is not None:  # keep the history across a reload, drop cached labels
                flow.touched, flow.called = old.touched, old.called
            session.state["dataflow"] = flow
        return flow

    def _labels(self, session: Session, flow: Flow, tool: str, policy: Policy) -> frozenset[str]:
        labels = flow.labels.get(tool)
        if labels is None:
            labels = flow.labels[tool] = policy.labeller.labels(tool, session.upstream, session.tools.get(tool))
        return labels

    def _facts(self, frame: Frame, session: Session, findings: Sequence[Finding], policy: Policy) -> Facts:
        ident = session.identity
        tool = frame.tool
        request = frame.request if frame.is_reply else frame
        params = request.params if request is not None else {}
        arguments = params.get("arguments") if (request is not None and request.method == "tools/call") else params
        facts = Facts(method=frame.method, tool=tool, direction=_KIND[frame.direction], kind=_KIND[frame.kind],
                      upstream=session.upstream, subject=ident.subject, roles=ident.roles, arguments=arguments,
                      findings=findings)
        if policy.uses_history and tool is not None:
            flow = self._flow(session)
            facts.labels = self._labels(session, flow, tool, policy)
            facts.touched = flow.touched
            facts.called = flow.called
        return facts

    def _remember(self, session: Session, facts: Facts, policy: Policy) -> None:
        """A tools/call is going through: its labels and name join the session's history."""
        if facts.tool is None or facts.kind != "request" or facts.method != "tools/call":
            return
        if not policy.uses_history:
            return
        flow = self._flow(session)
        flow.record(facts.tool, facts.labels or self._labels(session, flow, facts.tool, policy))

    async def _external(self, compiled: Compiled, facts: Facts, ruling: Ruling) -> Ruling:
        for point in (compiled.cedar, compiled.opa):
            if point is None or facts.method not in point.methods:
                continue
            if isinstance(point, Opa):
                ok, why = await point.decide(facts)
            else:
                ok, why = point.decide(facts)
            if not ok:
                name = "cedar" if isinstance(point, Cedar) else "opa"
                return Ruling(Action.DENY, None, name, why=why)
        return ruling

    # --- acting on a ruling ---------------------------------------------------------------

    def _act(self, frame: Frame, session: Session, facts: Facts, ruling: Ruling, compiled: Compiled) -> Verdict:
        policy = compiled.policy
        action = ruling.action
        if ruling.rule is not None:
            name = ruling.rule.name
        else:
            name = ruling.layer if ruling.layer in ("cedar", "opa") else "default"
        if action is Action.ALLOW:
            self._remember(session, facts, policy)
            return Pass(rule=name if ruling.rule is not None else "")
        what = f"tool {facts.tool!r}" if facts.tool else f"method {facts.method!r}"
        if action is Action.WARN:
            self._remember(session, facts, policy)
            msg = ruling.reason or f"matched warn rule {name!r}"
            return Pass([Finding("policy", name, Severity.LOW, msg, detector=self.name)], rule=name)
        if action is Action.DENY or (action is Action.REQUIRE_APPROVAL and frame.kind is not Kind.REQUEST):
            reason = f"mcpwall policy denies {what} (rule {name!r})"
            extra = ruling.reason or ruling.why
            if extra:
                reason += f": {extra}"
            finding = Finding("policy", name, Severity.MEDIUM, reason, detector=self.name)
            if not self.enforce:
                self._remember(session, facts, policy)  # monitor mode: the call happens
            return Block([finding], rule=name, reason=reason)
        if action is Action.REDACT:
            self._remember(session, facts, policy)
            return self._redact(frame, facts, ruling, name)
        return self._approval(frame, session, facts, ruling, name, compiled)

    def _redact(self, frame: Frame, facts: Facts, ruling: Ruling, name: str) -> Verdict:
        if not ruling.redact:
            return Pass([Finding("policy", name, Severity.LOW, f"redact rule {name!r} matched nothing to redact",
                                 detector=self.name)], rule=name)
        obj = copy.deepcopy(frame.obj)
        spans: dict[str, list[tuple[int, int]]] = {}
        whole: set[str] = set()
        for f in facts.findings:
            if f.path in ruling.redact and f.span is not None:
                spans.setdefault(f.path, []).append(f.span)
        for path in ruling.redact:
            if path not in spans:
                whole.add(path)
        done = [path for path in sorted(set(ruling.redact))
                if redact_field(obj, path, None if path in whole else [(s, e, REDACTED) for s, e in spans[path]],
                                REDACTED)]
        if not done:
            return Pass(rule=name)
        finding = Finding("policy", name, Severity.LOW, f"redacted {len(done)} field(s)",
                          path=done[0], detector=self.name, extra={"paths": done})
        return Modify([finding], obj=obj, rule=name, reason=ruling.reason or f"redacted by rule {name!r}")

    def _approval(self, frame: Frame, session: Session, facts: Facts, ruling: Ruling, name: str,
                  compiled: Compiled) -> Verdict:
        why = ruling.reason or f"rule {name!r} requires approval"
        what = f"tool {facts.tool!r}" if facts.tool else f"method {facts.method!r}"
        finding = Finding("policy", name, Severity.MEDIUM, f"{what} requires approval: {why}", detector=self.name)
        if not self.enforce or self.replay:
            self._remember(session, facts, compiled.policy)
            return Block([finding], rule=name, reason=f"mcpwall: {what} requires approval: {why}")
        settings = compiled.approvals
        digest = call_digest(session, facts.method, facts.tool, facts.arguments)
        try:
            store = self.store()
            answered = self._answer_in_band(frame, store, digest, settings.ttl_seconds)
            if answered is False:
                return Block([finding], rule=name, reason=f"mcpwall: {what} requires approval ({why}) and was "
                             "not approved")
            grant = store.consume_grant(digest)
            if grant is not None and answered is not None:
                # Approved through an input_required round: forward the call without
                # mcpwall's own answer in it (the server never asked for it).
                self._remember(session, facts, compiled.policy)
                return Modify([Finding("policy", name, Severity.INFO,
                                       f"{what} approved ({grant.via or 'granted'}, approval {grant.id}); grant used",
                                       detector=self.name, extra={"approval": grant.id})],
                              obj=answered, rule=name, reason=f"approved by the user (approval {grant.id})")
            if grant is not None:
                self._remember(session, facts, compiled.policy)
                return Pass([Finding("policy", name, Severity.INFO,
                                     f"{what} approved ({grant.via or 'granted'}, approval {grant.id}); grant used",
                                     detector=self.name, extra={"approval": grant.id})], rule=name)
            shown = mask_frame(encode(facts.arguments), copy.deepcopy(facts.arguments), [])
            pending = store.request_approval(
                digest, upstream=session.upstream, identity=session.identity.subject, tool=facts.tool or "",
                arguments=shown, reason=why, rule=name, ttl=settings.ttl_seconds)
        except StateError as e:
            return Block([finding], rule=name, reason=f"mcpwall: {what} requires approval, but the approval store "
                         f"cannot be used ({e}); blocked")
        if self._asks_in_band(frame, settings):
            return self._input_required(frame, pending.id, facts, why, session, finding, name)
        cli = (f"Approve it with `mcpwall approvals grant {pending.id}` and retry the call "
               f"(`mcpwall approvals list` shows pending approvals, `mcpwall approvals deny {pending.id}` refuses)")
        can_elicit = (settings.elicitation and frame.kind is Kind.REQUEST and frame.direction is Direction.C2S
                      and "elicitation" in session.client_capabilities)
        if not can_elicit:
            return Block([finding], rule=name, reason=f"mcpwall: {what} requires approval: {why}. {cli}",
                         data={"approval": pending.id})
        ask = self._asker(pending.id, facts, why, settings.timeout_seconds, settings.ttl_seconds, session)
        return Defer([finding], rule=name, data={"approval": pending.id}, ask=ask,
                     reason=f"mcpwall: {what} requires approval ({why}) and was not approved. {cli}")

    # --- approval inside the request (2026-07-28: input_required rounds) -------------------

    @staticmethod
    def _asks_in_band(frame: Frame, settings: Any) -> bool:
        """A 2026-07-28 request from a client that can elicit: there are no server-to-client
        requests in that era, so mcpwall answers ``input_required`` with an elicitation and
        the client retries the call with the user's answer."""
        if not settings.elicitation or frame.kind is not Kind.REQUEST or frame.method not in IN_BAND_METHODS:
            return False
        meta = frame.params.get("_meta")
        caps = meta.get(CLIENT_CAPABILITIES) if isinstance(meta, dict) else None
        return isinstance(caps, dict) and "elicitation" in caps

    def _input_required(self, frame: Frame, approval_id: str, facts: Facts, why: str, session: Session,
                        finding: Finding, name: str) -> Verdict:
        request = {"method": "elicitation/create", "params": {"mode": "form", **_elicitation(facts, why, session)}}
        result = {"resultType": "input_required", "inputRequests": {OWN_INPUT + approval_id: request}}
        return Respond([finding], rule=name, result=result)

    def _answer_in_band(self, frame: Frame, store: StateStore, digest: str, ttl: float) -> dict[str, Any] | bool | None:
        """The user's answer to mcpwall's own input request, carried by a retried call.

        None: the call carries none. False: declined, or an answer that does not belong to
        this exact call (another call's approval, an expired or already used one). Otherwise
        the message to forward, without mcpwall's answer; the approval is granted.
        """
        if frame.kind is not Kind.REQUEST or frame.method not in IN_BAND_METHODS:
            return None
        responses = frame.params.get("inputResponses")
        if not isinstance(responses, dict):
            return None
        ours = [k for k in responses if isinstance(k, str) and k.startswith(OWN_INPUT)]
        if not ours:
            return None
        approval_id = ours[0][len(OWN_INPUT):]
        answer = responses[ours[0]]
        content = answer.get("content") if isinstance(answer, dict) else None
        ok = (len(ours) == 1 and isinstance(answer, dict) and answer.get("action") == "accept"
              and (content.get("approve", True) is not False if isinstance(content, dict) else True))
        pending = store.approval(approval_id)
        if pending is None or pending.digest != digest or pending.status != "pending":
            return False
        try:
            store.decide(pending.id, ok, ttl=ttl, via=f"elicitation ({answer.get('action') if isinstance(answer, dict) else 'invalid'}, input_required)")
        except StateError as e:
            log.info("approval %s not given: %s", approval_id, e)
            return False
        if not ok:
            return False
        obj = copy.deepcopy(frame.obj)
        left = {k: v for k, v in responses.items() if k not in ours}
        if left:
            obj["params"]["inputResponses"] = left
        else:
            del obj["params"]["inputResponses"]
        return obj

    def _asker(self, approval_id: str, facts: Facts, why: str, timeout: float, ttl: float, session: Session) -> Any:
        params = _elicitation(facts, why, session)

        async def ask(send: Asker) -> bool:
            try:
                result = await send("elicitation/create", params, timeout)
            except Exception as e:
                log.info("approval %s not given: %s", approval_id, e)
                ok, via = False, f"elicitation: {type(e).__name__}"
            else:
                raw = result.get("content")
                content: dict[str, Any] = raw if isinstance(raw, dict) else {}
                ok = result.get("action") == "accept" and content.get("approve", True) is not False
                via = f"elicitation ({result.get('action')})"
            try:
                self.store().decide(approval_id, ok, ttl=ttl, via=via)
            except StateError as e:
                log.warning("approval %s: %s", approval_id, e)
                return False
            return ok

        return ask

    # --- responses -------------------------------------------------------------------------

    def _response(self, frame: Frame, session: Session, findings: Sequence[Finding], policy: Policy) -> Verdict:
        facts = self._facts(frame, session, findings, policy)
        ruling = policy.decide(facts)
        verdict: Verdict | None = None
        if ruling.action is not Action.ALLOW:
            verdict = self._act(frame, session, facts, ruling, self.compiled)
            if isinstance(verdict, Block):
                return verdict
        limit = policy.budget(frame.tool, session.upstream, frame.method)
        if limit is None or len(frame.raw) <= limit[0]:
            return verdict or Pass(rule=ruling.rule.name if ruling.rule is not None else "")
        max_bytes, how, name = limit
        size = len(frame.raw)
        msg = f"response of {size} bytes is over the budget of {max_bytes} bytes ({name})"
        finding = Finding("budget", name, Severity.LOW if how == "warn" else Severity.MEDIUM, msg,
                          detector=self.name, extra={"size": size, "limit": max_bytes})
        prior = list(verdict.findings) if verdict is not None else []
        obj = verdict.obj if isinstance(verdict, Modify) else frame.obj
        if how == "warn":
            return Modify([*prior, finding], obj=obj, rule=name) if isinstance(verdict, Modify) else \
                Pass([*prior, finding], rule=name)
        if how == "truncate":
            cut = budgets.truncate(obj, max_bytes, size)
            if cut is not None:
                return Modify([*prior, finding], obj=cut, rule=name, reason=f"truncated: {msg}")
        return Block([*prior, finding], rule=name, reason=f"mcpwall blocked a response: {msg}")

    def _filter_tools(self, frame: Frame, session: Session, policy: Policy) -> Verdict:
        result = frame.result
        tools = result.get("tools") if isinstance(result, dict) else None
        if not isinstance(tools, list):
            return Pass()
        kept: list[Any] = []
        findings: list[Finding] = []
        ident = session.identity
        for tool in tools:
            name = tool.get("name") if isinstance(tool, dict) else None
            if isinstance(name, str):
                facts = Facts(method="tools/call", tool=name, direction=Direction.C2S.value, kind="request",
                              upstream=session.upstream, subject=ident.subject, roles=ident.roles)
                rule = policy.hides_tool(facts)
                if rule is not None:
                    findings.append(Finding("policy", rule.name, Severity.INFO,
                                            f"tool {name!r} hidden from tools/list",
                                            path="$.result.tools", detector=self.name))
                    continue
            kept.append(tool)
        if not findings:
            return Pass()
        assert isinstance(result, dict)
        new_obj = dict(frame.obj)
        new_obj["result"] = {**result, "tools": kept}
        return Modify(findings, obj=new_obj, reason=f"{len(findings)} tool(s) hidden by policy")
