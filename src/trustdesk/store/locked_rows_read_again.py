"""A row locked FOR UPDATE is read again into the objects the session already holds.

The ORM hands back the object it loaded earlier in the transaction, with the values it had
then, even when the locking query waited for another transaction that changed the row: code
that loaded a rule, a template or a case before locking it would go on from the old values (a
version number taken twice, a flag left as another admin had just changed it). Every ORM query
that locks its rows therefore refreshes them (`populate_existing`), here, once for all.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker


def _read_again_when_locking(state: ORMExecuteState) -> None:
    if state.is_select and getattr(state.statement, "_for_update_arg", None) is not None:
        state.update_execution_options(populate_existing=True)


def install(factory: sessionmaker[Session]) -> None:
    event.listen(factory, "do_orm_execute", _read_again_when_locking)
