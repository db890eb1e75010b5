"""cases keep a legal duty's deadline (privacy and law-enforcement requests)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 19:15:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('cases', sa.Column('legal_due_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases') as batch_op:
        batch_op.drop_column('legal_due_at')
