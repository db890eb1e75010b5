"""audit events by actor, for each person's latest steps

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 22:20:00
"""
from alembic import op

revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_audit_events_actor', 'audit_events', ['actor_type', 'actor_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_audit_events_actor', table_name='audit_events')
