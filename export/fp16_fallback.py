"""fp16 that does not silently break: keep the nodes that need it in fp32, and say which.

A plain fp16 conversion fails its gate in two ways: a tensor exceeds fp16's range (65504) and
becomes Inf/NaN — a large pre-activation, a sum of squares before a normalisation — or
rounding piles up until the image drifts below the PSNR gate. The fallback works in two steps,
each followed by the same validation gate as any variant:

1. Range (always, before the first validation): run the fp32 graph on the validation latents with
   every intermediate tensor exposed; every node that reads or writes a tensor beyond
   :data:`RANGE_LIMIT` stays fp32. This step cannot wait for the gate to fail: onnxruntime's CPU
   kernels compute many fp16 ops in fp32, so a graph that overflows on a GPU may pass on the CPU.
2. Error: if the gate still fails, run both graphs with intermediates and keep in fp32 the nodes
   whose outputs drifted most (relative error), doubling how many each round, until the gate
   passes or :data:`MAX_SHARE` of the nodes are fp32 (then the variant fails as before).

The converter (onnxruntime's ``convert_float_to_float16`` with ``node_block_list``) inserts the
Casts between fp32 and fp16 regions. The report lists the nodes kept in fp32 and the PSNR reached.

Grading happens twice per attempt, and both must pass: the fp16 file itself under onnxruntime,
and :func:`emulate_fp16` — the fp32 graph with every tensor an fp16 node would hold rounded
through float16. The second is needed because onnxruntime's x86 CPU kernels compute Conv, Gemm,
Mul, Pow, ReduceMean and most other ops in float32 and drop the round trips between them: an fp16
graph that overflows to Inf on every GPU can score 77 dB on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ganedge.export.precision import to_fp16

RANGE_LIMIT = 65504.0 / 16  # headroom: the validation seeds need not hit a tensor's extreme
MAX_SHARE = 0.5  # beyond this share of fp32 nodes a "fp16" model is not worth writing
FLOAT_TYPES = (1,)  # onnx.TensorProto.FLOAT


@dataclass
class Fp16Result:
    model: object  # onnx.ModelProto
    gate: object  # validate.GateResult
    kept_fp32: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)  # what each round did, for the report


def _with_intermediates(model):
    """A copy of ``model`` whose graph outputs include every float node output (types from shape inference)."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    known = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    exposed = onnx.ModelProto()
    exposed.CopyFrom(inferred)
    present = {o.name for o in exposed.graph.output}
    for node in exposed.graph.node:
        for name in node.output:
            info = known.get(name)
            if name and name not in present and info is not None and info.type.tensor_type.elem_type in (1, 10):
                exposed.graph.output.append(info)
                present.add(name)
    return exposed


