"""人材: the person registry (advisors, working experts, students), their invitations and links

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'person',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('external_id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('category', sa.String(length=16), nullable=False),
        sa.Column('background', sa.Text(), nullable=False),
        sa.Column('specialities', sa.Text(), nullable=False),
        sa.Column('intro', sa.Text(), nullable=False),
        sa.Column('hours_per_month', sa.Integer(), nullable=True),
        sa.Column('contact_mode', sa.String(length=8), nullable=False),
        sa.Column('city', sa.String(length=100), nullable=True),
        sa.Column('languages', sa.Text(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('affiliation', sa.String(length=64), nullable=True),
        sa.Column('conflicts', sa.Text(), nullable=False),
        sa.Column('consent', sa.Boolean(), nullable=False),
        sa.Column('unsubscribed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('erased_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('publish', sa.Boolean(), nullable=False),
        sa.Column('fictional', sa.Boolean(), nullable=False),
        sa.Column('record_hash', sa.String(length=64), nullable=False),
        sa.Column('source_file', sa.String(length=300), nullable=True),
        sa.Column('source_row', sa.Integer(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_person_external_id', 'person', ['external_id'], unique=True)
    # A person's invitation and its links are the person's: no company behind them.
    with op.batch_alter_table('maillink') as batch:
        batch.alter_column('org_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('person_id', sa.Integer(), nullable=True))
        batch.create_index('ix_maillink_person_id', ['person_id'])
    with op.batch_alter_table('emailmessage') as batch:
        batch.add_column(sa.Column('person_id', sa.Integer(), nullable=True))
        batch.create_index('ix_emailmessage_person_id', ['person_id'])
    with op.batch_alter_table('suggestion') as batch:
        batch.add_column(sa.Column('hours', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('suggestion') as batch:
        batch.drop_column('hours')
    with op.batch_alter_table('emailmessage') as batch:
        batch.drop_index('ix_emailmessage_person_id')
        batch.drop_column('person_id')
    op.execute("DELETE FROM maillink WHERE org_id IS NULL")
    with op.batch_alter_table('maillink') as batch:
        batch.drop_index('ix_maillink_person_id')
        batch.drop_column('person_id')
        batch.alter_column('org_id', existing_type=sa.Integer(), nullable=False)
    op.drop_index('ix_person_external_id', table_name='person')
    op.drop_table('person')
