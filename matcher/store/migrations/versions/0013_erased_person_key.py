"""人材: an erased person's 人材ID kept as a SHA-256 key, so a stale roster cannot register them again

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 03:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('person') as batch:
        batch.add_column(sa.Column('erased_key', sa.String(length=64), nullable=True))
        batch.create_index('ix_person_erased_key', ['erased_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('person') as batch:
        batch.drop_index('ix_person_erased_key')
        batch.drop_column('erased_key')
