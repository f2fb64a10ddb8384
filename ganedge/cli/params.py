"""click parameter types shared by the commands."""

from __future__ import annotations

import click

from ganedge.errors import BadInputError
from ganedge.seeds import parse_seeds


class SeedList(click.ParamType):
    """``0-63`` or ``1,2,5-10`` -> list of ints."""

    name = "SEEDS"

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        try:
            return parse_seeds(value)
        except BadInputError as exc:
            self.fail(str(exc), param, ctx)


class IntList(click.ParamType):
    """``1,8,64`` -> [1, 8, 64], each >= ``minimum``."""

    name = "INTS"

    def __init__(self, minimum: int = 1):
        self.minimum = minimum

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        try:
            values = [int(v) for v in str(value).split(",") if v.strip()]
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of integers", param, ctx)
        if not values:
            self.fail("the list is empty", param, ctx)
        bad = [v for v in values if v < self.minimum]
        if bad:
            self.fail(f"{bad[0]} is below the minimum {self.minimum}", param, ctx)
        return values


SEEDS = SeedList()
