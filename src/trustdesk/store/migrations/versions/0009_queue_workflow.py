"""queue workflow: skips that stick, the claim's start for the maximum hold, queue view orders

Revision ID: 0009
Revises: 0011
Create Date: 2026-12-04 10:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_skips',
    sa.Column('staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('staff_id', 'case_id')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_cases_queue_due', 'cases', ['queue_id', 'status', 'due_at'], unique=False)
    op.create_index('ix_cases_queue_age', 'cases', ['queue_id', 'status', 'created_at'], unique=False)
    # A case held now started its hold no later than now: its maximum hold counts from here.
    op.execute("UPDATE cases SET claimed_at = CURRENT_TIMESTAMP WHERE claimed_by IS NOT NULL")


def downgrade() -> None:
    op.drop_index('ix_cases_queue_age', table_name='cases')
    op.drop_index('ix_cases_queue_due', table_name='cases')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
    op.drop_table('case_skips')
