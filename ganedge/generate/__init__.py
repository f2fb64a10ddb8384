"""ganedge.generate — bulk generation as a resumable plan of shards, on local processes or Ray.

    from ganedge.generate import GenerateOptions, generate
    report = generate(GenerateOptions(model=Path("model.onnx"), out=Path("out"), count=100_000))

``ganedge generate`` is the command-line face of :func:`generate`; ``docs/generate.md`` gives
the formats, the plan and resume rules and Ray usage. Sits above ``ganedge.sdk``: it loads
models through the SDK only (an ONNX file never imports torch).
"""

from ganedge.generate.job import GenerateOptions, generate
from ganedge.generate.labels import LabelPlan
from ganedge.generate.plan import FORMATS, INDEX_FILE, PLAN_FILE, Plan, Shard

__all__ = ["FORMATS", "INDEX_FILE", "PLAN_FILE", "GenerateOptions", "LabelPlan", "Plan", "Shard", "generate"]
