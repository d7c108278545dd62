"""one job table for every background run; outbox claims and stored unsubscribe URLs; the
organisations behind both sides of a suggestion and its reason's parts; the organisation of a
company reply; decisions dated in the future brought back to when they were stored

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('handler', sa.String(length=200), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('lock_key', sa.String(length=100), nullable=True),
        sa.Column('coalesce_key', sa.String(length=100), nullable=True),
        sa.Column('subject', sa.String(length=100), nullable=False, server_default=''),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('done', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('progress', sa.JSON(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('error_detail', sa.Text(), nullable=True),
        sa.Column('worker', sa.String(length=200), nullable=True),
        sa.Column('cancel_requested', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('created_at', T(), nullable=False),
        sa.Column('started_at', T(), nullable=True),
        sa.Column('heartbeat_at', T(), nullable=True),
        sa.Column('finished_at', T(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('lock_key'),
        sa.UniqueConstraint('coalesce_key'),
    )
    for col in ('kind', 'state', 'subject'):
        op.create_index(f'ix_job_{col}', 'job', [col])
    # Earlier indexing runs become index jobs (their history stays on the import page).
    op.execute("""
        INSERT INTO job (id, kind, handler, state, subject, params, total, done, progress, result, error,
                         cancel_requested, created_at, started_at, finished_at)
        SELECT id, 'index', 'matcher.services.jobs:run_index',
               CASE WHEN state IN ('queued', 'running') THEN 'failed' ELSE state END, 'index',
               '{}', total, done, '{}', result,
               CASE WHEN state IN ('queued', 'running') THEN 'アップグレードのため中断しました。もう一度実行できます。'
                    ELSE error END,
               false, created_at, started_at, COALESCE(finished_at, created_at)
        FROM indexjob""")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("SELECT setval(pg_get_serial_sequence('job', 'id'), COALESCE((SELECT MAX(id) FROM job), 0) + 1, false)")
    op.drop_table('indexjob')

    # A forum's state is now whether a seating is stored; runs are jobs.
    op.execute("UPDATE forumevent SET state = CASE WHEN seated_at IS NOT NULL THEN 'seated' ELSE 'draft' END "
               "WHERE state <> 'seated'")

    with op.batch_alter_table('emailmessage') as batch:
        batch.add_column(sa.Column('unsubscribe_url', sa.Text(), nullable=False, server_default=''))
        batch.add_column(sa.Column('claimed_by', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('claimed_at', T(), nullable=True))
        batch.create_index('ix_emailmessage_status', ['status'])
    # Messages not yet sent keep the unsubscribe URL they were composed with: the last such line
    # of their own body (names and titles come before it; ours is always the last line).
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, body FROM emailmessage WHERE status <> 'sent'")).all()
    for msg_id, body in rows:
        lines = [ln for ln in (body or '').split('\n') if ln.startswith('配信停止: ')]
        if lines:
            bind.execute(sa.text("UPDATE emailmessage SET unsubscribe_url = :u WHERE id = :i"),
                         {"u": lines[-1].split(': ', 1)[1].strip(), "i": msg_id})

    with op.batch_alter_table('suggestion') as batch:
        batch.add_column(sa.Column('requester_org_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('candidate_org_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('detail', sa.JSON(), nullable=True))
        batch.create_index('ix_suggestion_requester_org_id', ['requester_org_id'])
        batch.create_index('ix_suggestion_candidate_org_id', ['candidate_org_id'])
    op.execute("UPDATE suggestion SET requester_org_id = (SELECT org_id FROM need WHERE need.id = suggestion.query_id) "
               "WHERE query_type = 'need'")
    op.execute("UPDATE suggestion SET requester_org_id = query_id WHERE query_type = 'organization'")
    op.execute("UPDATE suggestion SET requester_org_id = (SELECT org_id FROM researchseed WHERE researchseed.id = "
               "suggestion.query_id) WHERE query_type = 'seed'")
    op.execute("UPDATE suggestion SET candidate_org_id = candidate_id WHERE candidate_type IN ('organization', 'group')")
    op.execute("UPDATE suggestion SET candidate_org_id = (SELECT org_id FROM researchseed WHERE researchseed.id = "
               "suggestion.candidate_id) WHERE candidate_type = 'seed'")

    with op.batch_alter_table('decision') as batch:
        batch.add_column(sa.Column('org_id', sa.Integer(), nullable=True))
        batch.create_index('ix_decision_org_id', ['org_id'])
    # Who answered: a mail link's reply says "mail:<org id>", a logged-in company's its user.
    rows = bind.execute(sa.text("SELECT d.id, d.coordinator, d.comment, d.kind FROM decision d "
                                "WHERE d.kind IN ('company_reply', 'group_drop')")).all()
    users = dict(bind.execute(sa.text('SELECT email, org_id FROM "user"')).all())
    for dec_id, by, comment, kind in rows:
        org = None
        if kind == 'group_drop' and (comment or '').isdigit():
            org = int(comment)
        elif (by or '').startswith('mail:') and by[5:].isdigit():
            org = int(by[5:])
        elif by in users:
            org = users[by]
        if org is not None:
            bind.execute(sa.text("UPDATE decision SET org_id = :o WHERE id = :i"), {"o": org, "i": dec_id})
    # A client-dated decision in the future stayed "latest" forever: it counts from when it was stored.
    op.execute("UPDATE decision SET decided_at = created_at WHERE decided_at > created_at")


def downgrade() -> None:
    raise NotImplementedError("0008 is not reversible (index jobs were merged into the job table)")
