"""signals: what analysers found on subjects, stored once per analyser version and content

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 16:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('signals',
    sa.Column('id', Id, nullable=False),
    sa.Column('subject_id', Id, nullable=False),
    sa.Column('analyser', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('match', sa.String(length=500), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('model_version', sa.String(length=64), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subject_id', 'analyser', 'label', 'model_version', 'content_hash', name='uq_signals_once')
    )


def downgrade() -> None:
    op.drop_table('signals')
