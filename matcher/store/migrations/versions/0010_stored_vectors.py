"""document vectors in the store, by model, prompt and content hash, so that any machine builds an
index version without embedding again (and embedding can be spread over workers)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'storedvector',
        sa.Column('model', sa.String(length=120), nullable=False),
        sa.Column('prompt', sa.String(length=16), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('vector', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('model', 'prompt', 'content_hash'),
    )


def downgrade() -> None:
    op.drop_table('storedvector')
