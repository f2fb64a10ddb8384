"""TensorRT engines: build (``build_engine``), profile parsing, precision routing, the sidecar.

Importing this package never imports tensorrt, torch or onnx; ``build_engine`` does when called.
"""

from ganedge.export.trt.builder import BuildOptions, BuildResult, build_engine
from ganedge.export.trt.precision import BuildFlags, route_precision
from ganedge.artifacts.trt_profile import DEFAULT_PROFILE, BatchProfile, parse_profile
from ganedge.artifacts.trt_sidecar import (CompatReport, PresentFacts, check_compat, read_sidecar,
                                        require_compatible)

__all__ = ["BuildOptions", "BuildResult", "build_engine", "BuildFlags", "route_precision", "DEFAULT_PROFILE",
           "BatchProfile", "parse_profile", "CompatReport", "PresentFacts", "check_compat", "read_sidecar",
           "require_compatible"]
