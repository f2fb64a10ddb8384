"""``ganedge inspect``: an artifact's manifest, inputs/outputs, graph, cost and TensorRT lint."""

from __future__ import annotations

import json

import click


def _si(value: float, unit: str) -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}{unit}"
    return f"{value:g} {unit}"


def _tensor(t: dict) -> str:
    return f"{t['name']} {t['dtype']} [{', '.join(str(d) for d in t['shape'])}]"


def _manifest_lines(info: dict) -> list[str]:
    manifest = info.get("manifest")
    if manifest is None:
        return [f"Manifest:  none — {info.get('manifest_note')}"]
    rows = ["Manifest:"]
    for key in sorted(manifest):
        value = manifest[key]
        rows.append(f"  {key:16s} {json.dumps(value) if isinstance(value, (dict, list)) else value}")
    return rows


def format_text(info: dict) -> str:
    head = f"{info['path']}  ({info['format']}"
    if "size_bytes" in info:
        head += f", {info['size_bytes'] / 1e6:.2f} MB"
    rows = [head + ")"]
    if info["format"] == "run":
        rows.append(f"Run:       {info['arch']}, latent {info['latent_dim']}, image {info['image_shape']}, "
                    f"classes {info['num_classes']}, dataset {info['dataset']}, step {info.get('train_step')}")
        for module, count in (info.get("weights") or {}).get("parameters", {}).items():
            rows.append(f"  {module:8s} {count:,} tensor elements")
        return "\n".join(rows)
    rows += _manifest_lines(info)
    if info["format"] == "tensorrt":
        rows.append(f"Note:      {info['note']}")
        return "\n".join(rows)
    rows.append(f"Inputs:    {'; '.join(_tensor(t) for t in info['inputs'])}")
    rows.append(f"Outputs:   {'; '.join(_tensor(t) for t in info['outputs'])}")
    opsets = ", ".join(f"{d} {v}" for d, v in info["opset"].items())
    rows.append(f"Graph:     IR {info['ir_version']}, opset {opsets}, {info['nodes']} nodes, "
                f"producer {info['producer'] or 'unknown'}, precision {info['precision']}")
    rows.append(f"Ops:       {', '.join(f'{op} {n}' for op, n in info['op_histogram'].items())}")
    dtypes = ", ".join(f"{d} {n:,}" for d, n in info["parameter_dtypes"].items())
    rows.append(f"Params:    {info['parameters']:,} ({dtypes}); initializers {info['parameter_bytes'] / 1e6:.2f} MB")
    flops = info["flops"]
    total = flops["flops_per_sample"] or 1
    shares = ", ".join(f"{op} {n / total:.0%}" for op, n in list(flops["by_op"].items())[:4])
    note = "" if flops["exact"] else f"; not counted: {', '.join(flops['unknown_ops'] + flops['unknown_shapes'])}"
    if flops.get("graph_batch", 1) > 1:
        note += f"; counted at the graph's fixed batch {flops['graph_batch']} and divided"
    rows.append(f"FLOPs:     {_si(flops['flops_per_sample'], 'FLOP')} per sample ({shares}){note}")
    if info["external_data"]:
        rows.append(f"External:  {', '.join(sorted(set(info['external_data'])))}")
    unavailable = info.get("unavailable") or {}
    rows.append(f"Checker:   {info['checker'] or unavailable.get('checker')}")
    lint = info["lint"]
    if lint is None:
        rows.append(f"Lint:      {unavailable.get('lint')}")
        return "\n".join(rows)
    rows.append(f"Lint:      {lint['target']}: {'compatible' if lint['ok'] else 'NOT compatible'} "
                f"({lint['errors']} errors, {lint['warnings']} warnings)")
    seen = set()
    for issue in lint["issues"]:
        key = (issue["severity"], issue["code"], issue["message"])
        if key in seen:
            continue
        seen.add(key)
        count = sum(1 for i in lint["issues"] if (i["severity"], i["code"], i["message"]) == key)
        where = f" [{issue['node']}{f' and {count - 1} more' if count > 1 else ''}]" if issue["node"] else ""
        rows.append(f"  {issue['severity']:7s} {issue['code']}{where}: {issue['message']}")
    return "\n".join(rows)


@click.command("inspect")
@click.argument("model", type=click.Path(path_type=str), metavar="MODEL")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def inspect_cmd(model, as_json):
    """Show MODEL's manifest, inputs/outputs, ops, parameters, FLOPs and TensorRT lint.

    MODEL is an .onnx file (ours or anyone's), a TensorRT .engine/.plan (its sidecar manifest)
    or a run directory.

    \b
    Examples:
      ganedge inspect model.onnx
      ganedge inspect model.int8.onnx --json | jq .flops_per_sample
      ganedge inspect model.engine
      ganedge inspect runs/scenes
    """
    from ganedge.export.describe import describe

    info = describe(model)
    click.echo(json.dumps(info, sort_keys=True) if as_json else format_text(info))
