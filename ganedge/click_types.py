"""click parameter types for seed and integer lists, shared by the CLI and the bench's scripts.

Core, not ``ganedge.cli``: ``python -m ganedge.bench.micro`` takes the same lists, and the bench
sits below the CLI in the layer order. The parsing itself is :mod:`ganedge.seeds`'s.
"""

from __future__ import annotations

from typing import Any

import click

from ganedge.errors import BadInputError
from ganedge.seeds import parse_int_list, parse_seeds


class _ParsedList(click.ParamType):
    """A comma-separated list parsed by :meth:`parse`; its BadInputError becomes click's usage error."""

    def parse(self, text: str) -> list[int]:
        raise NotImplementedError

    def convert(self, value: Any, param, ctx) -> list[int]:
        if isinstance(value, list):
            return value
        try:
            return self.parse(value)
        except BadInputError as exc:
            self.fail(str(exc), param, ctx)


class SeedList(_ParsedList):
    """``0-63`` or ``1,2,5-10`` -> list of ints."""

    name = "SEEDS"

    def parse(self, text: str) -> list[int]:
        return parse_seeds(text)


class IntList(_ParsedList):
    """``1,8,64`` -> [1, 8, 64], each >= ``minimum``."""

    name = "INTS"

    def __init__(self, minimum: int = 1):
        self.minimum = minimum

    def parse(self, text: str) -> list[int]:
        return parse_int_list(text, self.minimum)


SEEDS = SeedList()


class OutputRange(click.ParamType):
    """``-1,1`` or ``0,1`` -> (lo, hi) with lo < hi."""

    name = "LO,HI"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            lo, hi = (float(v) for v in str(value).split(","))
        except ValueError:
            self.fail(f"{value!r} is not two numbers LO,HI such as -1,1 or 0,1", param, ctx)
        if not lo < hi:
            self.fail(f"{value!r}: LO must be below HI", param, ctx)
        return lo, hi
