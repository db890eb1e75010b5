"""average monthly active recipients per app and month (DSA Art. 24(2)), one row per app and month

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 21:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('active_recipients',
    sa.Column('id', Id, nullable=False),
    sa.Column('app_id', Id, nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('by_member_state', sa.JSON(), nullable=False),
    sa.Column('reported_by', sa.String(length=200), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('app_id', 'month', name='uq_active_recipients_month')
    )


def downgrade() -> None:
    op.drop_table('active_recipients')
