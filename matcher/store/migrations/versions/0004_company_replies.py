"""company replies: decisions of kind company_reply, with a comment

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 15:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('decision') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='coordinator'))
        batch.add_column(sa.Column('comment', sa.Text(), nullable=True))
        batch.alter_column('verdict', type_=sa.String(length=16), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('decision') as batch:
        batch.drop_column('comment')
        batch.drop_column('kind')
