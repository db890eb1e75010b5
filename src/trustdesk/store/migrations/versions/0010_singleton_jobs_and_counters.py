"""singleton jobs and maintained counts

Jobs get a `singleton_key`, unique among queued and running jobs, so a recurring job (the SLA
sweep) exists once however many workers start together. The console's counts move into
`queue_counters`, `report_counters` and `subject_counters`, filled here from the current rows
and kept current from then on by the transactions that change them; the live "claimed" count
reads a partial index of the claimed cases.

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-04 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0006'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WAITING_OR_RUNNING = sa.text("status IN ('queued', 'running')")
CLAIMED = sa.text("claimed_by IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('singleton_key', sa.String(length=200), nullable=True))
        batch_op.create_index('uq_jobs_singleton', ['singleton_key'], unique=True,
                              sqlite_where=WAITING_OR_RUNNING, postgresql_where=WAITING_OR_RUNNING)
    op.create_table('queue_counters',
    sa.Column('queue_id', Id, nullable=False),
    sa.Column('band', sa.String(length=4), nullable=False),
    sa.Column('open', sa.BigInteger(), nullable=False),
    sa.Column('breached', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['queue_id'], ['queues.id'], ),
    sa.PrimaryKeyConstraint('queue_id', 'band')
    )
    op.create_table('report_counters',
    sa.Column('policy_code', sa.String(length=64), nullable=False),
    sa.Column('open', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('policy_code')
    )
    op.create_table('subject_counters',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('kind')
    )
    op.create_index('ix_cases_claimed', 'cases', ['queue_id'], sqlite_where=CLAIMED, postgresql_where=CLAIMED)
    op.execute(
        "INSERT INTO queue_counters (queue_id, band, open, breached) "
        "SELECT queue_id, band, count(*), sum(CASE WHEN breached_at IS NOT NULL THEN 1 ELSE 0 END) "
        "FROM cases WHERE status = 'open' GROUP BY queue_id, band"
    )
    op.execute("INSERT INTO report_counters (policy_code, open) SELECT policy_code, count(*) FROM reports WHERE status = 'open' GROUP BY policy_code")
    op.execute("INSERT INTO subject_counters (kind, total) SELECT kind, count(*) FROM subjects GROUP BY kind")


def downgrade() -> None:
    op.drop_index('ix_cases_claimed', 'cases')
    op.drop_table('subject_counters')
    op.drop_table('report_counters')
    op.drop_table('queue_counters')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('uq_jobs_singleton')
        batch_op.drop_column('singleton_key')
