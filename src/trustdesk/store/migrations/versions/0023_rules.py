"""rules with immutable versions and modes, the inputs each evaluation saw, rule hits, case labels

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 18:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('rules',
    sa.Column('id', Id, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('rule_versions',
    sa.Column('id', Id, nullable=False),
    sa.Column('rule_id', Id, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('expression', sa.Text(), nullable=False),
    sa.Column('effects', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['rules.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rule_id', 'version')
    )
    op.create_table('rule_evaluations',
    sa.Column('id', Id, nullable=False),
    sa.Column('app_id', Id, nullable=False),
    sa.Column('subject_id', Id, nullable=False),
    sa.Column('report_id', Id, nullable=True),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_rule_evaluations_created_at', 'rule_evaluations', ['created_at'], unique=False)
    op.create_index(op.f('ix_rule_evaluations_report_id'), 'rule_evaluations', ['report_id'], unique=False)
    op.create_index(op.f('ix_rule_evaluations_subject_id'), 'rule_evaluations', ['subject_id'], unique=False)
    op.create_table('rule_hits',
    sa.Column('id', Id, nullable=False),
    sa.Column('evaluation_id', Id, nullable=False),
    sa.Column('rule_id', Id, nullable=False),
    sa.Column('rule_version_id', Id, nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('subject_id', Id, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['evaluation_id'], ['rule_evaluations.id'], ),
    sa.ForeignKeyConstraint(['rule_id'], ['rules.id'], ),
    sa.ForeignKeyConstraint(['rule_version_id'], ['rule_versions.id'], ),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_rule_hits_evaluation_id'), 'rule_hits', ['evaluation_id'], unique=False)
    op.create_index('ix_rule_hits_rule_created', 'rule_hits', ['rule_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_rule_hits_subject_id'), 'rule_hits', ['subject_id'], unique=False)
    # A plain ADD COLUMN: a batch rebuild of `cases` is not needed and would be slow on a big table.
    op.add_column('cases', sa.Column('labels', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('cases') as batch_op:
        batch_op.drop_column('labels')
    op.drop_index(op.f('ix_rule_hits_subject_id'), table_name='rule_hits')
    op.drop_index('ix_rule_hits_rule_created', table_name='rule_hits')
    op.drop_index(op.f('ix_rule_hits_evaluation_id'), table_name='rule_hits')
    op.drop_table('rule_hits')
    op.drop_index(op.f('ix_rule_evaluations_subject_id'), table_name='rule_evaluations')
    op.drop_index(op.f('ix_rule_evaluations_report_id'), table_name='rule_evaluations')
    op.drop_index('ix_rule_evaluations_created_at', table_name='rule_evaluations')
    op.drop_table('rule_evaluations')
    op.drop_table('rule_versions')
    op.drop_table('rules')
