"""The machinery behind labkit's one registry of changes to moto.

A :class:`Change` says what it replaces in moto (its rows), the AWS behaviour it follows (with
the documentation page), and the moto version it was written for. :class:`Registry` applies a
sequence of changes while at least one holder needs them (a lab, a labkit server) and reverts
them when the last holder lets go, like freezegun's ``start()`` / ``stop()``: every replaced
attribute is put back, so outside a lab moto is stock.

A change is applied when its moto module is imported: a lab that only uses SQS never imports
(or pays for) moto's Step Functions interpreter. Changes on the same module are applied in
registry order, so a wrapper listed later wraps the ones listed before it.

>>> import types
>>> owner = types.SimpleNamespace(greet=lambda: "hello")
>>> change = Change("shout", "labkit.moto_patches.registry", "doc example", "",
...                 [Wrap(owner, "greet", lambda f: lambda: f().upper())], moto="")
>>> registry = Registry([change])
>>> with registry.active():
...     owner.greet()
'HELLO'
>>> owner.greet()
'hello'
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol

__all__ = ["Change", "Custom", "Registry", "Replace", "Row", "Undo", "Wrap"]

Undo = Callable[[], None]
# stands for "the owner had no attribute of its own by that name" in an undo record
_ABSENT = object()


class Row(Protocol):
    """One replacement inside a change; applying it (in the change's module) returns its undo."""

    def apply(self, module: ModuleType) -> Undo: ...


Owner = Any  # a class or module, or where to find one: "Class.Inner" in the change's module,
# "" for the module itself, "moto.sqs.responses:SQSResponse" in another module


def _owner(owner: Owner, module: ModuleType) -> Any:
    if not isinstance(owner, str):
        return owner
    where, _, path = owner.rpartition(":")
    found: Any = importlib.import_module(where) if where else module
    for name in filter(None, path.split(".")):
        found = getattr(found, name)
    return found


def _set(owner: Any, name: str, value: Any) -> Undo:
    previous = vars(owner).get(name, _ABSENT)
    setattr(owner, name, value)

    def undo() -> None:
        if previous is _ABSENT:
            delattr(owner, name)
        else:
            setattr(owner, name, previous)

    return undo


@dataclass(frozen=True)
class Replace:
    """``owner.name = value`` (a function, a property, a constant)."""

    owner: Owner
    name: str
    value: Any

    def apply(self, module: ModuleType) -> Undo:
        return _set(_owner(self.owner, module), self.name, self.value)


@dataclass(frozen=True)
class Wrap:
    """``owner.name = wrapper(owner.name)``: wraps whatever is there now (moto's, or a change
    listed before this one)."""

    owner: Owner
    name: str
    wrapper: Callable[[Any], Any]

    def apply(self, module: ModuleType) -> Undo:
        owner = _owner(self.owner, module)
        return _set(owner, self.name, self.wrapper(getattr(owner, self.name)))


@dataclass(frozen=True)
class Custom:
    """A change that is not an attribute (a module entry): `run` applies it, returns its undo."""

    run: Callable[[], Undo]

    def apply(self, module: ModuleType) -> Undo:
        return self.run()


@dataclass(frozen=True)
class Change:
    """One change to moto.

    ``module``: the moto module that must be imported before the change can apply (it is applied
    the moment that module is imported). ``follows``: the AWS behaviour it gives moto, or the
    cost it removes. ``doc``: the AWS documentation page that says so ("" for a change that only
    makes moto faster or quieter and changes nothing a client sees). ``rows``: the replacements,
    or a function that builds them (called when the change applies). ``moto``: the
    version it was written and tested for; on another version it warns and stays off.
    """

    name: str
    module: str
    follows: str
    doc: str
    rows: Sequence[Row] | Callable[[], Sequence[Row]] = field(repr=False)
    moto: str = "5.2.5"


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs the registry's pending changes for a module right after the module is imported."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in self.registry._waiting:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        loader = spec.loader
        execute = loader.exec_module
        registry = self.registry

        def exec_module(module: ModuleType) -> None:
            execute(module)
            registry._imported(fullname)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


class Registry:
    """An ordered set of changes, applied while held and reverted when the last holder lets go."""

    def __init__(self, changes: Sequence[Change]) -> None:
        names = [c.name for c in changes]
        if len(set(names)) != len(names):
            raise ValueError(f"change names must be unique: {names}")
        self.changes = tuple(changes)
        self._lock = threading.RLock()
        self._holders = 0
        self._undo: list[tuple[str, Undo]] = []
        self._waiting: dict[str, list[Change]] = {}
        self._finder: _AfterImport | None = None
        self._only: frozenset[str] | None = None
        self._warned: set[str] = set()

    # -- holding -----------------------------------------------------------------------------
    def acquire(self) -> None:
        """Hold the changes: the first holder applies them (idempotent per holder count)."""
        with self._lock:
            self._holders += 1
            if self._holders == 1:
                self._apply_all()

    def release(self) -> None:
        """Let go; the last holder reverts every change, in reverse order."""
        with self._lock:
            if self._holders == 0:
                return
            self._holders -= 1
            if self._holders == 0:
                self._revert_all()

    @contextmanager
    def active(self) -> Iterator[None]:
        """Hold the changes for a block (a server's lifetime, a test)."""
        self.acquire()
        try:
            yield
        finally:
            self.release()

    @contextmanager
    def only(self, *names: str) -> Iterator[None]:
        """Within the block, apply just the named changes (stock moto when none is named);
        whatever was in force before comes back afterwards."""
        unknown = set(names) - {c.name for c in self.changes}
        if unknown:
            raise ValueError(f"no such change: {sorted(unknown)}")
        with self._lock:
            previous = self._only
            in_force = self._holders > 0 or previous is not None
            self._revert_all()
            self._only = frozenset(names)
            self._apply_all()
            try:
                yield
            finally:
                self._revert_all()
                self._only = previous
                if in_force:
                    self._apply_all()

    def stock(self) -> AbstractContextManager[None]:
        """Within the block, moto runs without any change."""
        return self.only()

    # -- looking -----------------------------------------------------------------------------
    @property
    def applied(self) -> tuple[str, ...]:
        """The names of the changes in force now, in the order they were applied."""
        with self._lock:
            return tuple(dict.fromkeys(name for name, _ in self._undo))

    @property
    def holders(self) -> int:
        return self._holders

    def pending(self) -> tuple[str, ...]:
        """Changes waiting for their moto module to be imported."""
        with self._lock:
            return tuple(c.name for waiting in self._waiting.values() for c in waiting)

    # -- inside ------------------------------------------------------------------------------
    def _selected(self) -> list[Change]:
        return [c for c in self.changes if self._only is None or c.name in self._only]

    def _apply_all(self) -> None:
        for change in self._selected():
            if change.module in sys.modules:
                self._apply(change)
            else:
                self._waiting.setdefault(change.module, []).append(change)
        if self._waiting and self._finder is None:
            self._finder = _AfterImport(self)
            sys.meta_path.insert(0, self._finder)

    def _imported(self, module: str) -> None:
        with self._lock:
            for change in self._waiting.pop(module, []):
                self._apply(change)

    def _apply(self, change: Change) -> None:
        if change.moto:
            import moto

            if moto.__version__ != change.moto:
                if change.name not in self._warned:
                    self._warned.add(change.name)
                    warnings.warn(
                        f"labkit's moto change {change.name!r} was written for moto "
                        f"{change.moto}, found moto {moto.__version__}: left off, so moto "
                        f"keeps its own behaviour here ({change.follows}). Install "
                        f"moto=={change.moto} (the workbook's pin) to get it back.",
                        RuntimeWarning,
                        stacklevel=4,
                    )
                return
        module = importlib.import_module(change.module)
        rows = change.rows() if callable(change.rows) else change.rows
        for row in rows:
            self._undo.append((change.name, row.apply(module)))

    def _revert_all(self) -> None:
        if self._finder is not None:
            sys.meta_path.remove(self._finder)
            self._finder = None
        self._waiting.clear()
        while self._undo:
            _, undo = self._undo.pop()
            undo()
