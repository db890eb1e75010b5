"""one active default queue, by a partial unique index

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 19:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None

ACTIVE_DEFAULT = sa.text('is_default AND active')


def upgrade() -> None:
    # Two admins saving different defaults at once could leave two; routing took the first by
    # position, and that one stays the default.
    op.execute(
        "UPDATE queues SET is_default = FALSE WHERE is_default AND active AND id <> "
        "(SELECT id FROM queues WHERE is_default AND active ORDER BY position, id LIMIT 1)"
    )
    op.create_index('uq_queues_default', 'queues', ['is_default'], unique=True,
                    sqlite_where=ACTIVE_DEFAULT, postgresql_where=ACTIVE_DEFAULT)


def downgrade() -> None:
    op.drop_index('uq_queues_default', table_name='queues')
