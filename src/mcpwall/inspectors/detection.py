"""The detection inspector: runs the detectors over every frame, in both directions.

It only reports. Every model-visible string of a frame goes through the
:class:`~mcpwall.detect.scanner.Scanner`; its findings, and one ``uninspected`` finding per
field that could not be inspected (binary data, over the size limit), are attached to the
frame with a ``Pass``. The policy inspector, later in the pipeline, decides what they mean
(:mod:`mcpwall.policy.findings`).

Findings inside a catalogue listing also name the item they are in (``extra["item"]``), so
that the policy can find the item again after an earlier inspector changed the list.
Messages of ``offload_bytes`` or more are scanned on a worker thread: Hyperscan and RE2
release the GIL, so the event loop keeps relaying other frames meanwhile. Most frames never
get that far: the scanner's frame prefilter proves them clean from their wire bytes in one
Hyperscan pass, without extracting a field (:mod:`mcpwall.detect.prefilter`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..detect.scanner import Scanner
from ..frame import Frame, Kind
from ..pipeline import PASS, Inspector
from ..policy.findings import LISTINGS
from ..session import Session
from ..verdict import Finding, Pass, Severity, Verdict

if TYPE_CHECKING:
    from ..config import DetectionSettings

_ITEM = re.compile(r"^\$\.result\.([A-Za-z]+)\[(\d+)\]")
# Members of a message that hold nothing a model reads.
_ENVELOPE = frozenset({"jsonrpc", "id", "method"})


class DetectionInspector(Inspector):
    name = "detection"

    def __init__(self, scanner: Scanner, *, offload_bytes: int = 0) -> None:
        self.scanner = scanner
        self.offload_bytes = offload_bytes

    @classmethod
    def from_settings(cls, settings: DetectionSettings) -> DetectionInspector:
        return cls(Scanner.from_settings(settings.scanner_options()), offload_bytes=settings.offload_bytes)

    def wants(self, frame: Frame) -> bool:
        # ping, notifications/initialized and empty results carry no text: skip the scan.
        return any(k not in _ENVELOPE for k in frame.obj)

    async def inspect(self, frame: Frame, session: Session) -> Verdict:
        server = session.upstream or None
        if self.offload_bytes and len(frame.raw) >= self.offload_bytes:
            result = await asyncio.to_thread(self.scanner.scan_frame, frame.raw, frame.obj, frame.direction,
                                             frame.method, server=server, tool=frame.tool)
        else:
            result = self.scanner.scan_frame(frame.raw, frame.obj, frame.direction, frame.method, server=server,
                                             tool=frame.tool)
        if result.prefiltered:
            return PASS
        findings = result.findings
        if result.uninspected:
            findings = [*findings, *(
                Finding("uninspected", "detection.uninspected", Severity.INFO,
                        f"not inspected: {result.reasons.get(path, 'unknown reason')}", path=path,
                        detector=self.name)
                for path in result.uninspected)]
        if not findings:
            return Pass()
        if frame.kind is Kind.RESPONSE and frame.method in LISTINGS:
            findings = _name_items(findings, frame.obj, LISTINGS[frame.method])
        return Pass(findings)


def _name_items(findings: Sequence[Finding], obj: Any, listing: tuple[str, str, str]) -> list[Finding]:
    _, field_name, key = listing
    result = obj.get("result")
    items = result.get(field_name) if isinstance(result, dict) else None
    if not isinstance(items, list):
        return list(findings)
    out = []
    for f in findings:
        m = _ITEM.match(f.path)
        if m is not None and m.group(1) == field_name and int(m.group(2)) < len(items):
            item = items[int(m.group(2))]
            name = item.get(key) if isinstance(item, dict) else None
            if isinstance(name, str):
                f = Finding(f.category, f.rule, f.severity, f.message, f.path, f.span, f.detector,
                            f.remediation, {**f.extra, "item": name})
        out.append(f)
    return out
