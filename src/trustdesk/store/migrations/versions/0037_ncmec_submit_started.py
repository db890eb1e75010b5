"""CyberTipline reports: when a submission was sent, so a retry never files a second report

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-08 01:05:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ncmec_reports') as batch_op:
        batch_op.add_column(sa.Column('submit_started_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ncmec_reports') as batch_op:
        batch_op.drop_column('submit_started_at')
