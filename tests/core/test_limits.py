"""ganedge.limits: sizes in exact integers, and requests beyond the memory this process can get
refused with their size in bytes."""

from __future__ import annotations

import pytest

from ganedge.errors import BadInputError
from ganedge.limits import ALWAYS_FITS, available_nbytes, check_allocatable, check_nbytes, format_nbytes, output_nbytes


def test_output_nbytes_is_exact_for_any_n():
    assert output_nbytes(2**40, (3, 32, 32)) == 2**40 * 3072
    assert output_nbytes(10**15, (3, 256, 256), itemsize=4) == 10**15 * 3 * 256 * 256 * 4  # beyond int64: no overflow
    assert output_nbytes(0, (3, 32, 32)) == 0 and output_nbytes(7, ()) == 7


def test_format_nbytes():
    assert format_nbytes(512) == "512 B"
    assert format_nbytes(3 * 2**30) == "3.0 GiB"
    assert format_nbytes(2**40 * 3072) == "3.0 PiB"


def test_available_memory_is_read_on_linux():
    available = available_nbytes()
    assert available is not None and 0 < available < 2**50


def test_what_fits_passes_and_twice_the_available_memory_is_refused():
    check_allocatable(ALWAYS_FITS, (1,), "small")  # never read, never refused
    check_allocatable(1000, (3, 64, 64), "a thousand images")
    too_many = 2 * available_nbytes() // 3072 + 1
    with pytest.raises(BadInputError) as info:
        check_allocatable(too_many, (3, 32, 32), "sample(n=...)")
    message = str(info.value)
    assert message.startswith("sample(n=...) would need ") and f"{too_many * 3072:,} bytes" in message
    assert f"{too_many:,} images of 3x32x32 uint8" in message and "stream(" in message


def test_working_memory_counts_and_the_hint_is_the_callers():
    with pytest.raises(BadInputError, match=r"plus 1,125,899,906,842,624 bytes of working memory.*; do less"):
        check_allocatable(1, (4,), "x", extra_nbytes=2**50, hint="do less")
    with pytest.raises(BadInputError, match=r"^y would need 1,125,899,906,842,624 bytes \(1.0 PiB\) for z, more"):
        check_nbytes(2**50, "y", "z")
