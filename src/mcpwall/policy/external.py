"""External decision points: Cedar policies (``cedarpy``) and an OPA server over HTTP.

Both only ever restrict what the rules allow, and both fail closed: a policy that does not
parse is a configuration error at load time; an evaluation error, a timeout, an unreachable
OPA or an answer that is not a clear yes is a deny.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .engine import Facts
from .rules import CedarSettings, OpaSettings

log = logging.getLogger(__name__)


def _cedar_id(text: str) -> str:
    return text or "-"


def facts_input(f: Facts) -> dict[str, Any]:
    return {
        "method": f.method, "tool": f.tool, "direction": f.direction, "upstream": f.upstream,
        "subject": f.subject, "roles": list(f.roles), "arguments": f.arguments,
        "labels": sorted(f.labels), "touched": sorted(f.touched),
        "findings": [{"category": x.category, "rule": x.rule, "severity": str(x.severity)} for x in f.findings],
    }


class Cedar:
    """Cedar as an extra decision point: principal ``User::subject``, action ``Action::method``,
    resource ``Tool::name`` (or ``Method::name``), context with upstream, roles, labels and the
    scalar arguments."""

    def __init__(self, settings: CedarSettings, base_dir: Path | None = None) -> None:
        try:
            import cedarpy
        except ImportError:
            raise ConfigError("policy.cedar needs the cedarpy package: pip install 'mcpwall[cedar]'") from None
        self._cedarpy = cedarpy
        self.methods = frozenset(settings.methods)
        text = settings.policies
        files: list[Path] = []
        if settings.policy_file is not None:
            path = settings.policy_file.expanduser()
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            files.append(path)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as e:
                raise ConfigError(f"cannot read Cedar policy file {path}: {e.strerror or e}") from None
        self.entities: Any = []
        if settings.entities_file is not None:
            path = settings.entities_file.expanduser()
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            files.append(path)
            try:
                self.entities = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise ConfigError(f"cannot read Cedar entities file {path}: {e}") from None
        self.files = files
        assert text is not None
        self.text = text
        try:
            self.policies: Any = cedarpy.PolicySet.from_str(text) if hasattr(cedarpy, "PolicySet") else text
        except Exception as e:
            raise ConfigError(f"Cedar policies do not parse: {e}") from None
        # A probe evaluation surfaces policy errors at load time rather than on traffic.
        probe = self.decide(Facts(method="tools/call", tool="probe"))
        if probe[1].startswith("cedar error"):
            raise ConfigError(f"Cedar policies cannot be evaluated: {probe[1]}")

    def decide(self, f: Facts) -> tuple[bool, str]:
        resource_type = "Tool" if f.tool else "Method"
        context: dict[str, Any] = {
            "upstream": f.upstream, "roles": list(f.roles), "labels": sorted(f.labels),
            "touched": sorted(f.touched), "direction": f.direction,
        }
        if isinstance(f.arguments, dict):
            context["arguments"] = {k: v for k, v in f.arguments.items()
                                    if isinstance(v, (str, bool)) or (isinstance(v, int) and abs(v) < 2**63)}
        request = {
            "principal": {"type": "User", "id": _cedar_id(f.subject)},
            "action": {"type": "Action", "id": _cedar_id(f.method or "")},
            "resource": {"type": resource_type, "id": _cedar_id(f.tool or f.method or "")},
            "context": context,
        }
        try:
            result = self._cedarpy.is_authorized(request, self.policies, self.entities)
        except Exception as e:  # fail closed
            return False, f"cedar error: {e}"
        allowed = bool(getattr(result, "allowed", False))
        diag = getattr(result, "diagnostics", None)
        errors = list(getattr(diag, "errors", []) or []) if diag is not None else []
        if errors:
            return False, f"cedar error: {errors[0]}"
        if allowed:
            return True, "cedar allows"
        reasons = list(getattr(diag, "reasons", []) or []) if diag is not None else []
        return False, "cedar denies" + (f" (policy {', '.join(map(str, reasons))})" if reasons else " (no permit)")


class Opa:
    """An OPA decision over HTTP: POST ``{"input": ...}``; the answer must be ``true`` or
    ``{"allow": true}`` — anything else, or no answer in time, denies."""

    def __init__(self, settings: OpaSettings) -> None:
        self.settings = settings
        self.methods = frozenset(settings.methods)
        self._session: Any = None

    async def decide(self, f: Facts) -> tuple[bool, str]:
        import aiohttp

        s = self.settings
        try:
            if self._session is None or self._session.closed:
                self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=s.timeout_ms / 1000))
            async with self._session.post(s.url, json={"input": facts_input(f)}, headers=s.headers) as resp:
                if resp.status != 200:
                    return False, f"opa error: HTTP {resp.status}"
                body = await resp.json(content_type=None)
        except TimeoutError:
            return False, f"opa error: no answer within {s.timeout_ms} ms"
        except Exception as e:  # unreachable, bad JSON ...: fail closed
            return False, f"opa error: {type(e).__name__}: {e}"
        result = body.get("result") if isinstance(body, dict) else None
        if result is True:
            return True, "opa allows"
        if isinstance(result, dict):
            reason = result.get("reason")
            if result.get("allow") is True:
                return True, "opa allows"
            return False, "opa denies" + (f": {reason}" if isinstance(reason, str) else "")
        if result is None:
            return False, "opa error: the decision is undefined"
        return False, "opa denies"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
