"""cases record a breach of their legal deadline once decided (a CyberTipline filing still due),
and the few cases with a legal deadline are indexed for the breach sweep

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 21:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

LEGAL_DUE = sa.text('legal_due_at IS NOT NULL')


def upgrade() -> None:
    op.add_column('cases', sa.Column('legal_breached_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_cases_legal_due', 'cases', ['legal_due_at'], unique=False, sqlite_where=LEGAL_DUE, postgresql_where=LEGAL_DUE)


def downgrade() -> None:
    op.drop_index('ix_cases_legal_due', table_name='cases')
    with op.batch_alter_table('cases') as batch_op:
        batch_op.drop_column('legal_breached_at')
