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
from typing import Any, ClassVar

from .errors import INTERNAL_ERROR
from .frame import Direction, Frame, Kind
from .session import Session
from .verdict import Block, Finding, Modify, Pass, Respond, Severity, Verdict

log = logging.getLogger(__name__)

BOTH = frozenset({Direction.C2S, Direction.S2C})
ALL_KINDS = frozenset(Kind)
# The verdict of a frame no inspector had anything to say about. Shared: never mutate it.
PASS = Pass()


class Inspector:
    """One concern. Subclasses set the routing attributes and implement ``inspect``.

    ``methods``: the methods the inspector wants (for responses, the method of the
    request answered); ``None`` means every method, including unknown ones.
    ``directions`` and ``kinds`` narrow it further. ``name`` is the config key and the
    name in the audit log.
    """

    name: ClassVar[str] = "inspector"
    # True when ``wants`` depends only on the frame's method, direction and kind (and on
    # the inspector's own settings, which do not change while it runs): the pipeline
    # then asks once per combination instead of once per frame.
    static_routing: ClassVar[bool] = False
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


class Decision:
    """What the pipeline decided for one frame.

    ``verdict`` is the final verdict; ``frame`` is the frame to forward when the final
    verdict is Pass or Modify (a new frame when modified). ``trail`` lists every verdict
    that says something (a Modify, Block or Respond, or any verdict with findings), in
    order, so the audit log can say which inspector did what; a bare Pass adds nothing to
    the record and is left out. ``action`` is worked out once, here.
    """

    __slots__ = ("action", "frame", "modified", "trail", "verdict")

    def __init__(self, verdict: Verdict, frame: Frame, trail: list[Verdict] | None = None) -> None:
        self.verdict = verdict
        self.frame = frame
        self.trail: list[Verdict] = trail if trail is not None else []
        self.modified = any(type(v) is Modify for v in self.trail) if self.trail else False
        self.action: str = (verdict.action if isinstance(verdict, (Block, Respond))
                            else "modify" if self.modified else "pass")

    @property
    def findings(self) -> list[Finding]:
        out: list[Finding] = []
        for v in self.trail:
            out.extend(v.findings)
        return out

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
        # (method, direction, kind) -> the inspectors that may want such a frame, in order.
        self._routes: dict[tuple[str | None, Direction, Kind], tuple[tuple[Inspector, bool], ...]] = {}
        self._routed: list[Inspector] = []

    def add(self, inspector: Inspector) -> None:
        self.inspectors.append(inspector)
        self._routes.clear()

    def get(self, name: str) -> Inspector | None:
        return next((i for i in self.inspectors if i.name == name), None)

    def route(self, frame: Frame) -> tuple[tuple[Inspector, bool], ...]:
        """The inspectors to offer ``frame`` to, each with whether to ask its ``wants`` for
        every frame. Inspectors with static routing (``static_routing``, or the base
        class's attribute-based ``wants``) are asked once per (method, direction, kind)."""
        if self._routed != self.inspectors:  # the list was changed in place
            self._routes.clear()
            self._routed = list(self.inspectors)
        key = (frame.method, frame.direction, frame.kind)
        hit = self._routes.get(key)
        if hit is None:
            hit = tuple((i, not static) for i in self.inspectors
                        for static in (_static(i),) if not static or i.wants(frame))
            if len(self._routes) >= 4096:  # a peer inventing methods must not grow it forever
                self._routes.clear()
            self._routes[key] = hit
        return hit

    async def run(self, frame: Frame, session: Session) -> Decision:
        trail: list[Verdict] = []
        seen: list[Finding] = []
        current = frame
        last_modify = False
        for inspector, ask in self.route(frame):
            if ask and not inspector.wants(current):
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
            if type(verdict) is Pass and not verdict.findings:
                last_modify = False
                continue  # says nothing: may be a shared instance, so it is not touched
            verdict.inspector = inspector.name
            trail.append(verdict)
            if verdict.findings:
                seen.extend(verdict.findings)
            if isinstance(verdict, (Block, Respond)):
                return Decision(verdict, current, trail)
            last_modify = isinstance(verdict, Modify)
            if last_modify:
                obj: Any = verdict.obj  # type: ignore[attr-defined]
                current = current.with_obj(obj)
        final: Verdict = trail[-1] if last_modify else PASS
        return Decision(final, current, trail)

    async def close(self) -> None:
        for inspector in self.inspectors:
            try:
                await inspector.close()
            except Exception:
                log.exception("closing inspector %s failed", inspector.name)


def _static(inspector: Inspector) -> bool:
    return inspector.static_routing or type(inspector).wants is Inspector.wants
