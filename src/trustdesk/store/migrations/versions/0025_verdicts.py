"""synchronous verdicts kept per subject content, evaluation batches; the evaluate scope for intake clients

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 19:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
SUBJECTS_WRITE, EVALUATE_WRITE = 'subjects:write', 'evaluate:write'


def upgrade() -> None:
    op.create_table('verdicts',
    sa.Column('id', Id, nullable=False),
    sa.Column('app_id', Id, nullable=False),
    sa.Column('subject_id', Id, nullable=False),
    sa.Column('body_hash', sa.String(length=64), nullable=False),
    sa.Column('evaluation_id', Id, nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('signals', sa.JSON(), nullable=False),
    sa.Column('decision_id', Id, nullable=True),
    sa.Column('case_id', Id, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], ),
    sa.ForeignKeyConstraint(['evaluation_id'], ['rule_evaluations.id'], ),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subject_id', 'body_hash')
    )
    op.create_table('evaluation_batches',
    sa.Column('id', Id, nullable=False),
    sa.Column('app_id', Id, nullable=False),
    sa.Column('api_client_id', Id, nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('results', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['api_client_id'], ['api_clients.id'], ),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_evaluation_batches_app_id'), 'evaluation_batches', ['app_id'], unique=False)
    # A client that may create subjects may check them: evaluating stores the subject and runs
    # the rules that intake runs anyway. Without this, every existing token would lose nothing
    # but could not call /evaluate until reissued.
    _with_scopes(lambda scopes: [*scopes, EVALUATE_WRITE] if SUBJECTS_WRITE in scopes and EVALUATE_WRITE not in scopes else scopes)


def downgrade() -> None:
    _with_scopes(lambda scopes: [s for s in scopes if s != EVALUATE_WRITE])
    op.drop_index(op.f('ix_evaluation_batches_app_id'), table_name='evaluation_batches')
    op.drop_table('evaluation_batches')
    op.drop_table('verdicts')


def _with_scopes(change) -> None:  # type: ignore[no-untyped-def]
    clients = sa.table('api_clients', sa.column('id', Id), sa.column('scopes', sa.JSON()))
    bind = op.get_bind()
    for client_id, scopes in bind.execute(sa.select(clients.c.id, clients.c.scopes)).all():
        changed = sorted(change(list(scopes or [])))
        if changed != sorted(scopes or []):
            bind.execute(clients.update().where(clients.c.id == client_id).values(scopes=changed))
