"""vastjob: declarative GPU jobs on Vast.ai.

The public API is loaded lazily so that importing the package (and starting the CLI) stays cheap:
`load_job(path, overrides=...)` reads and validates a spec (`load_sweep`, one with `matrix:` and its runs);
`compile_job(job)` compiles it once (graph, script, bootstrap); `render_script(job)`,
`render_bootstrap(job)` and `build_graph(job)` give one part each.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_job": "vastjob.spec.load",
    "load_sweep": "vastjob.spec.load",
    "JobSpec": "vastjob.spec.model",
    "compile_job": "vastjob.compile",
    "render_script": "vastjob.compile",
    "render_bootstrap": "vastjob.compile",
    "build_graph": "vastjob.compile",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vastjob' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
