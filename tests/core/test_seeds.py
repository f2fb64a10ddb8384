import pytest

from ganedge.errors import BadInputError
from ganedge.seeds import parse_int_list, parse_seeds


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


@pytest.mark.parametrize("text, minimum, expected", [("1,8,64", 1, [1, 8, 64]), (" 16 ,32,", 16, [16, 32]),
                                                     ("0", 0, [0]), ("4,4", 1, [4, 4])])
def test_parse_int_list(text, minimum, expected):
    assert parse_int_list(text, minimum) == expected


@pytest.mark.parametrize("text, message", [("1,x", "not a comma-separated list"), (",", "the list is empty"),
                                           ("8,0", "0 is below the minimum 1")])
def test_parse_int_list_rejects(text, message):
    with pytest.raises(BadInputError, match=message):
        parse_int_list(text)
