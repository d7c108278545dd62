"""SQLModel tables: the engine's whole persistent state (see DESIGN.md, data model).

Lists (JSIC codes, processes, certifications) are stored as ``;``-joined text: they are always
read whole and searched with LIKE, which a plain column keeps identical on SQLite and
PostgreSQL. Structured values (feature snapshots, metrics, audit details) are JSON columns.
Every datetime column is SQLModel's ``UTCDateTime``: aware UTC in and out, on SQLite as on
PostgreSQL, so nothing reading the store guesses a zone. Decisions and the audit log are
append-only by construction (nothing in the library updates or deletes them). ``StoreVersion`` counts changes per scope, so caches key on it
(``matcher.store.db``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from matcher.dates import utcnow
from matcher.text import id_key


def join_list(items) -> str:
    return ";".join(items)


def erased_person_key(external_id: str) -> str:
    """What an erased person's row keeps of their 人材ID: its SHA-256, so a roster file that still
    lists them is refused rather than registering them again, while the row names no one."""
    return hashlib.sha256(f"person:{id_key(external_id)}".encode()).hexdigest()


def split_list(text: str | None) -> list[str]:
    return [x for x in (text or "").split(";") if x]


ORG_KINDS = ("company", "university", "institute", "support", "buyer")


class Organization(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(index=True, unique=True, max_length=64)
    kind: str = Field(default="company", max_length=16)
    name: str = Field(max_length=200)
    kana: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100, index=True)
    address: str | None = Field(default=None, max_length=300)
    employees: int | None = None
    capital: int | None = None  # yen
    jsic_codes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    processes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    equipment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    certifications: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    corporate_group: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=254)
    email_opt_in: bool = False
    unsubscribed_at: datetime | None = None
    email_bouncing_at: datetime | None = None  # a 5xx for this address: no digests until it is edited
    publish: bool = True  # consent to appear in the public technology directory
    fictional: bool = False
    record_hash: str = Field(default="", max_length=64)
    source_file: str | None = Field(default=None, max_length=300)
    source_row: int | None = None
    deleted_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Document(SQLModel, table=True):
    """A text the engine searches: an organisation's profile, equipment, processes, a need or a seed."""

    __table_args__ = (UniqueConstraint("owner_type", "owner_id", "kind", name="uq_document_owner_kind"),)
    id: int | None = Field(default=None, primary_key=True)
    owner_type: str = Field(max_length=16)  # organization | need | seed
    owner_id: int = Field(index=True)
    kind: str = Field(max_length=24)  # profile | processes | equipment | track_record | need | seed
    title: str | None = Field(default=None, max_length=300)
    text: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str = Field(max_length=64)
    indexed_hash: str | None = Field(default=None, max_length=64)  # what the indexes hold now
    source_file: str | None = Field(default=None, max_length=300)
    source_row: int | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class IndustryCode(SQLModel, table=True):
    """A JSIC industry code of an organisation, declared in its import (``jsic:<code>``) or
    inferred from its profile (with the sentence that implied it). Process tags (加工・工程) are a
    different vocabulary, kept on ``Organization.processes``."""

    __tablename__ = "capability"
    __table_args__ = (UniqueConstraint("org_id", "code", name="uq_capability_org_code"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organization.id", index=True)
    code: str = Field(max_length=32)
    source: str = Field(default="declared", max_length=16)  # declared | inferred
    confidence: float = 1.0
    evidence: str | None = Field(default=None, sa_column=Column(Text))  # inferred: the phrase that implied it


class Need(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(index=True, unique=True, max_length=64)
    org_id: int = Field(foreign_key="organization.id", index=True)
    title: str = Field(max_length=300)
    text: str = Field(sa_column=Column(Text, nullable=False))
    required_processes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(default="open", max_length=16)
    public: bool = True  # 公開: may be introduced to other companies (非公開: coordinators only)
    fictional: bool = False
    record_hash: str = Field(default="", max_length=64)
    source_file: str | None = Field(default=None, max_length=300)
    source_row: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ResearchSeed(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(index=True, unique=True, max_length=64)
    org_id: int | None = Field(default=None, foreign_key="organization.id")
    institution: str | None = Field(default=None, max_length=200)
    title: str = Field(max_length=400)
    keywords: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    url: str | None = Field(default=None, max_length=300)
    source: str | None = Field(default=None, max_length=100)  # e.g. "KAKEN (CC BY 4.0)"
    fictional: bool = False
    record_hash: str = Field(default="", max_length=64)
    source_file: str | None = Field(default=None, max_length=300)
    source_row: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


PERSON_CATEGORIES = ("senior", "active", "student", "international", "other")
CONTACT_MODES = ("visit", "online", "both")


class Person(SQLModel, table=True):
    """人材: an advisor, a working expert taking side jobs, a student or an international student.

    Personal data: a person without ``consent`` is stored (the roster is the office's) but never
    suggested, and has no searchable document; a consenting person has one (owner_type
    ``person``), removed with the consent or the registration, after which the next sync
    tombstones it and compaction drops it. ``affiliation`` and ``conflicts`` are 企業ID as
    imported, resolved when matching (an employer may be imported after its people)."""

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(index=True, unique=True, max_length=64)
    name: str = Field(max_length=100)
    category: str = Field(default="other", max_length=16)  # PERSON_CATEGORIES
    background: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # 所属・経歴
    specialities: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # ;-joined
    intro: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # 紹介文
    hours_per_month: int | None = None
    contact_mode: str = Field(default="both", max_length=8)  # CONTACT_MODES
    city: str | None = Field(default=None, max_length=100)
    languages: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # ;-joined
    email: str | None = Field(default=None, max_length=254)
    affiliation: str | None = Field(default=None, max_length=64)  # 所属企業ID
    conflicts: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # ;-joined 企業ID
    consent: bool = False  # 本人同意: may be suggested at all
    unsubscribed_at: datetime | None = None  # 配信停止 from a mail: no more proposals, not suggested
    erased_at: datetime | None = None  # 登録削除: every personal field blanked, the anonymous row kept
    erased_key: str | None = Field(default=None, index=True, max_length=64)  # erased_person_key of the old 人材ID
    publish: bool = False  # 公開: may appear outside the office (after the person agrees to a proposal)
    fictional: bool = False
    record_hash: str = Field(default="", max_length=64)
    source_file: str | None = Field(default=None, max_length=300)
    source_row: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Suggestion(SQLModel, table=True):
    __table_args__ = (Index("ix_suggestion_query", "query_type", "query_id"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, max_length=40)
    query_type: str = Field(max_length=16)  # need | seed | organization
    query_id: int
    candidate_type: str = Field(max_length=16)  # organization | seed | person
    candidate_id: int = Field(index=True)
    # The organisations behind both sides (a need's requester, a seed's institution, the
    # organisation itself): who may see the suggestion is decided on these.
    requester_org_id: int | None = Field(default=None, index=True)
    candidate_org_id: int | None = Field(default=None, index=True)
    kind: str = Field(max_length=16)  # partner | seed | group | person
    rank: int
    score: float
    model_version: str = Field(max_length=64)
    hours: int | None = None  # kind "person": the monthly hours one engagement takes (the batch's setting)
    features: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # kind "group": [{"org_id", "role": lead|member, "covers": [...], "features": {...}}]
    members: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    explanation: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # The reason's parts (graph.explain.EdgeReason), so each reader gets the reason it may read.
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The score breakdown as the edge was scored (feature → contribution, largest first) and the
    # required processes it covers; null on rows stored before they were recorded.
    drivers: dict[str, float] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    covered: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)


class Decision(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    suggestion_id: int = Field(foreign_key="suggestion.id", index=True)
    # coordinator: accept | reject | skip; company_reply: interested | declined;
    # person_reply: agreed | declined (the person proposed, before any company hears of them)
    kind: str = Field(default="coordinator", max_length=16)
    verdict: str = Field(max_length=16)
    comment: str | None = Field(default=None, sa_column=Column(Text))
    reason: str | None = Field(default=None, max_length=32)
    coordinator: str | None = Field(default=None, max_length=254)
    # company_reply: the organisation that answered (each side of a pair answers for itself);
    # group_drop: the member a coordinator dropped.
    org_id: int | None = Field(default=None, index=True)
    decided_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)


class Constraint(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # conflict | competitor | same_group | forced_pair | opt_out
    org_a: int = Field(foreign_key="organization.id", index=True)
    org_b: int | None = Field(default=None, foreign_key="organization.id")
    note: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class ModelVersion(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(unique=True, max_length=64)
    kind: str = Field(max_length=32)
    path: str = Field(max_length=500)
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    features: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    events_used: int = 0
    data_from: datetime | None = None
    data_to: datetime | None = None
    status: str = Field(default="candidate", max_length=16)  # candidate | active | retired
    note: str | None = Field(default=None, sa_column=Column(Text))
    trained_at: datetime = Field(default_factory=utcnow)


class ForumEvent(SQLModel, table=True):
    """One 産業人フォーラム. ``state`` says whether a seating is stored (draft | seated: the chart can
    be printed); ``progress`` holds the stored seating's figures. A seating *run* is a ``Job``
    (kind ``seating``, subject ``forum:<id>``), so a new run never hides the chart of the last."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    held_on: datetime | None = None
    tables: int = 0
    seats_per_table: int = 0
    rounds: int = 1
    state: str = Field(default="draft", max_length=16)
    progress: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    objective: int | None = None
    upper_bound: int | None = None
    seated_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Participant(SQLModel, table=True):
    """A person attending a forum for an organisation (one organisation may send several)."""

    __table_args__ = (UniqueConstraint("event_id", "org_id", "person", name="uq_participant_event_org_person"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="forumevent.id", index=True)
    org_id: int = Field(foreign_key="organization.id")
    person: str = Field(max_length=200)
    kind: str = Field(default="company", max_length=16)
    wishes: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # organisation ids
    avoid: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # organisation ids
    host_table: int | None = None  # a table host stays at this table in every round
    cancelled: bool = False


class SeatAssignment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="forumevent.id", index=True)
    participant_id: int = Field(foreign_key="participant.id")
    round: int
    table_no: int


class ForumMeeting(SQLModel, table=True):
    """Two participants who share a table in a round, with why the engine wanted them to meet."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="forumevent.id", index=True)
    round: int
    table_no: int
    participant_a: int = Field(foreign_key="participant.id")
    participant_b: int = Field(foreign_key="participant.id")
    affinity: int = 0
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class EmailMessage(SQLModel, table=True):
    """The outbox: one row per digest (queued → sending → sent | failed | bounced).
    ``idempotency_key`` is (company, digest period), so a run repeated or resumed never makes a
    second message; a run claims a row (queued → sending, compare-and-set) before it sends it, so
    concurrent runs never send one twice."""

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=128)
    org_id: int | None = Field(default=None, foreign_key="organization.id")
    person_id: int | None = Field(default=None, index=True)  # a person's invitation (人材); deleted with them
    to_address: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    message_id: str = Field(default="", max_length=200)
    unsubscribe_url: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(default="queued", max_length=16, index=True)  # queued | sending | sent | failed | bounced
    claimed_by: str | None = Field(default=None, max_length=200)  # the run sending it (status "sending")
    claimed_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))  # the SMTP server's answer
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class DigestItem(SQLModel, table=True):
    """A suggestion told to a company in a digest: never told to it again."""

    __table_args__ = (UniqueConstraint("org_id", "suggestion_id", name="uq_digestitem_org_suggestion"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organization.id", index=True)
    suggestion_id: int = Field(foreign_key="suggestion.id")
    message_id: int = Field(foreign_key="emailmessage.id", index=True)
    kind: str = Field(max_length=16)  # accepted | introduction | suggested


class MailLink(SQLModel, table=True):
    """A signed one-click link in an email (reply, unsubscribe, desk): only its hash is stored;
    replies are single-use and every link expires."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    message_id: int = Field(foreign_key="emailmessage.id", index=True)
    org_id: int | None = Field(default=None, foreign_key="organization.id")  # a company's link
    person_id: int | None = Field(default=None, index=True)  # or a person's (人材)
    suggestion_id: int | None = Field(default=None, foreign_key="suggestion.id")
    # companies: interested | declined | unsubscribe | desk; people: agree | decline | unsubscribe | erase
    action: str = Field(max_length=16)
    expires_at: datetime
    used_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Outcome(SQLModel, table=True):
    """The plan's outcome indicators for one fiscal year, from official statistics."""

    id: int | None = Field(default=None, primary_key=True)
    fy: int = Field(unique=True)
    establishments: int | None = None  # 事業所数
    value_added: int | None = None  # 付加価値額（百万円）
    value_added_per_worker: float | None = None  # 一人当たり付加価値額（万円）
    source: str | None = Field(default=None, max_length=200)
    updated_at: datetime = Field(default_factory=utcnow)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=254)
    password_hash: str = Field(max_length=300)
    role: str = Field(max_length=16)  # admin | coordinator | company
    org_id: int | None = Field(default=None, foreign_key="organization.id")
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class AuthSession(SQLModel, table=True):
    """A log-in: the id is what a signed cookie or bearer token carries. Revoked, never deleted."""

    id: str = Field(primary_key=True, max_length=32)
    user_id: int = Field(foreign_key="user.id", index=True)
    kind: str = Field(default="cookie", max_length=16)  # cookie | bearer
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None


class Job(SQLModel, table=True):
    """One background run (indexing, a forum seating, …), whichever worker runs it.

    ``handler`` names the function that does the work (``module:function``), so a worker on any
    machine runs what the row says. ``lock_key`` (held while queued or running) allows one active
    job per key (one seating per event); ``coalesce_key`` (held while queued) makes a second
    request join the queued job instead (indexing indexes everything stale anyway). A running
    job beats its ``heartbeat_at``; one whose worker died is failed at the next start-up.
    """

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)  # index | seating
    handler: str = Field(max_length=200)
    state: str = Field(default="queued", max_length=16, index=True)  # queued | running | done | failed | cancelled
    lock_key: str | None = Field(default=None, max_length=100, unique=True)
    coalesce_key: str | None = Field(default=None, max_length=100, unique=True)
    subject: str = Field(default="", max_length=100, index=True)  # what it is about, e.g. "forum:3"
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    total: int = 0
    done: int = 0
    progress: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text))  # Japanese, shown on the desk
    error_detail: str | None = Field(default=None, sa_column=Column(Text))  # technical, for the log
    worker: str | None = Field(default=None, max_length=200)  # host:pid of the process running it
    cancel_requested: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    heartbeat_at: datetime | None = None
    finished_at: datetime | None = None


class StoredVector(SQLModel, table=True):
    """A document vector by what it is comparable under (model, prompt) and the text's content
    hash: what any machine builds an index version from without embedding again. float16 bytes
    (half the space of float32; about 1e-4 on a cosine)."""

    model: str = Field(primary_key=True, max_length=120)
    prompt: str = Field(primary_key=True, max_length=16)
    content_hash: str = Field(primary_key=True, max_length=64)
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class AuditLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str | None = Field(default=None, max_length=254)
    action: str = Field(max_length=64)
    target: str | None = Field(default=None, max_length=200)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class StoreVersion(SQLModel, table=True):
    """A counter per scope ("data": organisations, needs, seeds, documents, constraints, ranker
    versions; "decisions"), bumped in the same transaction as the change it counts."""

    scope: str = Field(primary_key=True, max_length=16)
    version: int = 0
