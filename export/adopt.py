"""Adopting an ONNX file made elsewhere: check its I/O, give it ganedge's names and a manifest, derive variants.

    ganedge export onnx foreign.onnx -o adopted.onnx --latent-dim 512 [--output-range 0,1] [--precision all]

What a foreign generator graph may look like: one float input of shape (n, latent_dim) — or
(n, latent_dim, 1, 1), as tutorial DCGANs take it — an optional integer class input (n,) when
``--num-classes`` is given, and one float output (n, C, H, W). The batch may be dynamic or fixed.
The adopted file is the same function with ganedge's names (``z``, ``label``, ``image``), float32 at
its edges, the manifest in its metadata and every weight inside the file. Its fp16/int8 variants
are graded against the *original* file run under onnxruntime, on the usual validation seeds.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ganedge.artifacts.manifest import Manifest, sha256_file
from ganedge.artifacts.onnx_meta import INPUT_LABEL, INPUT_Z, OUTPUT, io_names, read_manifest
from ganedge.errors import ArtifactError, BadInputError
from ganedge.images import uint8_affine

_FLOAT, _INT32, _INT64, _FLOAT16 = 1, 6, 7, 10  # onnx.TensorProto element types


def _dims(value) -> list:
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in value.type.tensor_type.shape.dim]


def _graph_io(model):
    inits = {t.name for t in model.graph.initializer}
    return [v for v in model.graph.input if v.name not in inits], list(model.graph.output)


def _rename(graph, old: str, new: str) -> None:
    """Rename tensor ``old`` to ``new`` everywhere in ``graph`` (nodes, inputs, outputs, value_info)."""
    if old == new:
        return
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]
    for value in [*graph.input, *graph.output, *graph.value_info]:
        if value.name == old:
            value.name = new


def _latent_dim(z, given: int | None, where: str) -> int:
    dims = _dims(z)
    static = dims[1] if len(dims) >= 2 and isinstance(dims[1], int) and dims[1] > 0 else None
    if given is not None and static is not None and given != static:
        raise BadInputError(f"{where}: --latent-dim {given} but input {z.name!r} has {static} channels")
    if given is None and static is None:
        raise BadInputError(f"{where}: input {z.name!r} has no static latent size; pass --latent-dim")
    return int(given or static)


def check_foreign_io(model, num_classes: int, where: str):
    """(z input, label input or None, image output) of a foreign generator graph, or a one-line error."""
    inputs, outputs = _graph_io(model)
    floats = [v for v in inputs if v.type.tensor_type.elem_type in (_FLOAT, _FLOAT16)]
    ints = [v for v in inputs if v.type.tensor_type.elem_type in (_INT32, _INT64)]
    if len(floats) != 1 or len(inputs) != 1 + (num_classes > 0) or len(ints) != (num_classes > 0):
        shown = ", ".join(f"{v.name} {_dims(v)}" for v in inputs)
        want = "one float latent input and one integer label input" if num_classes else "one float latent input"
        raise BadInputError(f"{where} has inputs [{shown}]; a generator needs {want}"
                            + ("" if num_classes else " (pass --num-classes K for a conditional model)"))
    z, label = floats[0], (ints[0] if ints else None)
    z_dims = _dims(z)
    if len(z_dims) not in (2, 4) or (len(z_dims) == 4 and z_dims[2:] != [1, 1]):
        raise BadInputError(f"{where}: latent input {z.name!r} has shape {z_dims}; expected (n, latent_dim) or "
                            "(n, latent_dim, 1, 1)")
    if label is not None and len(_dims(label)) != 1:
        raise BadInputError(f"{where}: label input {label.name!r} has shape {_dims(label)}; expected (n,)")
    if len(outputs) != 1 or len(_dims(outputs[0])) != 4 or outputs[0].type.tensor_type.elem_type not in (_FLOAT, _FLOAT16):
        shown = ", ".join(f"{v.name} {_dims(v)}" for v in outputs)
        raise BadInputError(f"{where} has outputs [{shown}]; a generator returns one float image batch (n, C, H, W)")
    return z, label, outputs[0]


def normalise(model, latent_dim: int, num_classes: int, where: str):
    """A copy of ``model`` with inputs ``z`` float32 (n, latent_dim) [+ ``label`` int64 (n,)] and output ``image``
    float32; Reshape/Cast nodes bridge to the original's shapes and types."""
    import onnx
    from onnx import helper

    adopted = onnx.ModelProto()
    adopted.CopyFrom(model)
    graph = adopted.graph
    z, label, out = check_foreign_io(adopted, num_classes, where)
    batch = _dims(z)[0]
    batch_dim = batch if isinstance(batch, int) and batch > 0 else "batch"
    nodes = []
    z_type, z_rank = z.type.tensor_type.elem_type, len(_dims(z))
    inner = z.name
    _rename(graph, inner, "ganedge_z_inner")
    graph.input.remove(next(v for v in graph.input if v.name == "ganedge_z_inner"))
    current = INPUT_Z
    if z_rank == 4:
        nodes.append(helper.make_node("Unsqueeze", [current, "ganedge_axes_23"], ["ganedge_z_4d"], name="ganedge_z_4d"))
        graph.initializer.append(onnx.numpy_helper.from_array(np.array([2, 3], np.int64), "ganedge_axes_23"))
        current = "ganedge_z_4d"
    nodes.append(helper.make_node("Cast", [current], ["ganedge_z_inner"], to=z_type, name="ganedge_z_cast"))
    graph.input.insert(0, helper.make_tensor_value_info(INPUT_Z, _FLOAT, [batch_dim, latent_dim]))
    if label is not None:
        label_type = label.type.tensor_type.elem_type
        _rename(graph, label.name, "ganedge_label_inner")
        graph.input.remove(next(v for v in graph.input if v.name == "ganedge_label_inner"))
        nodes.append(helper.make_node("Cast", [INPUT_LABEL], ["ganedge_label_inner"], to=label_type, name="ganedge_label_cast"))
        graph.input.insert(1, helper.make_tensor_value_info(INPUT_LABEL, _INT64, [batch_dim]))
    out_dims = _dims(out)
    _rename(graph, out.name, "ganedge_image_inner")
    graph.output.remove(next(v for v in graph.output if v.name == "ganedge_image_inner"))
    cast_out = helper.make_node("Cast", ["ganedge_image_inner"], [OUTPUT], to=_FLOAT, name="ganedge_image_cast")
    graph.output.append(helper.make_tensor_value_info(OUTPUT, _FLOAT, [batch_dim, *out_dims[1:]]))
    new_nodes = nodes + list(graph.node) + [cast_out]
    del graph.node[:]
    graph.node.extend(new_nodes)
    return adopted