def _float_tensors(model) -> set[str]:
    """Names of float32 tensors in ``model`` (inputs, initializers, node outputs), from shape inference."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    values = [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]
    names = {v.name for v in values if v.type.tensor_type.elem_type == 1}
    return names | {t.name for t in model.graph.initializer if t.data_type == 1}


def emulate_fp16(fp32, kept: list[str] | set[str] = ()):
    """An fp32 graph computing what an fp16 device would store: every float tensor that a node outside
    ``kept`` reads or writes is rounded through float16 (initializers rounded in place or copied when a
    kept node shares them; other tensors through a Cast to float16 and back)."""
    import onnx
    from onnx import helper, numpy_helper

    kept = set(kept)
    floats = _float_tensors(fp32)
    model = onnx.ModelProto()
    model.CopyFrom(fp32)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    readers: dict[str, set[bool]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, set()).add(node.name in kept)
    rounded: dict[str, str] = {}  # tensor -> its float16-rounded twin
    new_nodes = []
    for name in [t.name for t in graph.initializer] + [v.name for v in graph.input]:
        if name not in floats or False not in readers.get(name, set()):
            continue
        twin = name if name in inits and True not in readers[name] else f"{name}__fp16"
        if name in inits:
            value = numpy_helper.to_array(inits[name]).astype(np.float16).astype(np.float32)
            if twin == name:
                inits[name].CopyFrom(numpy_helper.from_array(value, name))
            else:
                graph.initializer.append(numpy_helper.from_array(value, twin))
        else:
            new_nodes += _round_trip(helper, name, twin)
        rounded[name] = twin
    for node in graph.node:
        if node.name in kept:
            new_nodes.append(node)
            continue
        node.input[:] = [rounded.get(name, name) for name in node.input]
        outputs = list(node.output)
        for k, name in enumerate(outputs):
            if name in floats:
                node.output[k] = f"{name}__raw"
        new_nodes.append(node)
        for name in outputs:
            if name in floats:
                new_nodes += _round_trip(helper, f"{name}__raw", name)
    del graph.node[:]
    graph.node.extend(new_nodes)
    return model


def _round_trip(helper, source: str, target: str) -> list:
    """Cast ``source`` to float16 and back into ``target`` (an explicit pair onnxruntime keeps)."""
    return [helper.make_node("Cast", [source], [f"{target}__f16"], to=10, name=f"{target}__to_f16"),
            helper.make_node("Cast", [f"{target}__f16"], [target], to=1, name=f"{target}__to_f32")]


def tensor_values(model, z: np.ndarray, labels: np.ndarray | None) -> dict[str, np.ndarray]:
    """Every float tensor of ``model`` on one batch: intermediates, graph outputs and initializers."""
    from onnx import numpy_helper

    from ganedge.artifacts.onnx_meta import feeds
    from ganedge.export.batching import static_batch
    from ganedge.sdk.backends.base import pad_batch
    from ganedge.sdk.backends.onnxrt.loader import create_session

    session = create_session(_with_intermediates(model), graph_optimization="disable").session
    names = [o.name for o in session.get_outputs()]
    step = static_batch(session) or len(z)  # a fixed-batch graph takes chunks of its size (the last padded)
    runs = [session.run(names, feeds(*pad_batch(z[i:i + step], None if labels is None else labels[i:i + step], step)))
            for i in range(0, len(z), step)]
    values = {name: runs[0][k] if len(runs) == 1 or runs[0][k].ndim == 0 else np.concatenate([r[k] for r in runs])
              for k, name in enumerate(names)}
    for init in model.graph.initializer:
        if init.data_type in (1, 10):
            values[init.name] = numpy_helper.to_array(init)
    return values


def out_of_range_nodes(model, values: dict[str, np.ndarray]) -> list[str]:
    """Nodes reading or writing a float tensor beyond :data:`RANGE_LIMIT` (or already non-finite)."""
    def too_big(name: str) -> bool:
        x = values.get(name)
        if x is None or x.size == 0:
            return False
        peak = float(np.max(np.abs(x.astype(np.float32))))
        return not peak <= RANGE_LIMIT
    return [n.name for n in model.graph.node if any(too_big(t) for t in [*n.input, *n.output] if t)]


def drift_ranking(model, half, z: np.ndarray, labels: np.ndarray | None) -> list[str]:
    """Nodes of ``model`` ordered by how far their outputs in ``half`` (an fp16 emulation keeping the tensor
    names) drift from fp32 (relative L2), worst first."""
    full, reduced = tensor_values(model, z, labels), tensor_values(half, z, labels)
    scores = []
    for node in model.graph.node:
        errors = []
        for name in node.output:
            a, b = full.get(name), reduced.get(name)
            if a is None or b is None or a.shape != b.shape or a.size == 0:
                continue
            a64, b64 = a.astype(np.float64), np.nan_to_num(b.astype(np.float64), nan=1e30, posinf=1e30, neginf=-1e30)
            errors.append(float(np.linalg.norm(a64 - b64) / (np.linalg.norm(a64) + 1e-12)))
        if errors:
            scores.append((max(errors), node.name))
    return [name for _, name in sorted(scores, reverse=True)]


def fp16_with_fallback(fp32, reference, validate: Callable, log: Callable[[str], None],
                       fallback: bool = True) -> Fp16Result:
    """The fp16 variant of ``fp32``; with ``fallback``, nodes kept in fp32 until ``validate(model, kept)`` passes.

    ``reference``: the validation Reference (its middle batch is the probe); ``validate(model, kept)`` grades
    the fp16 file and its emulation and returns a GateResult. The range step runs before the first
    validation, not only after a failure: a graph that overflows on a GPU can pass on the CPU.
    """
    if not fallback:
        half = to_fp16(fp32)
        return Fp16Result(half, validate(half, []))
    probe = len(reference.z) // 2
    z, labels = reference.z[probe], reference.labels[probe]
    kept = out_of_range_nodes(fp32, tensor_values(fp32, z, labels))
    what = f"range: {len(kept)} node(s) touch values beyond {RANGE_LIMIT:g}" if kept else "plain fp16"
    result = _attempt(fp32, kept, validate, what, [])
    if kept:
        log(f"  fp16 fallback, {result.steps[-1]}")
    if result.gate.passed:
        return result
    ranking = [name for name in drift_ranking(fp32, emulate_fp16(fp32, kept), z, labels) if name not in kept]
    limit, step = int(len(fp32.graph.node) * MAX_SHARE), 1
    while ranking and len(kept) < limit:
        take, ranking = ranking[:step], ranking[step:]
        kept = kept + take
        result = _attempt(fp32, kept, validate, f"drift: {len(take)} more node(s), {len(kept)} in fp32", result.steps)
        log(f"  fp16 fallback, {result.steps[-1]}")
        if result.gate.passed:
            break
        step *= 2
    return result


def _attempt(fp32, kept: list[str], validate: Callable, what: str, steps: list[str]) -> Fp16Result:
    model = to_fp16(fp32, keep_fp32=kept)
    gate = validate(model, kept)
    psnr = gate.images.psnr_db
    steps = [*steps, f"{what}: PSNR {psnr:.2f} dB, {'passes' if gate.passed else 'fails'}"]
    return Fp16Result(model, gate, list(kept), steps)
