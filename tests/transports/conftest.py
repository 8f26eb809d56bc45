"""Markers of the transport tests."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "http_settings(overrides): settings for the in-process HTTP gateway")
