"""The scored graph's typed objects.

Parties are the nodes (an organisation, a research seed, a need); a ``ScoredEdge`` is one
(query, candidate) edge with everything later stages read — features, score, covered
processes, distance class, matched terms, the exclusion reason — so rendering never has to
recompute any of it. A ``Shortlist`` is one query's edges in rank order; a ``ScoredGraph`` is a
batch (every open need at once) with the exposure caps' report. Groups, seating and digests read
the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from matcher.search.retrieve import Hit

if TYPE_CHECKING:
    from matcher.graph.explain import EdgeReason

PartyType = Literal["organization", "need", "seed", "person"]
CandidateType = Literal["organization", "seed", "person"]
ShortlistKind = Literal["partners", "seeds", "people", "all"]
# "all" is what a need's page shows by default: partners and seeds. People are asked for by name
# (``people``): their lists go to the person first, never straight to the company.
CANDIDATE_TYPES: dict[str, tuple[CandidateType, ...]] = {
    "partners": ("organization",), "seeds": ("seed",), "people": ("person",), "all": ("organization", "seed")}


@dataclass(frozen=True, kw_only=True)
class Party:
    """Either side of an edge. Built in one place per type (``matcher.graph.parties``)."""

    type: PartyType
    id: int
    external_id: str = ""
    name: str = ""
    text: str = ""
    org_id: int | None = None  # the organisation behind it (a need's requester, a seed's institution)
    org_name: str | None = None
    city: str | None = None
    employees: int | None = None
    kind: str | None = None  # organisations: company | university | institute | support | buyer
    certifications: tuple[str, ...] = ()
    processes: tuple[str, ...] = ()  # process codes (text.taxonomy.PROCESSES)
    required: tuple[str, ...] = ()  # needs: required process codes
    jsic_codes: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    institution: str | None = None
    url: str | None = None
    source: str | None = None
    updated_at: datetime | None = None
    # People (人材): what a coordinator weighs besides the text, and whom they must never advise.
    category: str | None = None  # senior | active | student | international | other
    contact_mode: str | None = None  # visit | online | both
    hours_per_month: int | None = None
    languages: tuple[str, ...] = ()
    specialities: tuple[str, ...] = ()
    affiliation_id: int | None = None  # the employer (not ``org_id``: nothing is ever sent to it)
    conflicts: tuple[int, ...] = ()  # organisations the person declared they must not advise


@dataclass
class History:
    """Past coordinator decisions, counted per candidate and per (requester, candidate) pair."""

    accepts: dict[int, int] = field(default_factory=dict)
    rejects: dict[int, int] = field(default_factory=dict)
    pair_accepts: dict[tuple[int, int], int] = field(default_factory=dict)
    pair_rejects: dict[tuple[int, int], int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class EdgeDecision:
    """A coordinator's latest verdict on the same (query, candidate) pair in any earlier run."""

    verdict: str
    reason: str | None
    by: str | None
    at: datetime
    suggestion_id: int


@dataclass(kw_only=True)
class ScoredEdge:
    """One (query, candidate) edge. ``excluded`` holds the hard constraint's reason code when the
    edge is forbidden; such edges carry no features and are never ranked."""

    query: Party
    candidate: Party
    hit: Hit | None = None
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0
    covered: tuple[str, ...] = ()
    distance: str = "elsewhere"
    excluded: str | None = None
    matched_terms: tuple[str, ...] = ()
    drivers: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    why: EdgeReason | None = None  # the reason's parts, rendered for each reader
    rank: int | None = None
    suggestion_id: int | None = None
    decision: EdgeDecision | None = None

    @property
    def candidate_type(self) -> CandidateType:
        return self.candidate.type if self.candidate.type in ("organization", "person") else "seed"


@dataclass
class Ranked:
    """One query's edges of one candidate type: allowed ones by score, and the excluded ones."""

    query: Party
    candidate_type: CandidateType
    edges: list[ScoredEdge]
    excluded: list[ScoredEdge]


@dataclass(kw_only=True)
class Shortlist:
    query: Party
    kind: ShortlistKind
    model_version: str
    candidates: list[ScoredEdge]
    excluded: list[ScoredEdge]
    run_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class CapReport:
    """What the exposure cap did to one candidate type of a batch."""

    uncapped_total: float
    capped_total: float
    cost: float
    status: str
    capped_out: dict[int, list[int]]  # need id → candidates the cap removed from its top-k


@dataclass(kw_only=True)
class ScoredGraph:
    """A batch: every open need's shortlist, solved together under an exposure cap."""

    run_id: str
    cap: int
    shortlists: list[Shortlist]
    exposure: dict[str, CapReport]  # candidate type → report
