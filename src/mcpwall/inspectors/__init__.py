"""Inspectors: one concern each, registered into the pipeline from a default list.

Order matters: inspectors that find things (detection, pinning) run before the ones that
decide on what was found (policy), so the policy sees every finding.
"""

from __future__ import annotations

from collections.abc import Callable

from ..config import Settings
from ..pipeline import Inspector, Pipeline

Factory = Callable[[Settings], Inspector | None]


def _detection(settings: Settings) -> Inspector | None:
    from .detection import DetectionInspector

    if not settings.detection.enabled:
        return None
    return DetectionInspector.from_settings(settings.detection)


def _pinning(settings: Settings) -> Inspector | None:
    from ..config import state_db_path
    from .pinning import PinningInspector

    if not settings.pins.enabled:
        return None
    return PinningInspector(state_db_path(settings), enforce=settings.enforce and settings.pins.mode != "monitor")


def _policy(settings: Settings) -> Inspector | None:
    from .policy import PolicyInspector

    return PolicyInspector.from_settings(settings)


# The default list; a factory returns None when its inspector is switched off.
DEFAULT: list[Factory] = [_detection, _pinning, _policy]


def build(settings: Settings, factories: list[Factory] | None = None) -> Pipeline:
    pipeline = Pipeline(enforce=settings.enforce)
    for factory in factories if factories is not None else DEFAULT:
        inspector = factory(settings)
        if inspector is not None:
            pipeline.add(inspector)
    return pipeline
