"""statements of reasons: their submission to the DSA Transparency Database

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 19:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('statements_of_reasons') as batch_op:
        batch_op.add_column(sa.Column('submission', sa.String(length=16), nullable=False, server_default='pending'))
        batch_op.add_column(sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('dsa_uuid', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('submission_errors', sa.JSON(), nullable=True))
        batch_op.create_index('ix_statements_of_reasons_submission', ['submission', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('statements_of_reasons') as batch_op:
        batch_op.drop_index('ix_statements_of_reasons_submission')
        batch_op.drop_column('submission_errors')
        batch_op.drop_column('dsa_uuid')
        batch_op.drop_column('submitted_at')
        batch_op.drop_column('submission')
