"""``python -m memprof_docling.check``: is this Python one the driver can run in?

Prints one JSON object on stdout: ``{"ok": true, "versions": {...}}`` with the versions of
Python, docling, docling-jobkit and the packages whose memory matters, or ``{"ok": false,
"missing": [...], "message": "..."}`` naming what cannot be imported. The Rust parent runs it
before the first job (``--python``) and records the versions in ``run.json``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import platform
import sys
from typing import Any

REQUIRED = {
    "docling_jobkit.orchestrators.rq.worker": "docling-jobkit",
    "docling_jobkit.convert.manager": "docling-jobkit",
    "docling.document_converter": "docling",
}
VERSIONED = ["docling-slim", "docling", "docling-jobkit", "docling-core", "docling-ibm-models",
             "docling-parse", "torch", "transformers", "rq", "objgraph"]


def versions() -> dict[str, str]:
    """Installed distribution versions (the ones not installed are left out)."""
    out = {"python": platform.python_version(), "python_executable": sys.executable}
    for name in VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def check() -> dict[str, Any]:
    missing: list[str] = []
    errors: list[str] = []
    for module, package in REQUIRED.items():
        try:
            importlib.import_module(module)
        except Exception as e:  # an import error deep inside (torch missing) counts too
            if package not in missing:
                missing.append(package)
            errors.append(f"import {module}: {type(e).__name__}: {e}")
    if missing:
        return {"ok": False, "missing": missing, "message": "; ".join(errors)}
    return {"ok": True, "versions": versions()}


if __name__ == "__main__":
    result = check()
    sys.stdout.write(json.dumps(result) + "\n")
    sys.exit(0 if result["ok"] else 1)
