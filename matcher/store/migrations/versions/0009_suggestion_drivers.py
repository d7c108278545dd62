"""the score breakdown (drivers) and covered processes stored with each suggestion, so every
reader shows the breakdown the edge was scored with instead of recomputing it

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows stored before this revision keep no breakdown (null): it was never recorded, and
    # recomputing it under today's ranker would show something the edge was not scored with.
    with op.batch_alter_table('suggestion') as batch:
        batch.add_column(sa.Column('drivers', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('covered', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('suggestion') as batch:
        batch.drop_column('covered')
        batch.drop_column('drivers')
