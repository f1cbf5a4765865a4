"""Small helpers for writing the same SQL on PostgreSQL and SQLite."""

from collections.abc import Sequence
from typing import Any

CHUNK = 5000
"""Ids per IN-list: under SQLite's 32,766 bound parameters (since 3.32), one batch on PostgreSQL."""


def chunks(values: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]