def _reference(original: Path, manifest: Manifest, settings):
    """The original file's outputs under onnxruntime on the validation seeds: the adopted variants' reference."""
    import onnx

    from ganedge.export.validate import Reference, labels_for
    from ganedge.latents import latents
    from ganedge.sdk.backends.base import run_fixed_batch
    from ganedge.sdk.backends.onnxrt.loader import create_session

    z_info, label_info, _ = check_foreign_io(onnx.load(str(original), load_external_data=False),
                                             manifest.num_classes, original.name)
    session = create_session(original).session
    z_rank, batch = len(_dims(z_info)), _dims(z_info)[0]
    z_type = np.float16 if z_info.type.tensor_type.elem_type == _FLOAT16 else np.float32
    label_type = np.int32 if label_info is not None and label_info.type.tensor_type.elem_type == _INT32 else np.int64

    def run(z, labels):  # in the original's own names, shapes and types
        feeds = {z_info.name: (z if z_rank == 2 else z[:, :, None, None]).astype(z_type)}
        if label_info is not None:
            feeds[label_info.name] = labels.astype(label_type)
        return np.asarray(session.run(None, feeds)[0], dtype=np.float32)

    ref = Reference(seeds=[], z=[], labels=[], images=[], output_range=manifest.output_range,
                    against=f"the original {original.name}")
    for seeds in settings.validation_seeds():
        z = latents(seeds, manifest.latent_dim)
        labels = labels_for(seeds, manifest.num_classes)
        ref.seeds.append(list(seeds))
        ref.z.append(z)
        ref.labels.append(labels)
        ref.images.append(run_fixed_batch(run, z, labels, batch) if isinstance(batch, int) and batch > 0
                          else run(z, labels))
    return ref


