"""case kind and one open report case per subject

Cases get a `kind`; every case so far is a `report` case. A partial unique index allows one
open report case per subject (other kinds, such as appeals, may later have several open), so
two first reports arriving at once can no longer open two cases.

Where earlier races left a subject with several open report cases, they are **merged** before
the index is built: the oldest case (lowest id) takes the reports of the others, their report
count, the earliest due time, and the band, score and reasons of the highest-scored of them;
the others are closed with status `merged` (claims and assignments cleared), so no report is
left outside an open case. The queue counters are then recounted. Downgrading drops the index
and the column; merged cases stay merged.

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-08 10:00:00
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0009'
branch_labels = None
depends_on = None

OPEN_REPORT_CASE = sa.text("status = 'open' AND kind = 'report'")
MERGED = 'merged'


def _merge_duplicate_open_cases(conn: sa.Connection) -> None:
    subjects = conn.execute(sa.text(
        "SELECT subject_id FROM cases WHERE status = 'open' GROUP BY subject_id HAVING count(*) > 1 ORDER BY subject_id"
    )).scalars().all()
    for subject_id in subjects:
        cases = conn.execute(sa.text(
            "SELECT id, band, priority_score, priority_reasons, imminent_harm, report_count, due_at FROM cases "
            "WHERE subject_id = :s AND status = 'open' ORDER BY id"
        ), {"s": subject_id}).all()
        keep, extra = cases[0], [c.id for c in cases[1:]]
        lead = max(cases, key=lambda c: (c.priority_score, -c.id))
        conn.execute(sa.text(
            "UPDATE cases SET band = :band, priority_score = :score, priority_reasons = :reasons, "
            "imminent_harm = :harm, report_count = :count, due_at = :due, updated_at = CURRENT_TIMESTAMP WHERE id = :id"
        ).bindparams(sa.bindparam("reasons", type_=sa.JSON())), {
            "id": keep.id, "band": lead.band, "score": lead.priority_score, "reasons": _json(lead.priority_reasons),
            "harm": any(c.imminent_harm for c in cases), "count": sum(c.report_count for c in cases),
            "due": min(c.due_at for c in cases),
        })
        conn.execute(
            sa.text("UPDATE reports SET case_id = :keep WHERE case_id IN :extra").bindparams(sa.bindparam("extra", expanding=True)),
            {"keep": keep.id, "extra": extra},
        )
        conn.execute(sa.text(
            "UPDATE cases SET status = :merged, claimed_by = NULL, lease_until = NULL, claimed_at = NULL, assigned_to = NULL, "
            "updated_at = CURRENT_TIMESTAMP WHERE id IN :extra"
        ).bindparams(sa.bindparam("extra", expanding=True)), {"merged": MERGED, "extra": extra})
    if subjects:
        conn.execute(sa.text("DELETE FROM queue_counters"))
        conn.execute(sa.text(
            "INSERT INTO queue_counters (queue_id, band, open, breached) "
            "SELECT queue_id, band, count(*), sum(CASE WHEN breached_at IS NOT NULL THEN 1 ELSE 0 END) "
            "FROM cases WHERE status = 'open' GROUP BY queue_id, band"
        ))


def _json(value: object) -> object:
    """JSON read back as text (SQLite) or as a value (PostgreSQL), as a value."""
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=32), server_default='report', nullable=False))
    _merge_duplicate_open_cases(op.get_bind())
    op.create_index('uq_cases_open_report', 'cases', ['subject_id'], unique=True,
                    sqlite_where=OPEN_REPORT_CASE, postgresql_where=OPEN_REPORT_CASE)


def downgrade() -> None:
    op.drop_index('uq_cases_open_report', 'cases')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('kind')
