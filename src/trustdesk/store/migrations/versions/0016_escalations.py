"""escalations to tiers: tier queues, the escalations table, comments the requester may read

Queues gain `tier` (one queue per escalation tier, unique where set). `escalations` records each
hand-up of a case to a tier (reason, urgency, who, the way back, the imminent-harm notification
of the authorities, and for those filed through the API the client's external id and the
requester's reference); at most one is open per case. Case comments gain `visibility`
(`internal`, or `requester` for a note the requester of an escalation may read).

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-06 14:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0013'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('queues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier', sa.String(length=32), nullable=True))
    op.create_index('uq_queues_tier', 'queues', ['tier'], unique=True,
                    sqlite_where=sa.text('tier IS NOT NULL'), postgresql_where=sa.text('tier IS NOT NULL'))
    with op.batch_alter_table('case_comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visibility', sa.String(length=16), nullable=False, server_default='internal'))
    op.create_table('escalations',
    sa.Column('id', Id, nullable=False),
    sa.Column('case_id', Id, nullable=False),
    sa.Column('tier', sa.String(length=32), nullable=False),
    sa.Column('from_queue_id', Id, nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('escalated_by', sa.String(length=200), nullable=False),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('de_escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('de_escalated_by', sa.String(length=200), nullable=True),
    sa.Column('de_escalation_note', sa.Text(), nullable=True),
    sa.Column('authorities_notified', sa.Boolean(), nullable=True),
    sa.Column('authorities_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('app_id', Id, nullable=True),
    sa.Column('api_client_id', Id, nullable=True),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('requester_ref', sa.String(length=200), nullable=True),
    sa.Column('body_hash', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('outcome_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['api_client_id'], ['api_clients.id'], ),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['from_queue_id'], ['queues.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('app_id', 'external_id')
    )
    op.create_index(op.f('ix_escalations_case_id'), 'escalations', ['case_id'], unique=False)
    op.create_index('uq_escalations_open', 'escalations', ['case_id'], unique=True,
                    sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))


def downgrade() -> None:
    op.drop_index('uq_escalations_open', table_name='escalations')
    op.drop_index(op.f('ix_escalations_case_id'), table_name='escalations')
    op.drop_table('escalations')
    with op.batch_alter_table('case_comments', schema=None) as batch_op:
        batch_op.drop_column('visibility')
    op.drop_index('uq_queues_tier', table_name='queues')
    with op.batch_alter_table('queues', schema=None) as batch_op:
        batch_op.drop_column('tier')
