"""Job specs: YAML with positions, `extends` and `--set`, schema and rule validation, the typed model.

Names load lazily, so that importing `vastjob.spec.model` alone stays cheap for commands needing only it.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "load_job": "vastjob.spec.load",
    "check_file": "vastjob.spec.load",
    "JobSpec": "vastjob.spec.model",
    "parse_duration": "vastjob.spec.model",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vastjob.spec' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
