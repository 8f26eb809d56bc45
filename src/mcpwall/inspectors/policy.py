"""The policy inspector: turns the rule set into verdicts on requests and tool lists.

Requests (either direction) are matched by method and tool; a deny blocks them. A
``tools/list`` result is filtered so that a tool a deny rule would block is not listed.
"""

from __future__ import annotations

from typing import Any

from ..frame import Frame, Kind
from ..pipeline import Inspector
from ..policy.rules import Action, CompiledRule, PolicySettings, RuleSet
from ..session import Session
from ..verdict import Block, Finding, Modify, Pass, Severity, Verdict


class PolicyInspector(Inspector):
    name = "policy"
    kinds = frozenset({Kind.REQUEST, Kind.NOTIFICATION, Kind.RESPONSE})

    def __init__(self, settings: PolicySettings) -> None:
        self.rules = RuleSet(settings)

    def wants(self, frame: Frame) -> bool:
        if frame.kind is Kind.RESPONSE:
            return frame.method == "tools/list"
        return True

    async def inspect(self, frame: Frame, session: Session) -> Verdict:
        if frame.kind is Kind.RESPONSE:
            return self._filter_tools(frame)
        rule = self.rules.decide(frame.method, frame.tool)
        action = rule.action if rule else self.rules.default
        rule_name = rule.name if rule else "default"
        if action is Action.DENY:
            what = f"tool {frame.tool!r}" if frame.tool else f"method {frame.method!r}"
            reason = f"mcpwall policy denies {what} (rule {rule_name!r})"
            if rule and rule.reason:
                reason += f": {rule.reason}"
            finding = Finding("policy", rule_name, Severity.MEDIUM, reason, detector=self.name)
            return Block([finding], rule=rule_name, reason=reason)
        if action is Action.WARN and rule is not None:
            msg = rule.reason or f"matched warn rule {rule.name!r}"
            return Pass([Finding("policy", rule.name, Severity.LOW, msg, detector=self.name)], rule=rule.name)
        return Pass(rule=rule_name if rule else "")

    def _denied_tool(self, name: str) -> CompiledRule | None:
        rule = self.rules.decide("tools/call", name)
        if rule is not None:
            return rule if rule.action is Action.DENY else None
        return None

    def _filter_tools(self, frame: Frame) -> Verdict:
        result = frame.result
        tools = result.get("tools") if isinstance(result, dict) else None
        if not isinstance(tools, list):
            return Pass()
        kept: list[Any] = []
        findings: list[Finding] = []
        default_deny = self.rules.default is Action.DENY
        for tool in tools:
            name = tool.get("name") if isinstance(tool, dict) else None
            if isinstance(name, str):
                rule = self.rules.decide("tools/call", name)
                denied = rule.action is Action.DENY if rule else default_deny
                if denied:
                    rule_name = rule.name if rule else "default"
                    findings.append(
                        Finding("policy", rule_name, Severity.INFO, f"tool {name!r} hidden from tools/list",
                                path="$.result.tools", detector=self.name)
                    )
                    continue
            kept.append(tool)
        if not findings:
            return Pass()
        new_obj = dict(frame.obj)
        new_obj["result"] = {**result, "tools": kept}
        return Modify(findings, obj=new_obj, reason=f"{len(findings)} tool(s) hidden by policy")
