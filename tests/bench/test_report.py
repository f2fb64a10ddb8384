"""Reports from a real tiny bench: strict JSON, CSV, Markdown, PNG, the terminal table; atomic writes."""

import csv
import json

import pytest
from PIL import Image

from ganedge.bench.report import format_table, to_csv, to_json, to_markdown, write_reports
from ganedge.bench.rows import CORE_FIELDS, QUALITY_FIELDS
from ganedge.errors import OutputError


def _strict(text):
    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def test_json_follows_the_design_schema(tiny_result):
    data = _strict(to_json(tiny_result))
    assert {"machine", "peak", "results", "concurrency"} <= set(data)
    assert len(data["results"]) == len(tiny_result.results)
    for row in data["results"]:
        assert set(CORE_FIELDS + QUALITY_FIELDS) <= set(row)
        assert isinstance(row["batch_size"], int) and isinstance(row["images_per_s"], float)


def test_files_are_written_and_readable(tiny_result, tmp_path):
    paths = {name: tmp_path / f"bench.{name}" for name in ("json", "csv", "md")}
    plot = tmp_path / "bench.png"
    write_reports(tiny_result, paths["json"], paths["csv"], paths["md"], plot)

    assert _strict(paths["json"].read_text()) == _strict(to_json(tiny_result))
    with paths["csv"].open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(tiny_result.results)
    assert list(rows[0])[:len(CORE_FIELDS)] == list(CORE_FIELDS)
    assert {"psnr_db", "fd"} <= set(rows[0])
    assert float(rows[0]["images_per_s"]) == pytest.approx(tiny_result.results[0]["images_per_s"])

    markdown = paths["md"].read_text()
    assert markdown == to_markdown(tiny_result)
    results, _, rest = markdown.partition("## Results")[2].partition("## Concurrency")
    names = tuple(f"| {r['model']} |" for r in tiny_result.results)
    assert len([line for line in results.splitlines() if line.startswith(names)]) == len(tiny_result.results)
    concurrency = rest.partition("## Summary")[0]
    assert len([line for line in concurrency.splitlines() if line.startswith(names)]) == len(tiny_result.concurrency)
    assert "## Summary" in markdown and "machine:" in markdown

    with Image.open(plot) as image:
        assert image.format == "PNG" and image.width > 400 and image.height > 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.csv", "bench.json", "bench.md", "bench.png"]


def test_terminal_table_has_a_line_per_row(tiny_result):
    text = format_table(tiny_result)
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("model "))
    assert set(lines[header + 1]) <= {"-", " "}
    body = lines[header + 2:header + 2 + len(tiny_result.results)]
    assert [line.split()[0] for line in body] == [r["model"] for r in tiny_result.results]
    assert "img/s" in lines[header] and "%peak" in lines[header] and "PSNR dB" in lines[header]
    assert "ref" in text  # the fp32 reference's PSNR cell


def test_csv_leaves_unknown_values_empty(tiny_result):
    rows = list(csv.DictReader(to_csv(tiny_result).splitlines()))
    assert all(row["fd"] == "" for row in rows)  # FD was not measured


def test_unwritable_output_fails_cleanly(tiny_result, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError):
        write_reports(tiny_result, json_path=blocker / "bench.json")
    assert blocker.read_text() == "not a folder"
