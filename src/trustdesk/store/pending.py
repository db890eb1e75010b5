"""What a session gathers during a transaction and writes when it commits (the audit log's events,
the counters' changes), kept right across savepoints.

A rolled-back transaction forgets all of it. A savepoint rolled back takes back only what was
gathered since it began (the transaction goes on and commits the rest); one released keeps it
for the transaction's commit. Each kept kind says how to take a mark of what it holds, how to go
back to a mark, and how to forget everything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker


@dataclass(frozen=True)
class Pending:
    name: str  # the key of the savepoints' marks in `Session.info`
    mark: Callable[[Session], Any]
    back_to: Callable[[Session, Any], None]
    forget: Callable[[Session], None]
    discard: Callable[[Session], None] | None = None  # what a rolled-back transaction does before forgetting, if anything

    def install(self, factory: sessionmaker[Session]) -> None:
        event.listen(factory, "after_rollback", self._rolled_back)
        event.listen(factory, "after_commit", self._committed)
        event.listen(factory, "after_transaction_create", self._savepoint_began)
        event.listen(factory, "after_transaction_end", self._savepoint_ended)

    def _committed(self, session: Session) -> None:
        if not session.in_nested_transaction():  # what a released savepoint gathered waits for the transaction's commit
            self._forget(session)

    def _rolled_back(self, session: Session) -> None:
        marks: list[Any] = session.info.get(self.name, [])
        if session.in_nested_transaction() and marks:
            self.back_to(session, marks[-1])
        else:
            if self.discard is not None:
                self.discard(session)
            self._forget(session)

    def _forget(self, session: Session) -> None:
        self.forget(session)
        session.info.pop(self.name, None)

    def _savepoint_began(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.nested:
            session.info.setdefault(self.name, []).append(self.mark(session))

    def _savepoint_ended(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.nested and session.info.get(self.name):
            session.info[self.name].pop()
