"""notices to the people a decision concerns, each app's notice channel

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-06 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0017'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('apps') as batch:
        batch.add_column(sa.Column('notice_channel', sa.String(length=16), server_default='webhook', nullable=False))
    op.create_table('notices',
    sa.Column('id', Id, nullable=False),
    sa.Column('app_id', Id, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('recipient_role', sa.String(length=16), nullable=False),
    sa.Column('recipient_subject_id', Id, nullable=True),
    sa.Column('recipient_report_id', Id, nullable=True),
    sa.Column('recipient_escalation_id', Id, nullable=True),
    sa.Column('recipient_address', sa.String(length=320), nullable=True),
    sa.Column('subject_id', Id, nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('subject_line', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('decision_id', Id, nullable=True),
    sa.Column('case_id', Id, nullable=True),
    sa.Column('statement_of_reasons_id', sa.BigInteger(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], ),
    sa.ForeignKeyConstraint(['recipient_escalation_id'], ['escalations.id'], ),
    sa.ForeignKeyConstraint(['recipient_report_id'], ['reports.id'], ),
    sa.ForeignKeyConstraint(['recipient_subject_id'], ['subjects.id'], ),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_notices_case_id'), 'notices', ['case_id'], unique=False)
    op.create_index(op.f('ix_notices_decision_id'), 'notices', ['decision_id'], unique=False)
    op.create_index(op.f('ix_notices_recipient_report_id'), 'notices', ['recipient_report_id'], unique=False)
    op.create_index(op.f('ix_notices_recipient_subject_id'), 'notices', ['recipient_subject_id'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch:
        batch.add_column(sa.Column('notice_id', Id, nullable=True))
        batch.create_foreign_key('outbox_notice_id_fkey', 'notices', ['notice_id'], ['id'])
        batch.create_index(batch.f('ix_outbox_notice_id'), ['notice_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch:
        batch.drop_index(batch.f('ix_outbox_notice_id'))
        batch.drop_constraint('outbox_notice_id_fkey', type_='foreignkey')
        batch.drop_column('notice_id')
    op.drop_index(op.f('ix_notices_recipient_subject_id'), table_name='notices')
    op.drop_index(op.f('ix_notices_recipient_report_id'), table_name='notices')
    op.drop_index(op.f('ix_notices_decision_id'), table_name='notices')
    op.drop_index(op.f('ix_notices_case_id'), table_name='notices')
    op.drop_table('notices')
    with op.batch_alter_table('apps') as batch:
        batch.drop_column('notice_channel')
