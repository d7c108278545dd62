"""Japanese reasons for an edge, read from what the edge already carries."""

from __future__ import annotations

from matcher.graph.model import ScoredEdge

_CERT_PREFIXES = ("ISO", "JISQ", "IATF")


def reason_ja(edge: ScoredEdge) -> str:
    """What a coordinator checks first: processes covered, where, certificates, shared terms."""
    parts = []
    cand, query = edge.candidate, edge.query
    if edge.candidate_type == "organization":
        if query.required:
            detail = f"（{'・'.join(edge.covered)}）" if edge.covered else ""
            parts.append(f"必要工程 {len(query.required)} 件中 {len(edge.covered)} 件{detail}に対応")
        where = {"same_city": f"{cand.city}内" if cand.city else "同一市内",
                 "neighbour": f"近隣（{cand.city}）", "tama": f"多摩地域（{cand.city}）"}.get(edge.distance)
        if where:
            parts.append(where)
        certs = [c for c in cand.certifications if c.replace(" ", "").upper().startswith(_CERT_PREFIXES)]
        if certs:
            parts.append("・".join(certs[:2]))
    elif edge.hit is not None:
        parts.append(f"研究内容の類似度 {edge.hit.dense_max:.2f}")
    if edge.matched_terms:
        parts.append(f"共通語：{'・'.join(edge.matched_terms[:3])}")
    return "、".join(parts)
