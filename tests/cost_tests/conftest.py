"""Shared fixtures of the cost-model tests: the zoo, built once, and its real int8 conversions."""

from __future__ import annotations

import pytest

from tfnas.testing.cost_zoo import convert_int8
from tfnas.testing.cost_zoo import cost_zoo


@pytest.fixture(scope="session")
def zoo() -> dict:
    """Every zoo model, built once per test session (tests must not change them)."""
    return cost_zoo()


@pytest.fixture(scope="session")
def converted(zoo: dict) -> dict[str, bytes]:
    """Real full-int8 `.tflite` bytes of every zoo model (about a second each)."""
    return {name: convert_int8(model) for name, model in zoo.items()}
