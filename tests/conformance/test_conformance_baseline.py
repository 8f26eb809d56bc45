"""The conformance test server passes every server scenario of the official suite directly.

This guards the recorded baseline (tests/conformance/baseline.json) that mcpwall is
later held to: if the upstream itself regressed, a failure through mcpwall would
say nothing about mcpwall.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import peers

RUNNER = Path(__file__).with_name("run.py")
BASELINE = Path(__file__).with_name("baseline.json")


@pytest.mark.integration
def test_every_baseline_scenario_passes_directly_over_http() -> None:
    peers.node22()
    peers.conformance_entry()
    done = subprocess.run(
        [sys.executable, str(RUNNER), "--baseline", str(BASELINE)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(done.stdout)
    assert report["summary"]["regressions"] == [], done.stderr
    assert done.returncode == 0, done.stderr
    recorded = json.loads(BASELINE.read_text(encoding="utf-8"))["scenarios"]
    assert set(report["scenarios"]) == set(recorded)
