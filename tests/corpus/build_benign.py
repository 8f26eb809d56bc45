"""Build the benign corpus under tests/corpus/benign/ (JSONL, same fields as dev.jsonl).

Sources, all redistributable:

- ``sitepackages.jsonl``: chunks of source files, READMEs and docs of permissively
  licensed Python packages installed on the build machine (provenance
  ``pypi:<name>==<version>:<path>``), as tool results (``response``) and, for short chunks,
  as tool-call arguments (``request``);
- ``mcp_servers.jsonl``: the tools, prompts, resources and instructions that the npm
  packages ``@modelcontextprotocol/server-*`` (MIT) return over stdio, as
  ``tool_description`` rows carrying the whole tool object in ``meta.tool``; read from a
  JSON dump made by running them (``--mcp-dump``);
- ``written.jsonl``: text written for this project: documentation about prompt injection,
  shell tutorials, emails, log lines, API JSON, everyday requests in several languages,
  and realistic tool descriptions (see ``written.py``).

    python tests/corpus/build_benign.py [--mcp-dump /tmp/mcp_lists.json]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "benign"
sys.path.insert(0, str(HERE))

# Packages whose licence allows redistribution of excerpts (checked from metadata below).
PACKAGES = [
    "requests", "urllib3", "Flask", "Jinja2", "click", "starlette", "httpx", "pydantic", "anyio",
    "aiohttp", "attrs", "packaging", "PyYAML", "jsonschema", "pytest", "mcp", "docutils", "Pygments",
    "Werkzeug", "itsdangerous", "python-dotenv", "python-dateutil", "networkx", "boto3", "awscli",
    "docker", "pexpect", "uvicorn", "websockets", "msgspec", "PyJWT", "cryptography", "pip",
    "setuptools", "sympy", "prompt_toolkit", "traitlets", "jmespath", "graphql-core", "libcst",
]  # fmt: skip
PERMISSIVE = re.compile(r"\b(mit|bsd|apache|psf|python software|isc)\b", re.I)
SUFFIXES = {".py", ".rst", ".md", ".txt"}
PER_PACKAGE = 26


def licence(dist: md.Distribution) -> str:
    meta = dist.metadata
    text = " ".join(
        [
            meta.get("License-Expression") or "",
            (meta.get("License") or "")[:200],
            *[c for c in (meta.get_all("Classifier") or []) if c.startswith("License")],
        ]
    )
    m = PERMISSIVE.search(text)
    return m.group(1).upper() if m else ""


def chunks(text: str, lo: int = 120, hi: int = 1400) -> list[str]:
    """Paragraph-aligned chunks between ``lo`` and ``hi`` characters."""
    paras = re.split(r"\n\s*\n", text)
    out: list[str] = []
    cur = ""
    for p in paras:
        if len(cur) + len(p) + 2 > hi and len(cur) >= lo:
            out.append(cur)
            cur = ""
        cur = f"{cur}\n\n{p}" if cur else p
        if len(cur) > hi:
            out.append(cur[:hi])
            cur = ""
    if len(cur) >= lo:
        out.append(cur)
    return out


def row(rid: str, source: str, direction: str, text: str, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": rid,
        "source": source,
        "category": "benign_text",
        "direction": direction,
        "text": text,
        "label": "benign",
        "meta": meta,
    }


def site_packages(rng: random.Random) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in PACKAGES:
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        lic = licence(dist)
        if not lic:
            continue
        files = sorted(
            (
                f
                for f in (dist.files or [])
                if Path(str(f)).suffix in SUFFIXES and "test" not in str(f).lower()
            ),
            key=str,
        )
        rng.shuffle(files)
        picked = 0
        for f in files:
            if picked >= PER_PACKAGE:
                break
            path = Path(str(dist.locate_file(f)))
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            cs = chunks(text)
            if not cs:
                continue
            for c in rng.sample(cs, min(2, len(cs))):
                direction = "request" if len(c) < 500 and rng.random() < 0.3 else "response"
                h = hashlib.sha1(c.encode()).hexdigest()[:8]
                rows.append(
                    row(
                        f"sitepackages:{dist.metadata['Name']}:{h}",
                        "sitepackages",
                        direction,
                        c,
                        {
                            "origin": f"pypi:{dist.metadata['Name']}=={dist.version}:{f}",
                            "licence": lic,
                            "kind": path.suffix.lstrip("."),
                        },
                    )
                )
                picked += 1
    return rows


def mcp_servers(dump: Path) -> list[dict[str, Any]]:
    data = json.loads(dump.read_text())
    rows: list[dict[str, Any]] = []
    for server, info in sorted(data.items()):
        origin = f"npm:@modelcontextprotocol/{server}@{info['version']}"
        res = info["data"]
        init = (res.get("initialize") or {}).get("result") or {}
        if init.get("instructions"):
            rows.append(
                row(
                    f"mcp:{server}:instructions",
                    "mcp_servers",
                    "tool_description",
                    init["instructions"],
                    {"origin": origin + " initialize.result.instructions", "licence": "MIT"},
                )
            )
        for tool in ((res.get("tools/list") or {}).get("result") or {}).get("tools", []):
            text = tool.get("description", "")
            props = (tool.get("inputSchema") or {}).get("properties") or {}
            for pname, p in props.items():
                if isinstance(p, dict) and p.get("description"):
                    text += f"\n{pname}: {p['description']}"
            rows.append(
                row(
                    f"mcp:{server}:tool:{tool['name']}",
                    "mcp_servers",
                    "tool_description",
                    text,
                    {"origin": origin + " tools/list", "licence": "MIT", "tool": tool},
                )
            )
        for prompt in ((res.get("prompts/list") or {}).get("result") or {}).get("prompts", []):
            if prompt.get("description"):
                rows.append(
                    row(
                        f"mcp:{server}:prompt:{prompt['name']}",
                        "mcp_servers",
                        "tool_description",
                        prompt["description"],
                        {"origin": origin + " prompts/list", "licence": "MIT"},
                    )
                )
        for res_ in ((res.get("resources/list") or {}).get("result") or {}).get("resources", [])[:10]:
            if res_.get("description"):
                rows.append(
                    row(
                        f"mcp:{server}:resource:{res_['uri']}",
                        "mcp_servers",
                        "tool_description",
                        res_["description"],
                        {"origin": origin + " resources/list", "licence": "MIT"},
                    )
                )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mcp-dump", type=Path, default=Path("/tmp/mcp_lists.json"))
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20260731)
    import written

    sets = {"sitepackages.jsonl": site_packages(rng), "written.jsonl": written.rows()}
    if args.mcp_dump.exists():
        sets["mcp_servers.jsonl"] = mcp_servers(args.mcp_dump)
    for name, rows in sets.items():
        seen: set[str] = set()
        with open(OUT / name, "w", encoding="utf-8") as fh:
            for r in rows:
                if r["id"] in seen:
                    continue
                seen.add(r["id"])
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{name}: {len(seen)} rows")


if __name__ == "__main__":
    main()
