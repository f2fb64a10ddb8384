"""config.pbtxt for ``ganedge export triton``: Triton's view of a generator's tensors, rendered as
protobuf text format (no protobuf dependency; the tests parse it with tritonclient's model-config
protobuf).

With ``max_batch_size > 0`` Triton adds the batch dimension itself, so dims leave it out; the
label input, one scalar per image, is ``dims: [1]`` reshaped to ``[]`` (clients send (N, 1)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ganedge.artifacts.manifest import Manifest

if TYPE_CHECKING:
    from ganedge.export.triton import ModelSource, TritonOptions

MANIFEST_PARAMETER = "ganedge_manifest"


@dataclass(frozen=True)
class TensorSpec:
    name: str
    data_type: str  # "TYPE_FP32", ...
    dims: tuple[int, ...]  # without the batch dim when max_batch_size > 0
    reshape: tuple[int, ...] | None = None  # what the backend receives per item (label: [1] -> [])


def per_item_shapes(m: Manifest) -> dict[str, tuple[int, ...]]:
    """Each contract tensor's shape without the batch dim: z (latent,), label (), image (C, H, W)."""
    shapes = {m.inputs[0]: (m.latent_dim,), m.output: tuple(m.image_shape)}
    if m.conditional:
        shapes[m.inputs[1]] = ()
    return shapes


def pbtxt_string(text: str) -> str:
    """A protobuf text-format string literal: printable ASCII as is, every other byte as an octal escape
    (UTF-8 bytes of a string field are decoded back by the parser), so any manifest text round-trips."""
    out = ['"']
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    out.append('"')
    return "".join(out)


def tensor_specs(source: ModelSource, max_batch: int) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """Triton's view of the I/O: per-item dims when batching, the full shape otherwise."""
    m = source.manifest
    expected = per_item_shapes(m)

    def spec(name: str, dtype: str, shape: tuple[int | None, ...]) -> TensorSpec:
        per_item = expected.get(name, tuple(-1 if s is None else s for s in shape[1:]))
        if max_batch > 0:
            if not per_item:  # a scalar per image: Triton needs a non-empty dims
                return TensorSpec(name, dtype, (1,), reshape=())
            return TensorSpec(name, dtype, per_item)
        batch = -1 if source.static_batch is None else source.static_batch
        return TensorSpec(name, dtype, (batch, *per_item))

    order = {n: i for i, n in enumerate(m.inputs)}
    inputs = sorted(source.inputs, key=lambda t: order.get(t[0], len(order)))
    outputs = [t for t in source.outputs if t[0] == m.output]  # other outputs are not part of the contract
    return [spec(*t) for t in inputs], [spec(*t) for t in outputs]


def _dims(values: tuple[int, ...]) -> str:
    return "[ " + ", ".join(str(v) for v in values) + " ]"


def _tensor_block(spec: TensorSpec) -> list[str]:
    lines = ["  {", f"    name: {pbtxt_string(spec.name)}", f"    data_type: {spec.data_type}",
             f"    dims: {_dims(spec.dims)}"]
    if spec.reshape is not None:
        lines.append(f"    reshape: {{ shape: {_dims(spec.reshape)} }}")
    lines.append("  }")
    return lines


def render_config(source: ModelSource, name: str, max_batch: int, delay_us: int | None, kind: str,
                  options: TritonOptions, manifest_json: str) -> str:
    inputs, outputs = tensor_specs(source, max_batch)
    lines = [f"# Written by `ganedge export triton` from {source.path.name}; edit freely, the model is in "
             f"{options.version}/{source.filename}.",
             f"name: {pbtxt_string(name)}",
             f"platform: {pbtxt_string(source.platform)}",
             f"default_model_filename: {pbtxt_string(source.filename)}",
             f"max_batch_size: {max_batch}"]
    for section, specs in (("input", inputs), ("output", outputs)):
        lines.append(f"{section} [")
        for i, spec in enumerate(specs):
            block = _tensor_block(spec)
            if i < len(specs) - 1:
                block[-1] += ","
            lines += block
        lines.append("]")
    if max_batch > 0:
        lines.append("dynamic_batching {")
        if options.preferred_batch_sizes:
            lines.append(f"  preferred_batch_size: {_dims(tuple(options.preferred_batch_sizes))}")
        lines.append(f"  max_queue_delay_microseconds: {delay_us}")
        if options.max_queue_size:
            lines.append(f"  default_queue_policy {{ max_queue_size: {options.max_queue_size} }}")
        lines.append("}")
    lines += ["instance_group [", "  {", f"    count: {options.instances}", f"    kind: {kind}", "  }", "]"]
    if options.warmup:
        # One zero-filled request at load time, so the first client does not pay for lazy initialisation.
        lines += ["model_warmup [", "  {", '    name: "ganedge_warmup"', "    batch_size: 1"]
        for spec in inputs:
            dims = tuple(1 if d == -1 else d for d in spec.dims)
            lines.append(f"    inputs {{ key: {pbtxt_string(spec.name)} value {{ data_type: {spec.data_type} "
                         f"dims: {_dims(dims)} zero_data: true }} }}")
        lines += ["  }", "]"]
    lines += ["parameters {", f"  key: {pbtxt_string(MANIFEST_PARAMETER)}",
              f"  value {{ string_value: {pbtxt_string(manifest_json)} }}", "}"]
    return "\n".join(lines) + "\n"
