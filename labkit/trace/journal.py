"""The journal: every traced call and hop in one numbering, the ids a message goes by, and what
went wrong inside the tracer."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

from labkit.trace.records import Call, Evidence, Hop, HopKind, Via
from labkit.trace.state import Records

__all__ = ["Journal"]


class Journal:
    """Appends calls and hops to `records` (under `lock`), stamped with `now()`."""

    def __init__(self, records: Records, now: Callable[[], float], lock: threading.RLock) -> None:
        self._records = records
        self._now = now
        self._lock = lock

    @property
    def calls(self) -> tuple[Call, ...]:
        """Every call, oldest first."""
        with self._lock:
            return tuple(self._records.calls)

    @property
    def hops(self) -> tuple[Hop, ...]:
        """Every hop, oldest first."""
        with self._lock:
            return tuple(self._records.hops)

    @property
    def aliases(self) -> dict[str, str]:
        """Derived id -> the id the message was first known by."""
        with self._lock:
            return dict(self._records.aliases)

    @property
    def errors(self) -> tuple[str, ...]:
        """What went wrong inside the tracer."""
        return tuple(self._records.errors)

    def failed(self, where: str, error: BaseException, *, once: bool = False) -> None:
        """Note an error the tracer caught (`once`: unless the same was noted before)."""
        note = f"{where}: {error!r}"
        errors = self._records.errors
        if not (once and note in errors):
            errors.append(note)

    def call(
        self,
        service: str,
        operation: str,
        resource: str,
        ids: tuple[str, ...],
        error_code: str | None,
        caller: str,
    ) -> None:
        """Record one API call (`error_code` None: it succeeded)."""
        with self._lock:
            records = self._records
            records.seq += 1
            records.calls.append(
                Call(
                    records.seq,
                    self._now(),
                    service,
                    operation,
                    resource,
                    ids,
                    error_code is None,
                    error_code or "",
                    caller,
                )
            )

    def hop(
        self,
        source: str,
        target: str,
        message_id: str,
        kind: HopKind,
        *,
        evidence: Evidence,
        via: Via = "aws",
        detail: str = "",
        labels: tuple[tuple[str, str], ...] = (),
        time: float | None = None,
    ) -> Hop:
        """Record one hop (at `time`, else now).

        A refused or failed delivery takes the place of the delivery inferred for it: the
        wiring said it would happen, the service said it did not.
        """
        with self._lock:
            records = self._records
            at = None
            if kind in ("refused", "retried", "failed"):
                at = records.hop_at.get(("delivered", source, target, message_id))
                if at is not None and records.hops[at].evidence != "inferred":
                    at = None
            if at is not None:
                replaced = records.hops[at]
                del records.hop_at[("delivered", source, target, message_id)]
                hop = dataclasses.replace(
                    replaced, kind=kind, evidence=evidence, via=via, detail=detail, labels=labels
                )
                records.hop_at[(kind, source, target, message_id)] = at
                records.hops[at] = hop
                return hop
            records.seq += 1
            hop = Hop(
                records.seq,
                self._now() if time is None else time,
                source,
                target,
                message_id,
                kind,
                evidence,
                via,
                detail,
                labels,
            )
            records.hop_at[(kind, source, target, message_id)] = len(records.hops)
            records.hops.append(hop)
            return hop

    def confirm(self, kind: str, source: str, target: str, message_id: str) -> bool:
        """Mark an inferred hop observed; False when there was none to confirm."""
        with self._lock:
            records = self._records
            at = records.hop_at.get((kind, source, target, message_id))
            if at is None:
                return False
            hop = records.hops[at]
            if hop.evidence != "observed":
                records.hops[at] = dataclasses.replace(hop, evidence="observed")
            return True

    def last_source(self, message_id: str, target: str) -> str:
        """Where the latest delivery of `message_id` to `target` came from ("" if none)."""
        with self._lock:
            for hop in reversed(self._records.hops):
                if (
                    hop.message_id == message_id
                    and hop.target == target
                    and hop.kind == "delivered"
                ):
                    return hop.source
        return ""

    def origin(self, message_id: str) -> str:
        """The id of the first message a derived id (an SQS copy, a task's message) came from."""
        return self._records.aliases.get(message_id, message_id)

    def link(self, derived_id: str, origin_id: str) -> None:
        """Declare that `derived_id` carries the message first known as `origin_id`."""
        if derived_id and derived_id != origin_id:
            self._records.aliases[derived_id] = self.origin(origin_id)
