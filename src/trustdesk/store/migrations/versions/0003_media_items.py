"""media items

A subject's media moves from three columns on `subjects` into `media_items` (one row per file)
and `media_hashes` (one row per algorithm). The type those columns held was the client's word,
so moved items are `unchecked`: they are offered only as downloads until `trustdesk db upgrade`
has read their bytes. A URL still waiting to be fetched becomes a `pending` item, and its queued
fetch job is pointed at that item.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

subjects = sa.table(
    'subjects', sa.column('id', Id), sa.column('media_sha256', sa.String), sa.column('media_md5', sa.String),
    sa.column('media_type', sa.String), sa.column('media_url', sa.String), sa.column('updated_at', sa.DateTime),
)
blobs = sa.table('blobs', sa.column('sha256', sa.String), sa.column('size', sa.BigInteger))
items = sa.table(
    'media_items', sa.column('id', Id), sa.column('subject_id', Id), sa.column('position', sa.Integer),
    sa.column('blob_sha256', sa.String), sa.column('inline', sa.Boolean), sa.column('size', sa.BigInteger),
    sa.column('source', sa.String), sa.column('source_url', sa.String), sa.column('status', sa.String),
    sa.column('created_at', sa.DateTime), sa.column('updated_at', sa.DateTime), sa.column('content_type', sa.String),
)
hashes = sa.table('media_hashes', sa.column('media_item_id', Id), sa.column('algorithm', sa.String), sa.column('value', sa.String))
jobs = sa.table('jobs', sa.column('id', Id), sa.column('kind', sa.String), sa.column('status', sa.String), sa.column('payload', sa.JSON))


def upgrade() -> None:
    op.create_table('media_items',
    sa.Column('id', Id, nullable=False),
    sa.Column('subject_id', Id, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('blob_sha256', sa.String(length=64), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=True),
    sa.Column('inline', sa.Boolean(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('source_url', sa.String(length=2000), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('refused_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['blob_sha256'], ['blobs.sha256'], ),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subject_id', 'blob_sha256'),
    sa.UniqueConstraint('subject_id', 'position')
    )
    with op.batch_alter_table('media_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_items_blob_sha256'), ['blob_sha256'], unique=False)

    op.create_table('media_hashes',
    sa.Column('media_item_id', Id, nullable=False),
    sa.Column('algorithm', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['media_item_id'], ['media_items.id'], ),
    sa.PrimaryKeyConstraint('media_item_id', 'algorithm')
    )
    with op.batch_alter_table('media_hashes', schema=None) as batch_op:
        batch_op.create_index('ix_media_hashes_value', ['algorithm', 'value'], unique=False)

    _move_media_into_items()

    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subjects_media_sha256'))
        batch_op.drop_index(batch_op.f('ix_subjects_media_md5'))
        batch_op.drop_column('media_type')
        batch_op.drop_column('media_md5')
        batch_op.drop_column('media_sha256')


def _move_media_into_items() -> None:
    conn = op.get_bind()
    source = sa.case((subjects.c.media_url.is_not(None), 'url'), else_='upload')
    size = sa.select(blobs.c.size).where(blobs.c.sha256 == subjects.c.media_sha256).scalar_subquery()
    conn.execute(items.insert().from_select(
        ['subject_id', 'position', 'blob_sha256', 'inline', 'size', 'source', 'source_url', 'status', 'created_at', 'updated_at'],
        sa.select(
            subjects.c.id, sa.literal(0), subjects.c.media_sha256, sa.false(), size, source, subjects.c.media_url,
            sa.literal('unchecked'), subjects.c.updated_at, subjects.c.updated_at,
        ).where(subjects.c.media_sha256.is_not(None)),
    ))
    conn.execute(items.insert().from_select(
        ['subject_id', 'position', 'inline', 'source', 'source_url', 'status', 'created_at', 'updated_at'],
        sa.select(
            subjects.c.id, sa.literal(0), sa.false(), sa.literal('url'), subjects.c.media_url,
            sa.literal('pending'), subjects.c.updated_at, subjects.c.updated_at,
        ).where(subjects.c.media_sha256.is_(None), subjects.c.media_url.is_not(None)),
    ))
    for algorithm, column in (('sha256', subjects.c.media_sha256), ('md5', subjects.c.media_md5)):
        conn.execute(hashes.insert().from_select(
            ['media_item_id', 'algorithm', 'value'],
            sa.select(items.c.id, sa.literal(algorithm), column)
            .join(subjects, subjects.c.id == items.c.subject_id).where(column.is_not(None)),
        ))
    pending = dict(conn.execute(sa.select(items.c.subject_id, items.c.id).where(items.c.status == 'pending')).all())
    live = conn.execute(
        sa.select(jobs.c.id, jobs.c.payload).where(jobs.c.kind == 'fetch_media', jobs.c.status.in_(('queued', 'running')))
    ).all()
    for job_id, payload in live:
        item_id = pending.get(int(payload.get('subject_id', 0)))
        if item_id is not None:
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(payload={'media_item_id': item_id}))


def downgrade() -> None:
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('media_md5', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('media_type', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_subjects_media_md5'), ['media_md5'], unique=False)
        batch_op.create_index(batch_op.f('ix_subjects_media_sha256'), ['media_sha256'], unique=False)

    conn = op.get_bind()
    md5 = hashes.alias('md5')
    rows = conn.execute(
        sa.select(items.c.subject_id, items.c.blob_sha256, items.c.content_type, md5.c.value)
        .outerjoin(md5, (md5.c.media_item_id == items.c.id) & (md5.c.algorithm == 'md5'))
        .where(items.c.blob_sha256.is_not(None)).order_by(items.c.subject_id, items.c.position.desc())
    ).all()
    first = {subject_id: row for subject_id, *row in rows}  # the lowest position wins, coming last
    for subject_id, (sha256, content_type, md5_value) in first.items():
        conn.execute(subjects.update().where(subjects.c.id == subject_id).values(
            media_sha256=sha256, media_md5=md5_value, media_type=content_type,
        ))

    with op.batch_alter_table('media_hashes', schema=None) as batch_op:
        batch_op.drop_index('ix_media_hashes_value')
    op.drop_table('media_hashes')
    with op.batch_alter_table('media_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_items_blob_sha256'))
    op.drop_table('media_items')
