"""JSON columns for structured values; per-scope store version counters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 14:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

JSON_COLUMNS = (("suggestion", "features"), ("modelversion", "metrics"), ("modelversion", "features"),
                ("auditlog", "detail"))


def upgrade() -> None:
    bind = op.get_bind()
    for table, column in JSON_COLUMNS:
        # Old rows hold JSON text; a blank one (never written by the engine, but possible by hand)
        # becomes {} so every row reads back.
        op.execute(f"UPDATE {table} SET {column} = '{{}}' WHERE trim({column}) = ''")
        if bind.dialect.name == "postgresql":
            op.alter_column(table, column, type_=sa.JSON(), existing_nullable=False,
                            postgresql_using=f"{column}::json")
        else:
            with op.batch_alter_table(table) as batch:
                batch.alter_column(column, type_=sa.JSON(), existing_nullable=False)
    version = op.create_table(
        'storeversion',
        sa.Column('scope', sa.String(length=16), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('scope'))
    op.bulk_insert(version, [{"scope": "data", "version": 0}, {"scope": "decisions", "version": 0}])


def downgrade() -> None:
    op.drop_table('storeversion')
    for table, column in JSON_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.Text(), existing_nullable=False)
