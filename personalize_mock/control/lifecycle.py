"""Status machines of Personalize resources, driven by moto's state manager.

Each resource type declares its chains once (CREATE, DELETE, ...). moto's ManagedState decides
*when* a resource moves along the current chain (users configure it per model name, e.g.
`personalize::solution_version`: immediate, manual after N describes, or time). The real work of a
resource (an import, a training) runs on a worker thread and decides *how* the chain ends: a chain
never reports its last status before the work is done, and a failed work ends in the chain's
failure status with a failureReason.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timezone
from typing import Callable, ClassVar

from moto.moto_api import state_manager
from moto.moto_api._internal.managed_state_model import ManagedState

from ..settings import job_wait_seconds

GONE = "(deleted)"  # end of every delete chain: the resource is then removed from its registry

CREATE = ("CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE")
DELETE = ("DELETE PENDING", "DELETE IN_PROGRESS", GONE)


def now() -> datetime:
    return datetime.now(timezone.utc)


class JobFailure(Exception):
    """The outcome of failed work: becomes the resource's failureReason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _pairs(chain: tuple[str, ...]) -> list[tuple[str, str]]:
    return list(zip(chain, chain[1:])) or [(chain[0], chain[0])]


class Lifecycle(ManagedState):
    """A resource's status: a chain at a time, plus the work that decides its outcome."""

    KIND: ClassVar[str]  # the ARN's resource type, e.g. "solution_version" in the model name
    CHAINS: ClassVar[dict[str, tuple[str, ...]]] = {"create": CREATE, "delete": DELETE}
    FAILED: ClassVar[dict[str, str]] = {"create": "CREATE FAILED"}

    @classmethod
    def model_name(cls) -> str:
        return f"personalize::{cls.KIND}"

    def __init__(self) -> None:
        super().__init__(self.model_name(), _pairs(self.CHAINS["create"]))
        self.created = self.updated = now()
        self.failure_reason: str | None = None
        self._phase = "create"
        self._work: Future | None = None
        self._observed = self._status

    def enter(self, phase: str) -> None:
        """Start another chain (delete, update, stop, ...) from its first status."""
        chain = self.CHAINS[phase]
        self._transitions = _pairs(chain)
        self._phase, self._status, self._tick = phase, chain[0], 0
        self._time_progressed = datetime.now()
        self._work = None
        self._touch(chain[0])

    def run(self, executor: ThreadPoolExecutor, work: Callable[[], None]) -> None:
        """Do the work of the current chain off the request path."""
        self._work = executor.submit(work)

    @property
    def phase(self) -> str:
        return self._phase

    @property
    def status(self) -> str:
        status = ManagedState.status.fget(self)
        chain = self.CHAINS[self._phase]
        if self._work is not None and status == chain[-1]:
            status = self._settle(chain)
        self._touch(status)
        return status

    @status.setter
    def status(self, value: str) -> None:
        self._status = value
        self._touch(value)

    def _settle(self, chain: tuple[str, ...]) -> str:
        try:
            self._work.result(timeout=job_wait_seconds())
        except FutureTimeout:
            self._status = chain[-2] if len(chain) > 1 else chain[0]
            return self._status
        except JobFailure as failure:
            self._fail(failure.reason)
        except Exception as exc:  # a defect in the work: the resource fails, the service stays up
            self._fail(f"Internal error: {type(exc).__name__}: {exc}")
        self._work = None
        return self._status

    def _fail(self, reason: str) -> None:
        self.failure_reason = reason
        self._status = self.FAILED.get(self._phase, self._status)

    def _touch(self, status: str) -> None:
        if status != self._observed:
            self._observed = status
            self.updated = now()

    @property
    def is_gone(self) -> bool:
        return self.status == GONE

    @property
    def work_pending(self) -> bool:
        return self._work is not None and not self._work.done()


def register_default_transitions(kinds: list[str]) -> None:
    """Make every Personalize model visible to the state manager (moto's default: immediate)."""
    for kind in kinds:
        state_manager.register_default_transition(f"personalize::{kind}", transition={"progression": "immediate"})
