"""The inspection pipeline: ordered inspectors, routed by method, direction and kind.

Each inspector looks at one concern and returns one verdict. The pipeline runs the
inspectors that match a frame, in order; the first ``Block`` or ``Respond`` ends the chain;
a ``Modify`` hands the changed message to the next inspector. An inspector that raises is a
``Block`` in enforce mode (fail-closed) and a logged finding in monitor mode.

The pipeline decides; it does not act. The relay applies the decision according to the
mode, and the audit tap records it whatever happens.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .errors import INTERNAL_ERROR
from .frame import Direction, Frame, Kind
from .session import Session
from .verdict import Block, Finding, Modify, Pass, Respond, Severity, Verdict

log = logging.getLogger(__name__)

BOTH = frozenset({Direction.C2S, Direction.S2C})
ALL_KINDS = frozenset(Kind)


class Inspector:
    """One concern. Subclasses set the routing attributes and implement ``inspect``.

    ``methods``: the methods the inspector wants (for responses, the method of the
    request answered); ``None`` means every method, including unknown ones.
    ``directions`` and ``kinds`` narrow it further. ``name`` is the config key and the
    name in the audit log.
    """

    name: ClassVar[str] = "inspector"
    methods: frozenset[str] | None = None
    directions: frozenset[Direction] = BOTH
    kinds: frozenset[Kind] = ALL_KINDS

    def wants(self, frame: Frame) -> bool:
        if frame.direction not in self.directions or frame.kind not in self.kinds:
            return False
        return self.methods is None or frame.method in self.methods

    async def inspect(self, frame: Frame, session: Session) -> Verdict:
        raise NotImplementedError

    async def review(self, frame: Frame, session: Session, findings: Sequence[Finding]) -> Verdict:
        """What the pipeline calls: ``inspect``, for inspectors that decide on their own.

        Inspectors that decide on what others found (policy) override this: ``findings``
        holds the findings of the inspectors that ran before on the same frame.
        """
        return await self.inspect(frame, session)

    async def close(self) -> None:
        """Release resources (files, connections). Called once when mcpwall stops."""


@dataclass(slots=True)
class Decision:
    """What the pipeline decided for one frame.

    ``verdict`` is the final verdict; ``frame`` is the frame to forward when the final
    verdict is Pass or Modify (a new frame when modified). ``trail`` lists every verdict
    that was returned, in order, so the audit log can say which inspector did what.
    """

    verdict: Verdict
    frame: Frame
    trail: list[Verdict] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        out: list[Finding] = []
        for v in self.trail:
            out.extend(v.findings)
        return out

    @property
    def modified(self) -> bool:
        return any(isinstance(v, Modify) for v in self.trail)

    @property
    def action(self) -> str:
        if isinstance(self.verdict, (Block, Respond)):
            return self.verdict.action
        return "modify" if self.modified else "pass"

    @property
    def deciding(self) -> Verdict | None:
        """The verdict that decided: the stopping one, or the last Modify."""
        if isinstance(self.verdict, (Block, Respond)):
            return self.verdict
        for v in reversed(self.trail):
            if isinstance(v, Modify):
                return v
        return None


class Pipeline:
    """Ordered inspectors with routing. ``enforce`` selects the fail-closed behaviour."""

    def __init__(self, inspectors: Iterable[Inspector] = (), *, enforce: bool = False) -> None:
        self.inspectors: list[Inspector] = list(inspectors)
        self.enforce = enforce

    def add(self, inspector: Inspector) -> None:
        self.inspectors.append(inspector)

    def get(self, name: str) -> Inspector | None:
        return next((i for i in self.inspectors if i.name == name), None)

    async def run(self, frame: Frame, session: Session) -> Decision:
        trail: list[Verdict] = []
        seen: list[Finding] = []
        current = frame
        for inspector in self.inspectors:
            if not inspector.wants(current):
                continue
            try:
                verdict = await inspector.review(current, session, seen)
            except Exception as exc:  # an inspector bug must never crash the proxy
                log.exception("inspector %s failed on %s", inspector.name, current.method)
                finding = Finding(
                    category="internal",
                    rule=f"{inspector.name}.error",
                    severity=Severity.HIGH,
                    message=f"inspector {inspector.name} raised {type(exc).__name__}: {exc}",
                    detector=inspector.name,
                )
                if self.enforce:
                    verdict = Block(
                        [finding],
                        reason=f"mcpwall could not inspect this message ({inspector.name} failed); "
                        "blocked because mcpwall runs in enforce mode",
                        code=INTERNAL_ERROR,
                    )
                else:
                    verdict = Pass([finding])
            verdict.inspector = inspector.name
            trail.append(verdict)
            if verdict.findings:
                seen.extend(verdict.findings)
            if isinstance(verdict, (Block, Respond)):
                return Decision(verdict, current, trail)
            if isinstance(verdict, Modify):
                obj: Any = verdict.obj
                current = current.with_obj(obj)
        final: Verdict = trail[-1] if trail and isinstance(trail[-1], Modify) else Pass()
        return Decision(final, current, trail)

    async def close(self) -> None:
        for inspector in self.inspectors:
            try:
                await inspector.close()
            except Exception:
                log.exception("closing inspector %s failed", inspector.name)
