"""privacy requests: CCPA receipt confirmation, a rectification's statement, a restriction's lifting

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 21:15:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None

COLUMNS = ('confirm_by', 'receipt_confirmed_at', 'receipt_confirmed_by', 'receipt_confirmation', 'statement',
           'lifted_at', 'lifted_by', 'lift_reason')


def upgrade() -> None:
    with op.batch_alter_table('privacy_requests') as batch_op:
        batch_op.add_column(sa.Column('confirm_by', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('receipt_confirmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('receipt_confirmed_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('receipt_confirmation', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('statement', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lifted_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('lift_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('privacy_requests') as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
