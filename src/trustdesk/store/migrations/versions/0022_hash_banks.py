"""hash banks of known-bad media hashes (PDQ, MD5, SHA-256) with their thresholds and actions

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-06 16:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
LIVE = sa.text('removed_at IS NULL')


def upgrade() -> None:
    op.create_table('hash_banks',
    sa.Column('id', Id, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('pdq_threshold', sa.Integer(), nullable=False),
    sa.Column('policy_code', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('bank_hashes',
    sa.Column('id', Id, nullable=False),
    sa.Column('bank_id', Id, nullable=False),
    sa.Column('algorithm', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('added_by', sa.String(length=200), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['bank_id'], ['hash_banks.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('uq_bank_hashes_live', 'bank_hashes', ['bank_id', 'algorithm', 'value'], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)
    op.create_index('ix_bank_hashes_removed_at', 'bank_hashes', ['removed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_bank_hashes_removed_at', table_name='bank_hashes')
    op.drop_index('uq_bank_hashes_live', table_name='bank_hashes')
    op.drop_table('bank_hashes')
    op.drop_table('hash_banks')
