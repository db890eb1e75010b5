"""webhook endpoints, the outbox of action events, per-subject event sequences

`webhook_endpoints` holds each app's receivers with their signing secret encrypted. `outbox`
holds one row per event per endpoint, written in the transaction of the action it announces,
with its delivery state. `subject_sequences` gives each subject's events a number that only
goes up, so a receiver can ignore an older event that arrives after a newer one.

Revision ID: 0014
Revises: 0015
Create Date: 2026-12-10 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0015'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    op.create_table('webhook_endpoints',
    sa.Column('id', Id, nullable=False),
    sa.Column('app_id', Id, nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('secret_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_webhook_endpoints_app_id', 'webhook_endpoints', ['app_id'])
    op.create_table('subject_sequences',
    sa.Column('subject_id', Id, autoincrement=False, nullable=False),
    sa.Column('last', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], ),
    sa.PrimaryKeyConstraint('subject_id')
    )
    op.create_table('outbox',
    sa.Column('id', Id, nullable=False),
    sa.Column('endpoint_id', Id, nullable=False),
    sa.Column('webhook_id', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('action_id', Id, nullable=True),
    sa.Column('subject_id', Id, nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['enforcement_actions.id'], ),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], ),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('webhook_id')
    )
    op.create_index('ix_outbox_action_id', 'outbox', ['action_id'])
    op.create_index('ix_outbox_state', 'outbox', ['state', 'id'])
    op.create_index('ix_outbox_due', 'outbox', ['next_attempt_at'], sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_index('ix_outbox_subject_order', 'outbox', ['endpoint_id', 'subject_id', 'id'],
                    sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade() -> None:
    op.drop_table('outbox')
    op.drop_table('subject_sequences')
    op.drop_table('webhook_endpoints')
