"""law-enforcement and regulatory requests beside their cases; the legal:write scope

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 19:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('law_enforcement_requests',
    sa.Column('id', Id, nullable=False),
    sa.Column('app_id', Id, nullable=False),
    sa.Column('case_id', Id, nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('body_hash', sa.String(length=64), nullable=False),
    sa.Column('agency', sa.String(length=200), nullable=False),
    sa.Column('officer_name', sa.String(length=200), nullable=False),
    sa.Column('officer_email', sa.String(length=200), nullable=False),
    sa.Column('officer_phone', sa.String(length=200), nullable=False),
    sa.Column('instrument', sa.String(length=40), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('emergency', sa.Boolean(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('non_disclosure', sa.Boolean(), nullable=False),
    sa.Column('non_disclosure_until', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('review_outcome', sa.String(length=16), nullable=True),
    sa.Column('review_reasons', sa.Text(), nullable=True),
    sa.Column('reviewed_by', sa.String(length=200), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disclosed_subject_ids', sa.JSON(), nullable=False),
    sa.Column('known_copies', sa.JSON(), nullable=False),
    sa.Column('preservation_hold_id', Id, nullable=True),
    sa.Column('disclosure_hold_id', Id, nullable=True),
    sa.Column('disclosure_sha256', sa.String(length=64), nullable=True),
    sa.Column('disclosed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['disclosure_hold_id'], ['legal_holds.id'], ),
    sa.ForeignKeyConstraint(['preservation_hold_id'], ['legal_holds.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('app_id', 'external_id', name='uq_law_enforcement_requests_external_id'),
    sa.UniqueConstraint('case_id')
    )


def downgrade() -> None:
    op.drop_table('law_enforcement_requests')
