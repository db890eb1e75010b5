"""appeals of decisions, each decided in a case of kind appeal

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 13:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
OPEN_APPEAL = sa.text('outcome IS NULL')


def upgrade() -> None:
    op.create_table('appeals',
    sa.Column('id', Id, nullable=False),
    sa.Column('app_id', Id, nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('appellant', sa.String(length=16), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('decision_id', Id, nullable=False),
    sa.Column('report_id', Id, nullable=True),
    sa.Column('case_id', Id, nullable=True),
    sa.Column('original_reviewer_id', Id, nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('outcome_decision_id', Id, nullable=True),
    sa.Column('decided_by', Id, nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('filed_by', sa.String(length=200), nullable=False),
    sa.Column('body_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['decided_by'], ['staff_users.id'], ),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], ),
    sa.ForeignKeyConstraint(['original_reviewer_id'], ['staff_users.id'], ),
    sa.ForeignKeyConstraint(['outcome_decision_id'], ['decisions.id'], ),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('app_id', 'external_id'),
    sa.UniqueConstraint('case_id')
    )
    op.create_index(op.f('ix_appeals_decided_by'), 'appeals', ['decided_by'], unique=False)
    op.create_index(op.f('ix_appeals_decision_id'), 'appeals', ['decision_id'], unique=False)
    op.create_index('uq_appeals_open_decision', 'appeals', ['decision_id'], unique=True,
                    sqlite_where=OPEN_APPEAL, postgresql_where=OPEN_APPEAL)


def downgrade() -> None:
    op.drop_index('uq_appeals_open_decision', table_name='appeals')
    op.drop_index(op.f('ix_appeals_decision_id'), table_name='appeals')
    op.drop_index(op.f('ix_appeals_decided_by'), table_name='appeals')
    op.drop_table('appeals')
