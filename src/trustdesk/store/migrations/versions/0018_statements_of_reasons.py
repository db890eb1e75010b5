"""statements of reasons, one per restricting action

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('statements_of_reasons',
    sa.Column('id', Id, nullable=False),
    sa.Column('app_id', Id, nullable=False),
    sa.Column('puid', sa.String(length=500), nullable=False),
    sa.Column('decision_id', Id, nullable=False),
    sa.Column('action_id', Id, nullable=False),
    sa.Column('subject_id', Id, nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['enforcement_actions.id'], ),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], ),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('action_id'),
    sa.UniqueConstraint('app_id', 'puid')
    )
    op.create_index(op.f('ix_statements_of_reasons_decision_id'), 'statements_of_reasons', ['decision_id'], unique=False)
    op.create_index(op.f('ix_statements_of_reasons_subject_id'), 'statements_of_reasons', ['subject_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_statements_of_reasons_subject_id'), table_name='statements_of_reasons')
    op.drop_index(op.f('ix_statements_of_reasons_decision_id'), table_name='statements_of_reasons')
    op.drop_table('statements_of_reasons')
