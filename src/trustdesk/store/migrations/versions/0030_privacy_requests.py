"""privacy requests: a data subject's requests with their legal clock, each in its own case

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 19:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('privacy_requests',
    sa.Column('id', Id, nullable=False),
    sa.Column('app_id', Id, nullable=False),
    sa.Column('case_id', Id, nullable=False),
    sa.Column('subject_id', Id, nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('api_client_id', Id, nullable=True),
    sa.Column('body_hash', sa.String(length=64), nullable=True),
    sa.Column('regime', sa.String(length=32), nullable=False),
    sa.Column('request_type', sa.String(length=32), nullable=False),
    sa.Column('requester_name', sa.String(length=200), nullable=False),
    sa.Column('requester_contact', sa.String(length=320), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('verification', sa.String(length=16), nullable=False),
    sa.Column('verification_note', sa.Text(), nullable=True),
    sa.Column('verified_by', sa.String(length=200), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('paused_days', sa.Integer(), nullable=False),
    sa.Column('extended_to', sa.Date(), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('outcome', sa.JSON(), nullable=False),
    sa.Column('answered_by', sa.String(length=200), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['api_client_id'], ['api_clients.id'], ),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('app_id', 'external_id'),
    sa.UniqueConstraint('case_id')
    )
    op.create_index('ix_privacy_requests_status_due', 'privacy_requests', ['status', 'due_on'])
    op.create_index('ix_privacy_requests_subject_id', 'privacy_requests', ['subject_id'])


def downgrade() -> None:
    op.drop_index('ix_privacy_requests_subject_id', table_name='privacy_requests')
    op.drop_index('ix_privacy_requests_status_due', table_name='privacy_requests')
    op.drop_table('privacy_requests')
