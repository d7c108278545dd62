"""Japanese reasons for an edge, read from what the edge already carries.

A reason is kept as its parts (``EdgeReason``: processes covered, where, certificates, shared
terms, research similarity), stored with the suggestion, and written out for whoever reads it:
a coordinator sees every part; a company sees only what it may know of the other side — a
partner that is not public (公開=いいえ) is never placed, certified or quoted, and a company
reading about a need it was proposed for reads the need's side, not its own city back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from matcher.graph.model import ScoredEdge
from matcher.labels import CONTACT_MODE_JA, PERSON_CATEGORY_JA

_CERT_PREFIXES = ("ISO", "JISQ", "IATF")
Viewer = Literal["coordinator", "requester", "candidate"]
_WHERE = {"same_city": "{city}内", "neighbour": "近隣（{city}）", "tama": "多摩地域（{city}）"}


@dataclass(frozen=True, kw_only=True)
class EdgeReason:
    """The parts a reason is made of. ``query_city`` / ``candidate_city`` are the two sides'
    cities; ``distance`` their class (same_city | neighbour | tama | elsewhere)."""

    candidate_type: str
    required: tuple[str, ...] = ()
    covered: tuple[str, ...] = ()
    distance: str = "elsewhere"
    query_city: str | None = None
    candidate_city: str | None = None
    certifications: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    similarity: float | None = None
    # People: who they are to the need (区分, first clause of 所属・経歴) and how they work (対応形態).
    category: str | None = None
    experience: str | None = None
    contact_mode: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, edge: ScoredEdge) -> EdgeReason:
        cand, query = edge.candidate, edge.query
        certs = tuple(c for c in cand.certifications if c.replace(" ", "").upper().startswith(_CERT_PREFIXES))[:2]
        person = {}
        if cand.type == "person":
            first = cand.text.split("\n")
            background = next((line for line in first if line and not line.startswith("専門分野")), "")
            person = {"category": cand.category, "contact_mode": cand.contact_mode,
                      "experience": background.split("。")[0][:60] or None}
        return cls(candidate_type=edge.candidate_type, required=tuple(query.required), covered=tuple(edge.covered),
                   distance=edge.distance, query_city=query.city, candidate_city=cand.city, certifications=certs,
                   terms=tuple(edge.matched_terms[:3]),
                   similarity=round(edge.hit.dense_max, 4) if edge.hit is not None else None, **person)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> EdgeReason | None:
        if not data or "candidate_type" not in data:
            return None
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "extra"}
        for k in ("required", "covered", "certifications", "terms"):
            known[k] = tuple(known.get(k) or ())
        return cls(**known)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("extra")
        return out

    def text(self, viewer: Viewer = "coordinator", other_public: bool = True) -> str:
        """The reason as ``viewer`` may read it. ``other_public``: whether the organisation on
        the other side of the pair (from the viewer) agreed to be public."""
        parts: list[str] = []
        if self.candidate_type == "person":
            return self._person_text(viewer, other_public)
        if self.candidate_type == "organization":
            if self.required:
                detail = f"（{'・'.join(self.covered)}）" if self.covered else ""
                who = "貴社の工程が" if viewer == "candidate" else ""
                parts.append(f"{who}必要工程 {len(self.required)} 件中 {len(self.covered)} 件{detail}に対応")
            if viewer == "coordinator" or other_public:
                # The other side's place: the candidate's for a coordinator or the requester, the
                # requester's for the candidate (never the reader's own city read back).
                city = self.query_city if viewer == "candidate" else self.candidate_city
                where = place_ja(self.distance, city)
                if where:
                    prefix = "依頼元は" if viewer == "candidate" else ""
                    parts.append(prefix + where)
                if viewer != "candidate" and self.certifications:
                    parts.append("・".join(self.certifications))
        elif self.similarity is not None:
            parts.append(f"研究内容の類似度 {self.similarity:.2f}")
        if self.terms and (viewer == "coordinator" or other_public or self.candidate_type == "seed"):
            parts.append(f"共通語：{'・'.join(self.terms)}")
        return "、".join(parts)


    def _person_text(self, viewer: Viewer, other_public: bool) -> str:
        """A person's reason: the need's processes their specialities cover, who they are, how
        and where they work. The person reading it (``candidate``) reads the need's side."""
        parts: list[str] = []
        if self.required:
            detail = f"（{'・'.join(self.covered)}）" if self.covered else ""
            who = "あなたの専門分野が" if viewer == "candidate" else "専門分野が"
            parts.append(f"{who}必要工程 {len(self.required)} 件中 {len(self.covered)} 件{detail}に対応")
        if viewer != "candidate":
            if self.category:
                parts.append(PERSON_CATEGORY_JA.get(self.category, self.category))
            if self.experience:
                parts.append(f"経歴：{self.experience}")
        mode = CONTACT_MODE_JA.get(self.contact_mode or "", "")
        if viewer == "candidate":
            where = place_ja(self.distance, self.query_city) if other_public else ""
            parts.append(f"依頼元は{where}" if where else "")
        else:
            where = place_ja(self.distance, self.candidate_city)
            parts.append("・".join(x for x in (mode, where) if x))
        if self.terms and (viewer != "candidate" or other_public):
            parts.append(f"共通語：{'・'.join(self.terms)}")
        return "、".join(p for p in parts if p)


def place_ja(distance: str, city: str | None) -> str:
    """「日野市内」「近隣（八王子市）」「多摩地域（立川市）」, or nothing when it is farther."""
    where = _WHERE.get(distance)
    return where.format(city=city or "同一市") if where else ""


def reason_ja(edge: ScoredEdge) -> str:
    """What a coordinator checks first: processes covered, where, certificates, shared terms."""
    return EdgeReason.of(edge).text("coordinator")
