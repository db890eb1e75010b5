"""search: identifier digests, full-text indexes over report and subject text

`identifier_digests` holds a keyed digest of each personal identifier (email, phone, IP,
device id, payment fingerprint, phone hash) with the subject or report carrying it. The key
comes from `TRUSTDESK_SECRET_KEY`, which a migration does not have: `trustdesk db upgrade`
fills the table for rows received before this migration (`trustdesk search reindex` does it
again at any time, for example after the secret key changed).

Full text: on SQLite, FTS5 tables over the rows (external content) kept current by triggers,
filled here; on PostgreSQL, GIN indexes over `to_tsvector('simple', …)`, built here. The
expressions are those of `trustdesk.store.full_text`.

Revision ID: 0013
Revises: 0014
Create Date: 2026-12-06 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0014'
branch_labels = None
depends_on = None

# table → (FTS table, indexed columns)
_SQLITE_FTS = {
    'reports': ('reports_fts', ('text', 'dsa_explanation')),
    'subjects': ('subjects_fts', ('title', 'text')),
}
_POSTGRES_GIN = {
    'ix_reports_text_search': ('reports', "coalesce(text, '') || ' ' || coalesce(dsa_explanation, '')"),
    'ix_subjects_text_search': ('subjects', "coalesce(title, '') || ' ' || coalesce(text, '')"),
}


def upgrade() -> None:
    op.create_table('identifier_digests',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=16), nullable=False),
    sa.Column('object_id', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'digest', 'object_type', 'object_id')
    )
    if op.get_bind().dialect.name == 'postgresql':
        for index, (table, document) in _POSTGRES_GIN.items():
            op.execute(f"CREATE INDEX {index} ON {table} USING gin (to_tsvector('simple', {document}))")
        return
    for table, (fts, columns) in _SQLITE_FTS.items():
        cols = ', '.join(columns)
        new = ', '.join(f'new.{c}' for c in columns)
        old = ', '.join(f'old.{c}' for c in columns)
        op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{table}', content_rowid='id', "
                   "tokenize='unicode61 remove_diacritics 2')")
        op.execute(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
                   f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END")
        op.execute(f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN "
                   f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END")
        op.execute(f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {cols} ON {table} BEGIN "
                   f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); "
                   f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END")
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for index, (table, _document) in _POSTGRES_GIN.items():
            op.drop_index(index, table_name=table)
    else:
        for fts, _columns in _SQLITE_FTS.values():
            for trigger in ('insert', 'delete', 'update'):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_{trigger}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")
    op.drop_table('identifier_digests')
