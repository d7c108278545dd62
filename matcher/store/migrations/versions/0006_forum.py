"""forum seating: events with run state, participants (several per organisation), meetings

The forum tables were created empty in 0001 and never written, so they are rebuilt.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 17:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _drop_forum() -> None:
    for table in ('forummeeting', 'seatassignment', 'participant', 'forumevent'):
        if sa.inspect(op.get_bind()).has_table(table):
            op.drop_table(table)


def upgrade() -> None:
    _drop_forum()
    op.create_table(
        'forumevent',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('held_on', sa.DateTime(timezone=True), nullable=True),
        sa.Column('tables', sa.Integer(), nullable=False),
        sa.Column('seats_per_table', sa.Integer(), nullable=False),
        sa.Column('rounds', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('progress', sa.JSON(), nullable=False),
        sa.Column('objective', sa.Integer(), nullable=True),
        sa.Column('upper_bound', sa.Integer(), nullable=True),
        sa.Column('seated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'participant',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), sa.ForeignKey('forumevent.id'), nullable=False),
        sa.Column('org_id', sa.Integer(), sa.ForeignKey('organization.id'), nullable=False),
        sa.Column('person', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('wishes', sa.JSON(), nullable=False),
        sa.Column('avoid', sa.JSON(), nullable=False),
        sa.Column('host_table', sa.Integer(), nullable=True),
        sa.Column('cancelled', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id', 'org_id', 'person', name='uq_participant_event_org_person'),
    )
    op.create_index('ix_participant_event_id', 'participant', ['event_id'])
    op.create_table(
        'seatassignment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), sa.ForeignKey('forumevent.id'), nullable=False),
        sa.Column('participant_id', sa.Integer(), sa.ForeignKey('participant.id'), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('table_no', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_seatassignment_event_id', 'seatassignment', ['event_id'])
    op.create_table(
        'forummeeting',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), sa.ForeignKey('forumevent.id'), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('table_no', sa.Integer(), nullable=False),
        sa.Column('participant_a', sa.Integer(), sa.ForeignKey('participant.id'), nullable=False),
        sa.Column('participant_b', sa.Integer(), sa.ForeignKey('participant.id'), nullable=False),
        sa.Column('affinity', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_forummeeting_event_id', 'forummeeting', ['event_id'])


def downgrade() -> None:
    _drop_forum()
