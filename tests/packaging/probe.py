"""Run by an install's own python: import every module of the installed ganedge, print what each did.

Prints one JSON object, module name -> "ok", "needs EXTRA" (a ModuleNotFoundError of an optional
package: the module needs that extra at import time) or "error: ..." (anything else: a bug, or a
file the wheel lacks). ``__main__`` is left out: importing it runs the CLI.
"""

import importlib
import json
import pkgutil
import sys


def outcome(exc: BaseException) -> str:
    from ganedge.extras import provider_of

    name = getattr(exc, "name", None) or ""
    provider = provider_of(name) if isinstance(exc, ModuleNotFoundError) else None
    return f"needs {provider.extra}" if provider else f"error: {type(exc).__name__}: {exc}"


def main() -> None:
    import ganedge

    results: dict[str, str] = {}

    def failed(name: str) -> None:  # a package whose __init__ failed while walking
        results[name] = outcome(sys.exc_info()[1])

    names = [m.name for m in pkgutil.walk_packages(ganedge.__path__, "ganedge.", onerror=failed)]
    for name in ["ganedge", *names]:
        if name.endswith("__main__") or name in results:
            continue
        try:
            importlib.import_module(name)
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001  (reported, the caller decides)
            results[name] = outcome(exc)
    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
