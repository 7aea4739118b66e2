"""Step Functions without EC2: moto's Batch package is loaded only when Batch itself is used.

moto 5.2.5's Step Functions interpreter imports one constant (``JobStatus``) from
``moto.batch.utils`` for its Batch task integration. Importing that submodule runs
``moto/batch/__init__.py``, which imports Batch's models and, through them, all of moto's EC2
models: close to a second of start-up (EC2 builds its region and zone tables) in every process
that runs a state machine, though no lesson calls Batch or EC2.

This change registers ``moto.batch`` as a package whose ``__init__`` runs on first use: its
submodules (``moto.batch.utils``) import as usual, and the first look-up of anything else on the
package (``batch_backends``, which moto asks for when a Batch request arrives) runs the real
``__init__`` and answers from it. Nothing changes for a Batch or EC2 call, only when it is paid.
``tests/test_lean_imports.py`` checks both sides in fresh processes. When the registry lets go,
``moto.batch`` goes back to what it was: absent if nothing loaded it, a plain module if something
did.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

from labkit.moto_patches.registry import Custom, Row, Undo

__all__ = ["ROWS"]

_PACKAGE = "moto.batch"
_LOCK = threading.Lock()


class _DeferredPackage(ModuleType):
    """A package whose ``__init__`` runs when something other than a submodule is asked for."""

    _labkit_loaded = False

    def __getattr__(self, name: str) -> Any:
        # only reached when normal look-up fails: submodules already imported are attributes
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        _load(self)
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None


def _load(module: _DeferredPackage) -> None:
    with _LOCK:
        if module._labkit_loaded:
            return
        module._labkit_loaded = True
        spec = module.__spec__
        assert spec is not None and spec.loader is not None
        spec.loader.exec_module(module)


def _defer() -> Undo:
    """Register ``moto.batch`` as a deferred package; the undo takes it away unless loaded."""
    if _PACKAGE in sys.modules:
        return lambda: None
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or spec.loader is None:
        return lambda: None
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _DeferredPackage
    sys.modules[_PACKAGE] = module
    import moto

    moto.batch = module  # type: ignore[attr-defined]

    def undo() -> None:
        with _LOCK:
            if module._labkit_loaded:  # type: ignore[attr-defined]
                module.__class__ = ModuleType  # Batch was used: keep the real package
                return
            if sys.modules.get(_PACKAGE) is module:
                del sys.modules[_PACKAGE]
            if vars(moto).get("batch") is module:
                del moto.batch  # type: ignore[attr-defined]

    return undo


ROWS: list[Row] = [Custom(_defer)]
