"""One typed settings object, merged from defaults < YAML file < ``MCPWALL_*`` env < flags.

The file is found from ``--config PATH`` or ``MCPWALL_CONFIG``. Environment variables map
onto keys with ``__`` between levels: ``MCPWALL_MODE=enforce``,
``MCPWALL_AUDIT__PATH=/var/log/mcpwall.db``. Every problem is reported with its key path
and reason, never as a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, field_validator

from .errors import ConfigError
from .policy.findings import FindingAction, default_actions
from .policy.rules import PolicySettings
from .transports.settings import HttpSettings, UpstreamSettings

ENV_PREFIX = "MCPWALL_"
# Variables with this prefix that are not settings keys.
_ENV_NOT_SETTINGS = frozenset({"MCPWALL_CONFIG", "MCPWALL_STATE_DIR"})


class Mode(StrEnum):
    MONITOR = "monitor"
    ENFORCE = "enforce"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, validate_default=True)


class LimitsSettings(Model):
    max_message_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="largest message accepted")
    max_depth: int = Field(64, ge=4, le=512, description="deepest JSON nesting accepted")


class AuditSettings(Model):
    enabled: bool = True
    path: Path | None = Field(None, description="SQLite file; default: <state dir>/audit.db")
    key: SecretStr | None = Field(None, description="HMAC key for the chain (hex or text)")
    key_file: Path | None = Field(None, description="file holding the key; default: <state dir>/audit.key")
    flush_interval_ms: int = Field(50, ge=1, le=60_000)
    flush_rows: int = Field(1024, ge=1, le=100_000)
    max_frame_bytes: int = Field(1024 * 1024, ge=0, description="frames stored up to this size")


class ChildSettings(Model):
    stdin_close_grace: float = Field(2.0, ge=0, description="seconds to wait after closing stdin")
    term_grace: float = Field(3.0, ge=0, description="seconds to wait after SIGTERM before SIGKILL")


class LogSettings(Model):
    level: str = "info"
    file: Path | None = None

    @field_validator("level")
    @classmethod
    def _level(cls, v: str) -> str:
        v = v.lower()
        if v not in {"debug", "info", "warning", "error", "critical"}:
            raise ValueError("must be one of debug, info, warning, error, critical")
        return v


class PinsSettings(Model):
    """Trust on first use of each upstream's tools, prompts, templates and instructions."""

    enabled: bool = True
    mode: str = Field("inherit", pattern="^(inherit|monitor|enforce)$",
                      description="inherit the global mode, or monitor/enforce drift on its own")
    db: Path | None = Field(None, description="state database (pins, approvals); default: <state dir>/state.db")


class SuppressionSettings(Model):
    """Silence detection rules (glob on the rule id) for a server, a tool and/or a JSON path."""

    rule: str = "*"
    server: str = Field("*", description="glob on the upstream (command line, URL or name)")
    tool: str = "*"
    path: str = Field("*", description="JSON path glob, e.g. $.result.content[*].text")


class DetectionSettings(Model):
    """The detectors in the live pipeline, and the built-in actions on what they find."""

    enabled: bool = True
    builtin_packs: bool = True
    packs: list[Path] = Field(default_factory=list, description="extra rule pack files or directories (YAML)")
    disabled: list[str] = Field(default_factory=list, description="rule ids (globs) switched off")
    suppress: list[SuppressionSettings] = Field(default_factory=list)
    max_field_chars: int = Field(8 * 1024 * 1024, ge=1024, description="longer fields are reported uninspected")
    max_findings_per_rule: int = Field(32, ge=1)
    offload_bytes: int = Field(262144, ge=0, description="scan messages this big on a worker thread (0: never)")
    actions: list[FindingAction] = Field(default_factory=default_actions)

    def scanner_options(self) -> dict[str, Any]:
        """The keys :meth:`mcpwall.detect.scanner.Scanner.from_settings` understands."""
        return {
            "builtin_packs": self.builtin_packs, "packs": [str(p.expanduser()) for p in self.packs],
            "disabled": list(self.disabled), "suppress": [s.model_dump() for s in self.suppress],
            "max_field_chars": self.max_field_chars, "max_findings_per_rule": self.max_findings_per_rule,
        }


