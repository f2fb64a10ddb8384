from ganedge.export.trt.builder import MAX_LISTED_FAILURES, ParserFailure, describe_parser_failures


def test_lists_each_failing_node_on_one_line():
    failures = [ParserFailure(12, "Resize", "up1", "Assertion failed:\n  scales must be\tconstant"),
                ParserFailure(40, "NonZero", "nz", "unsupported")]
    text = describe_parser_failures(failures, "model.onnx")
    assert "\n" not in text
    assert text.startswith("TensorRT cannot parse model.onnx: 2 node(s) failed — ")
    assert "node 12 Resize 'up1': Assertion failed: scales must be constant" in text
    assert "node 40 NonZero 'nz': unsupported" in text
    assert "ganedge inspect model.onnx" in text


def test_graph_level_errors_and_truncation():
    text = describe_parser_failures([ParserFailure(-1, "", "", "x" * 500)], "m.onnx")
    assert "1 error(s)" in text and "graph: " in text and "xxx..." in text and "x" * 300 not in text
    many = [ParserFailure(i, "Op", f"n{i}", "bad") for i in range(MAX_LISTED_FAILURES + 3)]
    text = describe_parser_failures(many, "m.onnx")
    assert f"{MAX_LISTED_FAILURES + 3} node(s) failed" in text and "and 3 more" in text
