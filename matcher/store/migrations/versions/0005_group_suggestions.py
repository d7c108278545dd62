"""joint-order groups: a suggestion lists its members; inferred capabilities keep their evidence

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 16:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('suggestion') as batch:
        batch.add_column(sa.Column('members', sa.JSON(), nullable=True))
    with op.batch_alter_table('capability') as batch:
        batch.add_column(sa.Column('evidence', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('capability') as batch:
        batch.drop_column('evidence')
    with op.batch_alter_table('suggestion') as batch:
        batch.drop_column('members')