class Settings(Model):
    mode: Mode = Mode.MONITOR
    limits: LimitsSettings = Field(default_factory=lambda: LimitsSettings())
    audit: AuditSettings = Field(default_factory=lambda: AuditSettings())
    child: ChildSettings = Field(default_factory=lambda: ChildSettings())
    log: LogSettings = Field(default_factory=lambda: LogSettings())
    policy: PolicySettings = Field(default_factory=lambda: PolicySettings())
    pins: PinsSettings = Field(default_factory=lambda: PinsSettings())
    http: HttpSettings = Field(default_factory=lambda: HttpSettings())
    upstreams: dict[str, UpstreamSettings] = Field(default_factory=dict)
    detection: DetectionSettings = Field(default_factory=lambda: DetectionSettings())

    # The file the settings came from: policy `extends` paths are relative to it, and a
    # reload (SIGHUP, file change) reads it again.
    _source: Path | None = PrivateAttr(None)

    @property
    def enforce(self) -> bool:
        return self.mode is Mode.ENFORCE

    @property
    def source(self) -> Path | None:
        return self._source


# --- locations -------------------------------------------------------------------------


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where mcpwall keeps its state (audit log, keys, pins) for this user."""
    env = os.environ if env is None else env
    if env.get("MCPWALL_STATE_DIR"):
        return Path(env["MCPWALL_STATE_DIR"]).expanduser()
    home = Path(env.get("HOME") or Path.home())
    if sys.platform == "win32":
        base = env.get("LOCALAPPDATA")
        return Path(base) / "mcpwall" if base else home / "AppData" / "Local" / "mcpwall"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "mcpwall"
    xdg = env.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else home / ".local" / "state") / "mcpwall"


def audit_path(settings: Settings, env: Mapping[str, str] | None = None) -> Path:
    return settings.audit.path or state_dir(env) / "audit.db"


def state_db_path(settings: Settings, env: Mapping[str, str] | None = None) -> Path:
    return (settings.pins.db or state_dir(env) / "state.db").expanduser()


# --- loading ---------------------------------------------------------------------------


def _set_path(target: dict[str, Any], keys: list[str], value: Any) -> None:
    for k in keys[:-1]:
        nxt = target.get(k)
        if not isinstance(nxt, dict):
            nxt = {}
            target[k] = nxt
        target = nxt
    target[keys[-1]] = value


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def env_layer(env: Mapping[str, str]) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name in _ENV_NOT_SETTINGS:
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX):].split("__") if k]
        if keys:
            _set_path(layer, keys, value)
    return layer


def read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"config file {path} is not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings, not {type(data).__name__}")
    return data


def validate(data: Mapping[str, Any], source: str = "settings") -> Settings:
    try:
        return Settings.model_validate(dict(data))
    except ValidationError as e:
        problems = []
        for err in e.errors():
            path = ".".join(str(p) for p in err["loc"])
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            problems.append((path, msg))
        raise ConfigError(f"invalid configuration in {source}:", problems) from None


def load(
    config_path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the settings: defaults < file < environment < flags (``overrides``, dotted keys)."""
    env = os.environ if env is None else env
    path = config_path or env.get("MCPWALL_CONFIG") or None
    data: dict[str, Any] = {}
    sources = []
    if path:
        data = read_file(Path(path).expanduser())
        sources.append(str(path))
    env_data = env_layer(env)
    if env_data:
        data = _merge(data, env_data)
        sources.append("environment")
    if overrides:
        flags: dict[str, Any] = {}
        for dotted, value in overrides.items():
            if value is not None:
                _set_path(flags, dotted.split("."), value)
        data = _merge(data, flags)
        sources.append("flags")
    settings = validate(data, " + ".join(sources) or "defaults")
    if path:
        settings._source = Path(path).expanduser().resolve()
    return settings


