"""``ganedge export web``: a static site that samples a ganedge ONNX export in the browser.

The JavaScript lives in ``assets/`` (shipped with the package); the onnxruntime-web runtime comes
from the npm package pinned by ``package.json`` / ``package-lock.json`` here (see runtime.py).
"""

from ganedge.export.web.runtime import OrtWeb, find_ort_web
from ganedge.export.web.site import SiteResult, WebOptions, build_site, read_web_model

__all__ = ["OrtWeb", "SiteResult", "WebOptions", "build_site", "find_ort_web", "read_web_model"]
