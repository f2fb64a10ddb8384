"""A conditional ONNX generator whose class input is float class weights (n, K), built by hand.

ganedge's own exports embed an int64 label inside the graph; generators trained elsewhere may take a
one-hot (or any weighting of classes) instead, which is what lets the SDK blend between classes.
image = reshape(tanh(concat(z, weights) @ W), (n, 3, 4, 4)), with W fixed and large enough that the
uint8 images vary and saturate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ganedge.artifacts.manifest import ONNX_METADATA_KEY, Manifest

LATENT, CLASSES, SHAPE = 8, 3, (3, 4, 4)
CLASS_NAMES = ("cat", "dog", "owl")


def build_onehot_onnx(folder: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    width = int(np.prod(SHAPE))
    weights = np.random.default_rng(0).normal(0.0, 1.5, (LATENT + CLASSES, width)).astype(np.float32)
    nodes = [
        helper.make_node("Concat", ["z", "label"], ["zc"], axis=1),  # (N, LATENT + CLASSES)
        helper.make_node("MatMul", ["zc", "W"], ["h"]),
        helper.make_node("Tanh", ["h"], ["t"]),
        helper.make_node("Reshape", ["t", "shape"], ["image"]),
    ]
    inits = [helper.make_tensor("W", TensorProto.FLOAT, list(weights.shape), weights.ravel().tolist()),
             helper.make_tensor("shape", TensorProto.INT64, [4], [-1, *SHAPE])]
    graph = helper.make_graph(nodes, "onehot", [
        helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", LATENT]),
        helper.make_tensor_value_info("label", TensorProto.FLOAT, ["batch", CLASSES]),
    ], [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", *SHAPE])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    manifest = Manifest(arch="test-onehot", latent_dim=LATENT, image_shape=SHAPE, num_classes=CLASSES,
                        class_names=CLASS_NAMES, inputs=("z", "label"))
    entry = model.metadata_props.add()
    entry.key, entry.value = ONNX_METADATA_KEY, manifest.to_json()
    path = folder / "onehot.onnx"
    onnx.save(model, str(path))
    return path
