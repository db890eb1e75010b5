"""text banks: keyword, phrase and regex lists per app and language that rules name

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 18:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
LIVE = sa.text('removed_at IS NULL')


def upgrade() -> None:
    op.create_table('text_banks',
    sa.Column('id', Id, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('app_id', Id, nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('text_bank_entries',
    sa.Column('id', Id, nullable=False),
    sa.Column('bank_id', Id, nullable=False),
    sa.Column('value', sa.String(length=300), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['bank_id'], ['text_banks.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('uq_text_bank_entries_live', 'text_bank_entries', ['bank_id', 'value'], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade() -> None:
    op.drop_index('uq_text_bank_entries_live', table_name='text_bank_entries')
    op.drop_table('text_bank_entries')
    op.drop_table('text_banks')
