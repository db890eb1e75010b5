"""NCMEC CyberTipline reports made from child-safety cases, with their filing state

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 18:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
LIVE = sa.text("state <> 'retracted'")


def upgrade() -> None:
    op.create_table('ncmec_reports',
    sa.Column('id', Id, nullable=False),
    sa.Column('case_id', Id, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('incident_type', sa.String(length=200), nullable=False),
    sa.Column('report_id', sa.BigInteger(), nullable=True),
    sa.Column('xml', sa.Text(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hold_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hold_id', sa.BigInteger(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retracted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('report_id')
    )
    op.create_index(op.f('ix_ncmec_reports_case_id'), 'ncmec_reports', ['case_id'], unique=False)
    op.create_index('uq_ncmec_reports_live_case', 'ncmec_reports', ['case_id'], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade() -> None:
    op.drop_index('uq_ncmec_reports_live_case', table_name='ncmec_reports')
    op.drop_index(op.f('ix_ncmec_reports_case_id'), table_name='ncmec_reports')
    op.drop_table('ncmec_reports')
