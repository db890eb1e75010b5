"""singleton jobs

Jobs get a `singleton_key`, unique among queued and running jobs, so a recurring job (the SLA
sweep) exists once however many workers start together.

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


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('singleton_key', sa.String(length=200), nullable=True))
        batch_op.create_index('uq_jobs_singleton', ['singleton_key'], unique=True,
                              sqlite_where=WAITING_OR_RUNNING, postgresql_where=WAITING_OR_RUNNING)


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('uq_jobs_singleton')
        batch_op.drop_column('singleton_key')
