import pytest

from ganedge.errors import BadInputError
from ganedge.artifacts.trt_profile import DEFAULT_PROFILE, MAX_PROFILE_BATCH, BatchProfile, parse_profile


@pytest.mark.parametrize("spec, expected", [
    ("1:8:64", (1, 8, 64)),
    ("8", (1, 8, 8)),
    (" 2 : 4 : 4 ", (2, 4, 4)),
    ("16:16:16", (16, 16, 16)),
    ("1:1:1", (1, 1, 1)),
])
def test_parse_valid(spec, expected):
    p = parse_profile(spec)
    assert (p.min, p.opt, p.max) == expected
    assert str(p) == ":".join(map(str, expected))


def test_default_and_static_default():
    assert str(parse_profile(None)) == DEFAULT_PROFILE
    assert str(parse_profile(None, static_batch=4)) == "4:4:4"


@pytest.mark.parametrize("spec, fragment", [
    ("8:4:16", "MIN <= OPT <= MAX"),
    ("1:64:8", "MIN <= OPT <= MAX"),
    ("0:8:64", ">= 1"),
    ("0", ">= 1"),
    ("1.5", "whole number"),
    ("a:b:c", "whole number"),
    ("-1:8:64", "whole number"),
    ("+8", "whole number"),
    ("1:8", "2 fields"),
    ("1:2:3:4", "4 fields"),
    ("", "empty"),
    ("1::64", "whole number"),
    (f"1:8:{MAX_PROFILE_BATCH + 1}", "above the limit"),
])
def test_parse_rejects(spec, fragment):
    with pytest.raises(BadInputError, match="--batch|batch") as info:
        parse_profile(spec)
    assert fragment in str(info.value)


def test_static_batch_rules():
    assert str(parse_profile("4", static_batch=4)) == "4:4:4"
    assert str(parse_profile("4:4:4", static_batch=4)) == "4:4:4"
    with pytest.raises(BadInputError, match="above the ONNX's fixed batch size 4"):
        parse_profile("1:8:64", static_batch=4)
    with pytest.raises(BadInputError, match="above the ONNX's fixed batch size 4"):
        parse_profile("8", static_batch=4)
    with pytest.raises(BadInputError, match="must be 4:4:4"):
        parse_profile("1:4:4", static_batch=4)


def test_profile_dict_round_trip_and_validation():
    p = BatchProfile(1, 8, 64)
    assert BatchProfile.from_dict(p.to_dict()) == p
    with pytest.raises(BadInputError):
        BatchProfile.from_dict({"min": 1, "opt": 8})
    with pytest.raises(BadInputError):
        BatchProfile(4, 2, 8)
