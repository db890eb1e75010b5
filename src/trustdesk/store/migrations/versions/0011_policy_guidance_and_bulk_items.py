"""policy guidance, catalogue-written versions; bulk items as given, with outcome and undo

Policies gain `guidance` and `from_catalogue`; the versions the catalogue seeded (version 1:
edits always make version 2 or later) are marked as the catalogue's, so `trustdesk db upgrade`
may move them on to the catalogue's written decision trees without touching an admin's edit.

A bulk item is now the subject as it was given, in the order given (an unknown external id is
an item too), with its outcome (`applied`, `skipped`, `failed`; `done` becomes `applied`), a
detail, and the decision it made, so an operation can be undone. Operations gain `kind`,
`undo_of` (at most one undo each) and a `skipped` count.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guidance', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('from_catalogue', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE policies SET from_catalogue = TRUE WHERE version = 1")

    with op.batch_alter_table('bulk_operations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='decision'))
        batch_op.add_column(sa.Column('undo_of', Id, nullable=True))
        batch_op.add_column(sa.Column('skipped', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_foreign_key('bulk_operations_undo_of_fkey', 'bulk_operations', ['undo_of'], ['id'])
        batch_op.create_unique_constraint('bulk_operations_undo_of_key', ['undo_of'])

    op.create_table('bulk_items_next',
    sa.Column('operation_id', Id, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=300), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('decision_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['operation_id'], ['bulk_operations.id'], ),
    sa.PrimaryKeyConstraint('operation_id', 'position')
    )
    # Items were kept by subject id; that order becomes their position.
    op.execute(
        "INSERT INTO bulk_items_next (operation_id, position, reference, subject_id, status, detail, decision_id) "
        "SELECT i.operation_id,"
        " (SELECT COUNT(*) FROM bulk_items e WHERE e.operation_id = i.operation_id AND e.subject_id < i.subject_id),"
        " CAST(i.subject_id AS VARCHAR(40)), i.subject_id,"
        " CASE WHEN i.status = 'done' THEN 'applied' ELSE i.status END, i.error,"
        " (SELECT MIN(d.id) FROM decisions d WHERE d.bulk_operation_id = i.operation_id AND d.subject_id = i.subject_id)"
        " FROM bulk_items i"
    )
    op.drop_table('bulk_items')
    op.rename_table('bulk_items_next', 'bulk_items')
    if op.get_bind().dialect.name == 'postgresql':  # constraints keep the name of the table they were made on
        op.execute('ALTER TABLE bulk_items RENAME CONSTRAINT bulk_items_next_pkey TO bulk_items_pkey')
        op.execute('ALTER TABLE bulk_items RENAME CONSTRAINT bulk_items_next_operation_id_fkey TO bulk_items_operation_id_fkey')


def downgrade() -> None:
    op.create_table('bulk_items_previous',
    sa.Column('operation_id', Id, nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['operation_id'], ['bulk_operations.id'], ),
    sa.PrimaryKeyConstraint('operation_id', 'subject_id')
    )
    op.execute(
        "INSERT INTO bulk_items_previous (operation_id, subject_id, status, error) "
        "SELECT i.operation_id, i.subject_id, CASE WHEN i.status = 'applied' THEN 'done' ELSE i.status END, i.detail"
        " FROM bulk_items i JOIN bulk_operations o ON o.id = i.operation_id"
        " WHERE o.kind = 'decision' AND i.subject_id IS NOT NULL AND i.position = "
        " (SELECT MIN(f.position) FROM bulk_items f WHERE f.operation_id = i.operation_id AND f.subject_id = i.subject_id)"
    )
    op.drop_table('bulk_items')
    op.rename_table('bulk_items_previous', 'bulk_items')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE bulk_items RENAME CONSTRAINT bulk_items_previous_pkey TO bulk_items_pkey')
        op.execute('ALTER TABLE bulk_items RENAME CONSTRAINT bulk_items_previous_operation_id_fkey TO bulk_items_operation_id_fkey')
    op.execute("DELETE FROM bulk_operations WHERE kind = 'undo'")
    with op.batch_alter_table('bulk_operations', schema=None) as batch_op:
        batch_op.drop_constraint('bulk_operations_undo_of_key', type_='unique')
        batch_op.drop_constraint('bulk_operations_undo_of_fkey', type_='foreignkey')
        batch_op.drop_column('skipped')
        batch_op.drop_column('undo_of')
        batch_op.drop_column('kind')
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.drop_column('from_catalogue')
        batch_op.drop_column('guidance')
