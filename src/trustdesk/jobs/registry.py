"""Job kinds: a typed payload and the handler that does the work, registered where the work lives.

The worker knows job kinds only through this registry, so it imports no feature module, and
a feature module imports only this one to offer work to the worker. The modules that register
kinds are listed in `JOB_MODULES` and imported when a worker starts (`Registry.load`).

To add a job kind, in the module that owns the work:

    @dataclass(frozen=True)
    class LiftSuspension:                     # the payload: fields that JSON can carry
        action_id: int

    @job_kind("lift_suspension", LiftSuspension)
    def lift_suspension(ctx: WorkerContext, job: LiftSuspension) -> None:
        ...

then enqueue it with `trustdesk.jobs.queue.enqueue(session, LiftSuspension(action_id=7))`. A
module that registers its first kind goes into `JOB_MODULES` (registering from a module not
listed there fails at import, so no worker can miss a kind). A recurring job passes
`every=timedelta(...)`, has a payload without fields, and exists once: the worker schedules it
at start and again `every` after each run, whether the run succeeded or failed. With
`copies=N` a recurring kind exists N times (singleton keys `name`, `name#2`, …), so up to N
workers run it at once: for work that shares a table between workers, such as the outbox. A
lease can run out while a handler is still working, so handlers must be safe to run twice;
raise to fail. A kind whose work leaves a record waiting on the job passes `given_up=handler`:
it is called once the job has failed for good (its last attempt raised, or its worker died on
it), to put that record where staff can act on it.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter

from trustdesk.config import Settings
from trustdesk.store.blobs import BlobStore
from trustdesk.store.database import Database

JOB_MODULES = (
    "trustdesk.analysis.runs",
    "trustdesk.cases.sla",
    "trustdesk.delivery.sender",
    "trustdesk.dsa.submission",
    "trustdesk.enforcement.bulk",
    "trustdesk.enforcement.suspensions",
    "trustdesk.ingest.media_fetch",
    "trustdesk.ncmec.reports",
    "trustdesk.notices.mail",
    "trustdesk.privacy.retention",
    "trustdesk.rules.verdicts",
)

P = TypeVar("P")


@dataclass(frozen=True)
class WorkerContext:
    """What a handler may use; handlers get everything through here, never from globals."""

    db: Database
    settings: Settings
    blobs: BlobStore


Handler = Callable[[WorkerContext, P], None]


@dataclass(frozen=True)
class JobKind(Generic[P]):
    name: str
    payload_type: type[P]
    handler: Handler[P]
    every: timedelta | None = None
    copies: int = 1
    given_up: Handler[P] | None = None
    _adapter: TypeAdapter[P] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_adapter", TypeAdapter(self.payload_type))

    @property
    def singleton_keys(self) -> tuple[str, ...]:
        """The keys of a recurring kind's scheduled runs: its name, then `name#2` … for more copies."""
        return (self.name, *(f"{self.name}#{n}" for n in range(2, self.copies + 1)))

    def encode(self, payload: P) -> dict[str, Any]:
        return self._adapter.dump_python(payload, mode="json")  # type: ignore[no-any-return]

    def run(self, ctx: WorkerContext, stored: dict[str, Any]) -> None:
        """Check the stored payload against its type, then hand it to the handler."""
        self.handler(ctx, self._adapter.validate_python(stored))

    def give_up(self, ctx: WorkerContext, stored: dict[str, Any]) -> None:
        """Tell the kind's `given_up` handler, if it has one, that the job failed for good."""
        if self.given_up is not None:
            self.given_up(ctx, self._adapter.validate_python(stored))


class RegistrationError(RuntimeError):
    pass


class Registry:
    def __init__(self, modules: tuple[str, ...]) -> None:
        self.modules = modules
        self._by_name: dict[str, JobKind[Any]] = {}
        self._by_payload: dict[type, JobKind[Any]] = {}

    def job_kind(
        self, name: str, payload: type[P], *, every: timedelta | None = None, copies: int = 1,
        given_up: Handler[P] | None = None,
    ) -> Callable[[Handler[P]], Handler[P]]:
        """Register the decorated function as the handler of `name`, whose payloads are `payload`."""

        def register(handler: Handler[P]) -> Handler[P]:
            if handler.__module__ not in self.modules:
                raise RegistrationError(f"job kind {name!r}: add {handler.__module__!r} to the registry's modules")
            if every is not None and dataclasses.fields(payload):  # type: ignore[arg-type]
                raise RegistrationError(f"recurring job kind {name!r}: its payload {payload.__name__} must have no fields")
            if name in self._by_name or payload in self._by_payload:
                raise RegistrationError(f"job kind {name!r} or payload {payload.__name__} is registered twice")
            if copies < 1 or (copies > 1 and every is None):
                raise RegistrationError(f"job kind {name!r}: copies are for recurring kinds, at least one")
            kind = JobKind(name, payload, handler, every, copies, given_up)
            self._by_name[name] = self._by_payload[payload] = kind
            return handler

        return register

    def load(self) -> None:
        """Import every listed module, so each registers its kinds."""
        for module in self.modules:
            importlib.import_module(module)

    def named(self, name: str) -> JobKind[Any] | None:
        return self._by_name.get(name)

    def of(self, payload: P) -> JobKind[P]:
        kind = self._by_payload.get(type(payload))
        if kind is None:
            raise RegistrationError(f"{type(payload).__name__} is not the payload of a registered job kind")
        return kind

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)

    @property
    def recurring(self) -> list[JobKind[Any]]:
        return [kind for name, kind in sorted(self._by_name.items()) if kind.every is not None]


KINDS = Registry(JOB_MODULES)
job_kind = KINDS.job_kind
