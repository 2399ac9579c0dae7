"""Insights tests run at the metrics tests' fixed time, with COACHLOOP_HOME in the test's folder."""

from __future__ import annotations

from coachloop.metrics.tests.conftest import home, pinned_time

__all__ = ["home", "pinned_time"]
