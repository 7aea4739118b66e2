"""What the runtime did: each invocation, each run's result, and the ledger that keeps them."""

from __future__ import annotations

import itertools
import random
import uuid
from collections import Counter
from dataclasses import dataclass

from labkit.errors import LabError
from labkit.local.functions.events import Outcome, Trigger

__all__ = ["Invocation", "Ledger", "RunResult"]


@dataclass(frozen=True)
class Invocation:
    """One run of a handler: when, on what, and how it ended."""

    seq: int
    function: str
    request_id: str
    time: float  # lab seconds when it started
    duration: float  # simulated seconds it took
    trigger: Trigger
    source: str  # queue, topic or rule ARN ("" for a direct invoke)
    message_ids: tuple[str, ...]
    outcome: Outcome
    failed_ids: tuple[str, ...] = ()
    error: str = ""
    attempt: int = 1  # async invocations: 1, then the retries


@dataclass(frozen=True)
class RunResult:
    """What happened during one ``run`` / ``run_until_idle``.

    ``processed``: messages or events a handler finished successfully; ``failed``: failed
    attempts (a message failing twice counts twice); ``retried``: attempts that were a retry;
    ``dead_lettered``: messages that used their last receive (their queue moves them to its
    dead-letter queue) or async events sent to a function's dead-letter queue; ``discarded``:
    async events dropped after their last retry (no dead-letter queue).
    """

    started: float
    ended: float
    invocations: tuple[Invocation, ...]
    dead_lettered: tuple[str, ...] = ()
    discarded: tuple[str, ...] = ()
    retried: int = 0
    idle: bool = True

    @property
    def processed(self) -> int:
        return sum(len(i.message_ids) - len(i.failed_ids) for i in self.invocations)

    @property
    def failed(self) -> int:
        return sum(len(i.failed_ids) for i in self.invocations)

    def by_function(self) -> dict[str, dict[str, int]]:
        """Counts per function: invocations, processed, failed, timeouts."""
        out: dict[str, dict[str, int]] = {}
        for inv in self.invocations:
            row = out.setdefault(
                inv.function, {"invocations": 0, "processed": 0, "failed": 0, "timeouts": 0}
            )
            row["invocations"] += 1
            row["processed"] += len(inv.message_ids) - len(inv.failed_ids)
            row["failed"] += len(inv.failed_ids)
            row["timeouts"] += inv.outcome == "timeout"
        return out

    def per_interval(self, seconds: float = 1.0) -> list[tuple[float, int, int]]:
        """``(interval start, processed, failed)`` for each interval of lab time in the run."""
        if seconds <= 0:
            raise LabError("an interval longer than 0 s", repr(seconds), "use e.g. seconds=1")
        ok: Counter[int] = Counter()
        bad: Counter[int] = Counter()
        for inv in self.invocations:
            slot = int((inv.time - self.started) // seconds)
            ok[slot] += len(inv.message_ids) - len(inv.failed_ids)
            bad[slot] += len(inv.failed_ids)
        slots = int(max(self.ended - self.started, 0) // seconds) + 1
        return [(round(self.started + k * seconds, 6), ok[k], bad[k]) for k in range(slots)]

    def summary(self) -> dict[str, float | int]:
        """The run in one dict (for a table or a check)."""
        return {
            "seconds": round(self.ended - self.started, 6),
            "invocations": len(self.invocations),
            "processed": self.processed,
            "failed": self.failed,
            "retried": self.retried,
            "dead_lettered": len(self.dead_lettered),
            "discarded": len(self.discarded),
        }

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={v}" for k, v in self.summary().items())
        return f"RunResult({parts})"


#: Where a run started in the ledger: invocations, dead letters, discards, retries so far.
Mark = tuple[int, int, int, int]


class Ledger:
    """A runtime's record: invocations in order, dead letters, discards, retries, and the ids.

    Request ids and mapping UUIDs come from one generator seeded with the lab's seed, so a run
    repeats them; invocation numbers share one counter with the agenda's order of what finishes
    later, so both follow the order things happened in.

    >>> ledger = Ledger(seed=0)
    >>> ledger.next_seq(), ledger.next_seq(), ledger.new_id() == Ledger(seed=0).new_id()
    (1, 2, True)
    """

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self.clear()

    def clear(self) -> None:
        """Forget everything, and start the ids and numbers again."""
        self._invocations: list[Invocation] = []
        self._seq = itertools.count(1)
        self._ids = random.Random(self._seed)
        self._dead_lettered: list[str] = []
        self._discarded: list[str] = []
        self._retried = 0

    @property
    def invocations(self) -> tuple[Invocation, ...]:
        return tuple(self._invocations)

    def next_seq(self) -> int:
        return next(self._seq)

    def new_id(self) -> str:
        """A request id or mapping UUID: a version 4 UUID from the seeded generator."""
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def keep(self, invocation: Invocation) -> None:
        """Add one invocation, numbered with `next_seq` when it ended."""
        self._invocations.append(invocation)

    def invoked_since(self, first: int) -> list[Invocation]:
        """The invocations from number `first` on (0-based, as `len` counted them)."""
        return self._invocations[first:]

    def __len__(self) -> int:
        return len(self._invocations)

    def count_retry(self) -> None:
        self._retried += 1

    def dead_lettered(self, message_id: str) -> None:
        self._dead_lettered.append(message_id)

    def discarded(self, message_id: str) -> None:
        self._discarded.append(message_id)

    def mark(self) -> Mark:
        """Where a run starts, for `since`."""
        return (
            len(self._invocations),
            len(self._dead_lettered),
            len(self._discarded),
            self._retried,
        )

    def since(self, mark: Mark, *, started: float, ended: float, idle: bool) -> RunResult:
        """What happened after `mark`, as one run's result."""
        invocations, dead, discarded, retried = mark
        return RunResult(
            started=started,
            ended=ended,
            invocations=tuple(self._invocations[invocations:]),
            dead_lettered=tuple(self._dead_lettered[dead:]),
            discarded=tuple(self._discarded[discarded:]),
            retried=self._retried - retried,
            idle=idle,
        )
