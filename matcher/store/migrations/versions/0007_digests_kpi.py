"""email digests (outbox, items told, signed links), public/confidential needs, bouncing
addresses, KPI outcome indicators

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 18:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('need') as batch:
        batch.add_column(sa.Column('public', sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table('organization') as batch:
        batch.add_column(sa.Column('email_bouncing_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('emailmessage') as batch:
        batch.add_column(sa.Column('body_html', sa.Text(), nullable=False, server_default=''))
        batch.add_column(sa.Column('message_id', sa.String(length=200), nullable=False, server_default=''))
    op.create_table(
        'digestitem',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), sa.ForeignKey('organization.id'), nullable=False),
        sa.Column('suggestion_id', sa.Integer(), sa.ForeignKey('suggestion.id'), nullable=False),
        sa.Column('message_id', sa.Integer(), sa.ForeignKey('emailmessage.id'), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('org_id', 'suggestion_id', name='uq_digestitem_org_suggestion'),
    )
    op.create_index('ix_digestitem_org_id', 'digestitem', ['org_id'])
    op.create_index('ix_digestitem_message_id', 'digestitem', ['message_id'])
    op.create_table(
        'maillink',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('message_id', sa.Integer(), sa.ForeignKey('emailmessage.id'), nullable=False),
        sa.Column('org_id', sa.Integer(), sa.ForeignKey('organization.id'), nullable=False),
        sa.Column('suggestion_id', sa.Integer(), sa.ForeignKey('suggestion.id'), nullable=True),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_maillink_message_id', 'maillink', ['message_id'])
    op.create_table(
        'outcome',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('fy', sa.Integer(), nullable=False),
        sa.Column('establishments', sa.Integer(), nullable=True),
        sa.Column('value_added', sa.Integer(), nullable=True),
        sa.Column('value_added_per_worker', sa.Float(), nullable=True),
        sa.Column('source', sa.String(length=200), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('fy'),
    )


def downgrade() -> None:
    op.drop_table('outcome')
    op.drop_table('maillink')
    op.drop_table('digestitem')
    with op.batch_alter_table('emailmessage') as batch:
        batch.drop_column('message_id')
        batch.drop_column('body_html')
    with op.batch_alter_table('organization') as batch:
        batch.drop_column('email_bouncing_at')
    with op.batch_alter_table('need') as batch:
        batch.drop_column('public')