def adopt_onnx(path: str | os.PathLike, output, options, log=lambda _: None, *, latent_dim: int | None = None,
               num_classes: int = 0, output_range=(-1.0, 1.0)):
    """Adopt a foreign generator ONNX: the adopted fp32 file plus the requested variants, each gated."""
    from ganedge.extras import require_all

    require_all(("onnx", "onnxruntime"), "adopting an ONNX file")
    import onnx

    from ganedge.artifacts.onnx_safety import check_onnx_file
    from ganedge.export.check import check_io_contract, check_model
    from ganedge.export.pipeline import (ExportResult, check_output_path, export_variants, variant_paths,
                                         with_class_names)
    from ganedge.export.settings import FOREIGN

    started = time.perf_counter()
    path = Path(path)
    check_onnx_file(path)  # truncated, not ONNX, external data escaping its folder
    paths = variant_paths(output, options.precisions)
    for target in paths.values():
        check_output_path(target)
        if target.resolve() == path.resolve():
            raise BadInputError("-o must differ from the ONNX file being adopted")
    uint8_affine(output_range)
    model = onnx.load(str(path))  # external data (checked above to stay in its folder) is pulled in
    if read_manifest(model, path.name) is not None:
        raise BadInputError(f"{path.name} is already a ganedge export (it has a manifest); load it directly, or export "
                            "its source again to change precisions")
    z, _, out = check_foreign_io(model, num_classes, path.name)
    dim = _latent_dim(z, latent_dim, path.name)
    adopted = normalise(model, dim, num_classes, path.name)
    manifest = _manifest(path, adopted, dim, num_classes, output_range)
    for value, size in zip(adopted.graph.output[0].type.tensor_type.shape.dim[1:], manifest.image_shape):
        value.Clear()
        value.dim_value = size  # a symbolic C/H/W the probe resolved; the graph computes exactly this
    if options.class_names is not None:
        manifest = with_class_names(manifest, options.class_names)
    fixed = _dims(z)[0] if isinstance(_dims(z)[0], int) and _dims(z)[0] > 0 else None
    check_model(adopted, where=f"the adopted {path.name}")
    check_io_contract(adopted, manifest, where=f"the adopted {path.name}", fixed_batch=fixed)
    # The file keeps its own opset (variants are derived from it as it is); --opset is not a conversion.
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    result = ExportResult(source=str(path), manifest=manifest, opset=opset, weights="from the file",
                          validated=options.validate, is_run_dir=False,
                          batch="dynamic" if fixed is None else f"fixed at {fixed} (as the original file)",
                          fixed_batch=fixed)
    log(f"Adopting {path.name}: z (n, {dim}){' + label' if num_classes else ''} -> image {list(manifest.image_shape)}, "
        f"batch {result.batch}")
    reference = _reference(path, manifest, FOREIGN) if options.validate else None
    export_variants(adopted, reference, FOREIGN, options, paths, result, log, dataset_options=None)
    result.seconds = time.perf_counter() - started
    return result


def _manifest(path: Path, adopted, latent_dim: int, num_classes: int, output_range) -> Manifest:
    out = adopted.graph.output[0]
    shape = _dims(out)[1:]
    if not all(isinstance(d, int) and d > 0 for d in shape):
        shape = list(_probe_shape(adopted, latent_dim, num_classes))
    inputs, outputs = io_names(num_classes)
    return Manifest(arch=f"adopted:{path.name}", latent_dim=latent_dim, image_shape=tuple(int(d) for d in shape),
                    num_classes=num_classes, inputs=tuple(inputs), output=outputs[0],
                    output_range=tuple(float(v) for v in output_range), source_sha256=sha256_file(path))


def _probe_shape(adopted, latent_dim: int, num_classes: int) -> tuple[int, int, int]:
    """(C, H, W) found by running the graph once, for outputs whose spatial size is symbolic."""
    from ganedge.export.batching import run_onnx
    from ganedge.latents import latents
    from ganedge.sdk.backends.onnxrt.loader import create_session

    labels = np.zeros(1, np.int64) if num_classes else None
    try:
        out = run_onnx(create_session(adopted).session, latents([0], latent_dim), labels)
    except Exception as exc:
        raise ArtifactError(f"the adopted graph does not run ({' '.join(str(exc).split())[:200]})") from None
    return tuple(int(d) for d in out.shape[1:])
