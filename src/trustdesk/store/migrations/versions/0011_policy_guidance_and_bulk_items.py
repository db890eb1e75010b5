"""policy guidance, catalogue-written versions

Policies gain `guidance` and `from_catalogue`; the versions the catalogue seeded (version 1:
edits always make version 2 or later) are marked as the catalogue's, so `trustdesk db upgrade`
may move them on to the catalogue's written decision trees without touching an admin's edit.

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-04 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guidance', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('from_catalogue', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE policies SET from_catalogue = TRUE WHERE version = 1")


def downgrade() -> None:
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.drop_column('from_catalogue')
        batch_op.drop_column('guidance')
