"""Step 4 of the pipeline: fp32 ONNX -> fp16 or int8 ONNX (both still take and return float32).

fp16: every float weight and activation in half precision, with Casts at the edges so the
inputs and outputs stay float32 (``keep_io_types``): callers never see the difference.

int8: onnxruntime's static QDQ quantization (QuantizeLinear/DequantizeLinear pairs around
each Conv/Gemm, per-channel int8 weights, uint8 activations — the fast pair on x86 CPUs
without VNNI). A generator needs no calibration data: activation ranges come from running the
fp32 graph on random latents (ganedge.latents, seeds far from the validation seeds) and
uniform labels. The result is plain ONNX that any onnxruntime CPU build runs.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from pathlib import Path

import numpy as np

from ganedge.latents import latents, seed_range
from ganedge.artifacts.manifest import Manifest

from ganedge.export.settings import ExportSettings
from ganedge.artifacts.onnx_meta import INPUT_LABEL, INPUT_Z

_CALIBRATION_BATCH = 32


def to_fp16(model, keep_fp32: list[str] | None = None):
    """fp16 copy of an fp32 model; inputs/outputs stay float32, and the nodes named in ``keep_fp32`` stay fp32
    (the converter puts Casts around them; see ``export/fp16_fallback.py`` for who picks them)."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    from ganedge.export.rewrite import toposort

    # An empty op block list keeps onnxruntime's default list (meant for transformer ops) out: every op of a
    # generator graph runs in fp16 unless a node is named in keep_fp32.
    # force_fp16_initializers only without kept nodes: a weight a kept node reads may lie beyond fp16's range.
    half = convert_float_to_float16(model, keep_io_types=True, op_block_list=[], node_block_list=list(keep_fp32 or []),
                                    force_fp16_initializers=not keep_fp32)
    if keep_fp32:
        drop_fp16_round_trips(half.graph, set(keep_fp32))
        del half.graph.value_info[:]  # the converter's type notes name tensors the bypass retyped; checkers re-infer
    toposort(half.graph)  # the converter appends its input Casts at the end of the node list
    return half


_FLOAT, _FLOAT16 = 1, 10  # onnx.TensorProto element types


def _cast_to(node) -> int | None:
    if node.op_type != "Cast":
        return None
    return next((a.i for a in node.attribute if a.name == "to"), None)


def drop_fp16_round_trips(graph, kept: set[str]) -> int:
    """Rewire ``fp32 -> Cast(fp16) -> Cast(fp32)`` pairs to use the fp32 tensor, where the fp32 tensor comes from a
    node in ``kept`` (so it is float32 for sure); returns how many were bypassed.

    The converter passes a tensor between two nodes kept in fp32 through fp16 and back, which overflows
    exactly the values the nodes were kept in fp32 for. Bypassing the pair only removes a rounding.
    """
    producers = {out: node for node in graph.node for out in node.output}
    outputs = {o.name for o in graph.output}
    bypassed = 0
    for node in graph.node:
        inner = producers.get(node.input[0]) if node.input else None
        if _cast_to(node) != _FLOAT or inner is None or _cast_to(inner) != _FLOAT16 or node.output[0] in outputs:
            continue
        origin = producers.get(inner.input[0])
        if origin is None or origin.name not in kept:
            continue
        source, target = inner.input[0], node.output[0]
        for consumer in graph.node:
            for k, name in enumerate(consumer.input):
                if name == target:
                    consumer.input[k] = source
        bypassed += 1
    used = {name for node in graph.node for name in node.input} | outputs
    while True:  # drop Casts nothing reads any more (a dropped one may leave its feeder unread)
        dead = [n for n in graph.node if n.op_type == "Cast" and not any(o in used for o in n.output)]
        if not dead:
            return bypassed
        for n in dead:
            graph.node.remove(n)
        used = {name for node in graph.node for name in node.input} | outputs


class LatentCalibrationReader:
    """onnxruntime CalibrationDataReader over random latents (and uniform labels if conditional)."""

    def __init__(self, manifest: Manifest, samples: int, first_seed: int, batch: int = _CALIBRATION_BATCH):
        self.manifest, self.samples, self.first_seed, self.batch = manifest, samples, first_seed, batch
        self.rewind()

    def rewind(self) -> None:
        self._batches = iter(self._make_batches())

    def _make_batches(self):
        for start in range(0, self.samples - self.batch + 1, self.batch):  # whole batches: a fixed-batch graph takes no other
            seeds = seed_range(self.first_seed + start, self.batch)
            feed = {INPUT_Z: latents(seeds, self.manifest.latent_dim)}  # (n, latent_dim)
            if self.manifest.num_classes:
                feed[INPUT_LABEL] = (seeds % np.uint64(self.manifest.num_classes)).astype(np.int64)  # (n,)
            yield feed

    def get_next(self):
        return next(self._batches, None)


def last_layer_nodes(model) -> list[str]:
    """Names of the Conv/Gemm/MatMul nodes that feed the graph output through non-weighted ops only."""
    producers = {o: n for n in model.graph.node for o in n.output}
    weighted = {"Conv", "ConvTranspose", "Gemm", "MatMul"}
    found, frontier, seen = [], [o.name for o in model.graph.output], set()
    while frontier:
        tensor = frontier.pop()
        node = producers.get(tensor)
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if node.op_type in weighted:
            found.append(node.name)
        else:
            frontier.extend(i for i in node.input if i)
    return found


class _PreprocessAdvice(logging.Filter):
    """Drops the quantizer's "please consider pre-processing" lines: we measured that onnxruntime's
    pre-processing (symbolic shape inference + basic graph optimization) leaves our already
    exporter-optimized generator graphs unchanged, so the advice is noise on every export."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "consider" not in str(record.msg) or "pre-process" not in str(record.msg)


@contextlib.contextmanager
def _without_preprocess_advice():
    root, advice = logging.getLogger(), _PreprocessAdvice()
    root.addFilter(advice)  # the quantizer logs through the root logger (logging.warning)
    try:
        yield
    finally:
        root.removeFilter(advice)


def to_int8(model, manifest: Manifest, settings: ExportSettings, fixed_batch: int | None = None):
    """Static QDQ int8 copy of an fp32 model, calibrated on random latents. Returns an ``onnx.ModelProto``."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    exclude = last_layer_nodes(model) if settings.exclude_last_layer_from_int8 else []
    reader = LatentCalibrationReader(manifest, settings.calibration_samples, settings.calibration_seed,
                                     batch=fixed_batch or _CALIBRATION_BATCH)
    with tempfile.TemporaryDirectory(prefix="ganedge-int8-") as tmp, _without_preprocess_advice():
        source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(model, str(source))
        quantize_static(
            str(source), str(target), reader,
            quant_format=QuantFormat.QDQ,
            per_channel=settings.per_channel,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=exclude,
            extra_options={"WeightSymmetric": True},
        )
        quantized = onnx.load(str(target))
    return quantized
