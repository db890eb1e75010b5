"""legal holds: evidence sets with a chain of custody, and when a subject's data was erased

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 18:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('subjects') as batch:
        batch.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('legal_holds',
    sa.Column('id', Id, nullable=False),
    sa.Column('basis', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('placed_by', sa.String(length=200), nullable=False),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('review_on', sa.Date(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by', sa.String(length=200), nullable=True),
    sa.Column('custody_seq', sa.Integer(), nullable=False),
    sa.Column('custody_head', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_legal_holds_expires_at', 'legal_holds', ['expires_at'])
    op.create_table('hold_subjects',
    sa.Column('hold_id', Id, nullable=False),
    sa.Column('subject_id', Id, nullable=False),
    sa.Column('named', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['hold_id'], ['legal_holds.id'], ),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], ),
    sa.PrimaryKeyConstraint('hold_id', 'subject_id')
    )
    op.create_index('ix_hold_subjects_subject_id', 'hold_subjects', ['subject_id'])
    op.create_table('evidence_items',
    sa.Column('id', Id, nullable=False),
    sa.Column('hold_id', Id, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.BigInteger(), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.Column('blob_sha256', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['blob_sha256'], ['blobs.sha256'], ),
    sa.ForeignKeyConstraint(['hold_id'], ['legal_holds.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hold_id', 'position')
    )
    op.create_index('ix_evidence_items_blob_sha256', 'evidence_items', ['blob_sha256'])
    op.create_table('custody_events',
    sa.Column('id', Id, nullable=False),
    sa.Column('hold_id', Id, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('verb', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('event_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['hold_id'], ['legal_holds.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hold_id', 'seq')
    )


def downgrade() -> None:
    op.drop_table('custody_events')
    op.drop_index('ix_evidence_items_blob_sha256', table_name='evidence_items')
    op.drop_table('evidence_items')
    op.drop_index('ix_hold_subjects_subject_id', table_name='hold_subjects')
    op.drop_table('hold_subjects')
    op.drop_index('ix_legal_holds_expires_at', table_name='legal_holds')
    op.drop_table('legal_holds')
    with op.batch_alter_table('subjects') as batch:
        batch.drop_column('erased_at')
