"""Lists as users type them: seeds (``0-63``, ``1,2,5-10``, ``7``) and integers (``1,8,64``).

Plain parsing that raises BadInputError, so the click commands (``ganedge.click_types``) and the
bench's own scripts share it without the bench importing the CLI."""

from __future__ import annotations

from ganedge.errors import BadInputError
from ganedge.latents import MAX_SEED

MAX_SEEDS_IN_SPEC = 10_000_000  # a typo like 0-99999999999 should fail fast, not eat memory


def parse_seeds(spec: str) -> list[int]:
    """Parse a comma-separated list of seeds and inclusive ranges into a list (order kept)."""
    if not isinstance(spec, str) or not spec.strip():
        raise BadInputError("seed list is empty; use e.g. 0-63 or 1,2,5-10")
    seeds: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            raise BadInputError(f"empty item in seed list {spec!r}; use e.g. 0-63 or 1,2,5-10")
        lo_text, dash, hi_text = part.partition("-")
        try:
            lo = int(lo_text)
            hi = int(hi_text) if dash else lo
        except ValueError:
            raise BadInputError(f"bad seed item {part!r} in {spec!r}; use integers like 5 or ranges like 0-63") from None
        if lo < 0 or hi < 0 or lo >= MAX_SEED or hi >= MAX_SEED:
            raise BadInputError(f"seed item {part!r} is outside [0, 2**63)")
        if hi < lo:
            raise BadInputError(f"seed range {part!r} runs backwards; write {hi}-{lo}")
        if len(seeds) + (hi - lo + 1) > MAX_SEEDS_IN_SPEC:
            raise BadInputError(f"seed list {spec!r} has more than {MAX_SEEDS_IN_SPEC:,} seeds")
        seeds.extend(range(lo, hi + 1))
    return seeds


def parse_int_list(text: str, minimum: int = 1) -> list[int]:
    """``1,8,64`` -> [1, 8, 64], each >= ``minimum`` (order and repeats kept; empty items skipped)."""
    try:
        values = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise BadInputError(f"{text!r} is not a comma-separated list of integers") from None
    if not values:
        raise BadInputError("the list is empty")
    bad = [v for v in values if v < minimum]
    if bad:
        raise BadInputError(f"{bad[0]} is below the minimum {minimum}")
    return values
