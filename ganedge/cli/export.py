"""``ganedge export {onnx,trt,triton}``: each target's module is imported only when it runs."""

from __future__ import annotations

import click

from ganedge.cli.main import LazyGroup

TARGETS = {
    "onnx": ("ganedge.cli.export_onnx:onnx_cmd", "Export G to ONNX (fp32/fp16/int8), validated against PyTorch."),
    "trt": ("ganedge.cli.export_trt:trt_cmd", "Build a TensorRT engine from an ONNX file."),
    "triton": ("ganedge.cli.export_triton:triton_cmd", "Write a Triton Inference Server model repository."),
    "web": ("ganedge.cli.export_web:web_cmd", "Write a static web page that samples the model in the browser."),
}


@click.group(cls=LazyGroup, lazy_commands=TARGETS)
def export() -> None:
    """Export a trained generator for deployment.

    \b
    Examples:
      ganedge export onnx runs/scenes -o model.onnx
      ganedge export onnx runs/scenes -o model-int8.onnx --precision int8
      ganedge export trt model.onnx -o model.engine --batch 1:16:64
      ganedge export triton model.onnx -o model_repository
      ganedge export web model.onnx -o site
    """
