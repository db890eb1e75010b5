"""case tiers and the subjects a case concerns; decisions say how they came about

Cases gain `tier` (None: in the routed queue) and a `case_subjects` link table, filled with each
existing case's subject, so a case may later concern several subjects. Decisions gain `kind`
(existing ones: `bulk` when made by a bulk operation, `automated` with no reviewer, `review`
otherwise), the DSA automation fields, and `judges_decision_id` for appeals and second opinions.

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-06 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0012'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier', sa.String(length=32), nullable=True))
    op.create_table('case_subjects',
    sa.Column('case_id', Id, nullable=False),
    sa.Column('subject_id', Id, nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], ),
    sa.PrimaryKeyConstraint('case_id', 'subject_id')
    )
    op.create_index(op.f('ix_case_subjects_subject_id'), 'case_subjects', ['subject_id'], unique=False)
    op.execute("INSERT INTO case_subjects (case_id, subject_id) SELECT id, subject_id FROM cases")

    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='review'))
        batch_op.add_column(sa.Column('automated_detection', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('automated_decision', sa.String(length=16), nullable=False, server_default='not_automated'))
        batch_op.add_column(sa.Column('judges_decision_id', Id, nullable=True))
        batch_op.create_index(batch_op.f('ix_decisions_judges_decision_id'), ['judges_decision_id'], unique=False)
        batch_op.create_foreign_key('decisions_judges_decision_id_fkey', 'decisions', ['judges_decision_id'], ['id'])
    op.execute("UPDATE decisions SET kind = 'bulk' WHERE bulk_operation_id IS NOT NULL")
    op.execute("UPDATE decisions SET kind = 'automated', automated_decision = 'fully' "
               "WHERE bulk_operation_id IS NULL AND reviewer_id IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_constraint('decisions_judges_decision_id_fkey', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_decisions_judges_decision_id'))
        batch_op.drop_column('judges_decision_id')
        batch_op.drop_column('automated_decision')
        batch_op.drop_column('automated_detection')
        batch_op.drop_column('kind')
    op.drop_index(op.f('ix_case_subjects_subject_id'), table_name='case_subjects')
    op.drop_table('case_subjects')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('tier')
