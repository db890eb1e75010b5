"""canned rationales per policy, reply templates with their locale texts, replies used on cases

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('canned_rationales',
    sa.Column('id', Id, nullable=False),
    sa.Column('policy_code', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_canned_rationales_policy', 'canned_rationales', ['policy_code', 'position'], unique=False)
    op.create_table('reply_templates',
    sa.Column('id', Id, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('tone', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('reply_template_texts',
    sa.Column('template_id', Id, nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['reply_templates.id'], ),
    sa.PrimaryKeyConstraint('template_id', 'locale')
    )
    op.create_table('case_replies',
    sa.Column('id', Id, nullable=False),
    sa.Column('case_id', Id, nullable=False),
    sa.Column('template_id', Id, nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('delivery', sa.String(length=16), nullable=False),
    sa.Column('notice_id', Id, nullable=True),
    sa.Column('sent_by', Id, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], ),
    sa.ForeignKeyConstraint(['sent_by'], ['staff_users.id'], ),
    sa.ForeignKeyConstraint(['template_id'], ['reply_templates.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_case_replies_case_id'), 'case_replies', ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_case_replies_case_id'), table_name='case_replies')
    op.drop_table('case_replies')
    op.drop_table('reply_template_texts')
    op.drop_table('reply_templates')
    op.drop_index('ix_canned_rationales_policy', table_name='canned_rationales')
    op.drop_table('canned_rationales')