DEFAULT_CONFIG = """\
# mcpwall configuration. Precedence: command-line flags > MCPWALL_* environment > this file.
# Environment names use __ between levels, e.g. MCPWALL_AUDIT__PATH=/tmp/audit.db.

# monitor: record every verdict, forward everything (never breaks a working setup).
# enforce: apply verdicts: block, redact, require approval.
mode: monitor

limits:
  max_message_bytes: 67108864   # 64 MiB; larger messages are refused with a JSON-RPC error
  max_depth: 64                 # deepest JSON nesting accepted

audit:
  enabled: true
  # path: ~/.local/state/mcpwall/audit.db   # default: the user's state directory
  # key: ...                                # HMAC key for the tamper-evident chain;
  # key_file: ~/.local/state/mcpwall/audit.key   # default: generated on first run, mode 0600
  flush_interval_ms: 50         # passes are committed in groups; blocks are committed at once
  max_frame_bytes: 1048576      # frames are stored (secrets masked) up to this size

child:                          # the server that `mcpwall wrap` starts
  stdin_close_grace: 2.0        # seconds to wait after closing its stdin
  term_grace: 3.0               # seconds to wait after SIGTERM before SIGKILL

log:
  level: info                   # logs go to stderr (stdout carries MCP frames only)
  # file: /tmp/mcpwall.log

policy:
  default: allow                # what happens when no rule matches: allow or deny
  rules: []
  # Rules are matched first to last; the first match wins. Patterns are globs.
  # Actions: allow | deny | warn (pass, with a finding) | redact (the matched argument or
  # finding paths) | require_approval (asks through MCP elicitation, or names
  # `mcpwall approvals grant ID`). A rule can also match findings of detection.
  # rules:
  #   - name: no-shell
  #     match: {method: "tools/call", tool: "run_*"}
  #     action: deny
  #     reason: shell tools are not allowed here
  #   - name: trust-internal-emails   # a rule about findings overrides detection.actions
  #     match: {tool: "crm_*", findings: {category: pii, kind: "pii.email"}}
  #     action: allow
  #   - name: confirm-sends
  #     match: {method: "tools/call", tool: "send_*"}
  #     action: require_approval
  # approvals: {ttl_seconds: 600, elicitation: true, timeout_seconds: 120}

pins:                           # trust on first use of each server's tools, prompts, instructions
  enabled: true                 # a changed or new tool is hidden and its calls blocked until
  mode: inherit                 # `mcpwall pins approve`; inherit | monitor | enforce

detection:
  enabled: true                 # scan every model-visible field, both directions
  builtin_packs: true
  packs: []                     # extra rule pack files or directories (YAML)
  disabled: []                  # rule ids (globs) to switch off, e.g. "pii.ipv4_public"
  suppress: []                  # - {rule: "pii.email", server: "*", tool: "crm_*", path: "*"}
  max_field_chars: 8388608      # longer fields are recorded as uninspected, never as clean
  max_findings_per_rule: 32
  offload_bytes: 262144         # messages this big are scanned on a worker thread
  # What enforce mode does with a finding, after the policy rules (a policy rule that matches
  # findings decides instead). First matching entry wins; no match: record. Monitor mode
  # only records. Actions: record | redact (in place: [REDACTED:<rule>]) | block (a request is
  # refused, a response replaced by an error; in a tools/prompts/resources listing only
  # the item is removed and later calls to it are blocked). where: request | response |
  # catalogue (listings and initialize). severity: at least this (info..critical).
  # Emails, phones and IP addresses (pii, low) and secrets a client sends are recorded only.
  actions:
    - {category: secrets, where: [response, catalogue], severity: medium, action: redact}
    - {category: pii, where: [response, catalogue], severity: high, action: redact}  # cards, SSNs, IBANs, national ids
    - {category: [tool_poisoning, prompt_injection], where: catalogue, severity: medium, action: block}
    - {category: hidden_unicode, where: catalogue, severity: high, action: block}
    - {category: [prompt_injection, tool_poisoning], where: response, severity: high, action: block}
    - {category: [prompt_injection, command_injection, path_traversal], where: request, severity: medium, action: block}
    - {category: exfiltration, where: [request, response], severity: high, action: block}
"""
