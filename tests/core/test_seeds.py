import pytest

from ganedge.errors import BadInputError
from ganedge.seeds import parse_seeds


@pytest.mark.parametrize(
    "spec, expected",
    [("0-3", [0, 1, 2, 3]), ("1,2,5-7", [1, 2, 5, 6, 7]), ("7", [7]), (" 4 , 2 ", [4, 2]), ("9223372036854775807", [2**63 - 1])],
)
def test_parse(spec, expected):
    assert parse_seeds(spec) == expected


@pytest.mark.parametrize("spec", ["", "  ", "a", "1,,2", "5-2", "-1", "1-", "9223372036854775808", "0-99999999999"])
def test_parse_rejects(spec):
    with pytest.raises(BadInputError):
        parse_seeds(spec)
