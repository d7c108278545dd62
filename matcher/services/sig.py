"""Study groups (SIG, 研究会) around shared themes: clusters of firms and research seeds.

Each organisation (firms, universities, institutes) and each locally hosted research seed is a
point: the mean of its documents' e5 vectors, joined with its process tags (one-hot, weighted 0.5),
normalised. Which clustering and how many groups is decided by a measured criterion — the mean
silhouette (cosine) of k-means and of Ward's agglomerative clustering for every k in range, the
best pair wins, and the table of scores is returned with the proposals; a cluster of fewer than
three organisations joins its nearest neighbour. A SIG is labelled with its most distinctive
whole words (compound nouns; class-based TF-IDF: frequent inside, rare in other clusters; never a
word most texts use, never part of a longer word),
convened by a research institution in it when there is one (else the firm closest to the
cluster's centre), and each member carries why it is there (its processes and the theme words its
text contains).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from matcher.graph.model import Party
from matcher.services.context import MatchContext
from matcher.text import lemmas
from matcher.text.taxonomy import PROCESSES

PROCESS_WEIGHT = 0.5
RESEARCH_KINDS = ("university", "institute")


@dataclass(kw_only=True)
class SigMember:
    party: Party
    why: str


@dataclass(kw_only=True)
class Sig:
    label: str
    terms: list[str]
    members: list[SigMember]
    seeds: list[SigMember]
    convener: SigMember


@dataclass(kw_only=True)
class SigProposal:
    sigs: list[Sig]
    method: str
    k: int
    silhouette: float
    scores: dict[str, dict[int, float]]  # method → k → silhouette


def _points(ctx: MatchContext) -> tuple[list[Party], np.ndarray]:
    vectors = ctx.edges.retriever.vectors
    parties = [p for p in ctx.org_parties.values() if p.kind in ("company", "university", "institute")]
    parties += [x for x in ctx.seed_parties.values() if x.org_id is not None]
    rows, kept = [], []
    codes = list(PROCESSES)
    for p in sorted(parties, key=lambda p: (p.type, p.id)):
        docs = [d for d in ctx.edges.retriever.docs_of(p.type, p.id) if d in vectors]
        if not docs:
            continue
        v = np.mean([vectors.vector(d) for d in docs], axis=0)
        v = v / (np.linalg.norm(v) or 1.0)
        onehot = np.array([1.0 if c in p.processes else 0.0 for c in codes])
        onehot = onehot / (np.linalg.norm(onehot) or 1.0) * PROCESS_WEIGHT
        row = np.concatenate([v, onehot])
        rows.append(row / np.linalg.norm(row))
        kept.append(p)
    return kept, np.array(rows)


def choose_clustering(X: np.ndarray, ks: range, seed: int = 0) -> tuple[str, int, np.ndarray, dict[str, dict[int, float]]]:
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from sklearn.metrics import silhouette_score

    scores: dict[str, dict[int, float]] = {"kmeans": {}, "ward": {}}
    best: tuple[float, str, int, np.ndarray] | None = None
    for k in ks:
        if k >= len(X):
            break
        for method in ("kmeans", "ward"):
            model = (KMeans(n_clusters=k, n_init=10, random_state=seed) if method == "kmeans"
                     else AgglomerativeClustering(n_clusters=k, linkage="ward"))
            labels = model.fit_predict(X)
            s = float(silhouette_score(X, labels, metric="cosine"))
            scores[method][k] = round(s, 4)
            if best is None or s > best[0] + 1e-12:
                best = (s, method, k, labels)
    assert best is not None, "too few points to cluster"
    return best[1], best[2], best[3], scores


COMMON_SHARE = 0.5  # a word in more than this share of all points' texts names no theme (「日野市」, 「架空」)
MIN_ORGS = 3  # a study group is at least three organisations


def _distinctive_terms(texts_by_cluster: dict[int, list[str]], n: int = 5) -> dict[int, list[str]]:
    """Class-based TF-IDF over whole words (compound nouns): frequent in the cluster, rare across
    clusters; never a word most texts use, and never a word that is part of a longer word the
    cluster's texts contain (「クレーン」 where they say 「天井クレーン」)."""
    from matcher.text.terms import compounds

    counts = {c: Counter(t for text in texts for t in set(compounds(text))) for c, texts in texts_by_cluster.items()}
    n_texts = sum(len(texts) for texts in texts_by_cluster.values())
    everywhere = sum(counts.values(), Counter())  # texts using each word, over every cluster
    df = Counter(t for cnt in counts.values() for t in cnt)
    n_clusters = len(counts)
    out = {}
    for c, cnt in counts.items():
        size = max(len(texts_by_cluster[c]), 1)
        words = [t for t in cnt if everywhere[t] / max(n_texts, 1) <= COMMON_SHARE]
        whole = [t for t in words if not any(t != w and t in w for w in cnt)]
        ranked = sorted(whole, key=lambda t: (-(cnt[t] / size) * math.log(1 + n_clusters / df[t]), t))
        out[c] = [t for t in ranked if cnt[t] >= 2][:n] or ranked[:n]
    return out


def _without_name(p: Party) -> str:
    return p.text.replace(p.name, " ") if p.name else p.text


def _merge_small(clusters: dict[int, list[int]], X: np.ndarray, parties: list[Party]) -> dict[int, list[int]]:
    """Clusters with fewer than MIN_ORGS organisations join the nearest cluster that has enough
    (by centre), so every proposed group is one a convener could hold a meeting with."""
    def orgs(idx: list[int]) -> int:
        return sum(1 for i in idx if parties[i].type == "organization")

    big = {c: idx for c, idx in clusters.items() if orgs(idx) >= MIN_ORGS}
    if not big:
        return clusters
    centres = {c: X[idx].mean(axis=0) for c, idx in big.items()}
    merged = {c: list(idx) for c, idx in big.items()}
    for c, idx in sorted(clusters.items()):
        if c in big:
            continue
        for i in idx:
            nearest = max(centres, key=lambda b: (float(X[i] @ centres[b]), -b))
            merged[nearest].append(i)
    return {c: sorted(idx) for c, idx in merged.items()}


def propose_sigs(ctx: MatchContext, ks: range = range(4, 13), seed: int = 0) -> SigProposal:
    parties, X = _points(ctx)
    method, k, labels, scores = choose_clustering(X, ks, seed)
    clusters: dict[int, list[int]] = {}
    for i, c in enumerate(labels):
        clusters.setdefault(int(c), []).append(i)
    clusters = _merge_small(clusters, X, parties)
    # A text quoting its own name (「○○大学（架空）は…」) says nothing about a theme: names are left out.
    terms = _distinctive_terms({c: [_without_name(parties[i]) for i in idx] for c, idx in clusters.items()})
    sigs = []
    for c, idx in sorted(clusters.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        centre = X[idx].mean(axis=0)
        theme = terms[c]

        def why(p: Party, theme: list[str] = theme) -> str:
            lem = set(lemmas(p.text, normalized=True))
            words = [t for t in theme if t in p.text or t in lem][:3]
            parts = [f"工程: {'・'.join(p.processes[:3])}"] if p.processes else []
            if words:
                parts.append(f"テーマの語: {'・'.join(words)}")
            return "、".join(parts) or "内容が近い"

        members = [SigMember(party=parties[i], why=why(parties[i])) for i in idx if parties[i].type == "organization"]
        seeds = [SigMember(party=parties[i], why=why(parties[i])) for i in idx if parties[i].type == "seed"]
        if not members:
            continue
        research = [m for m in members if m.party.kind in RESEARCH_KINDS]
        if research:
            convener = research[0]
            convener = SigMember(party=convener.party, why="研究機関として研究会の事務局に適しています")
        else:
            closest = max((i for i in idx if parties[i].type == "organization"), key=lambda i: float(X[i] @ centre))
            convener = SigMember(party=parties[closest], why="テーマの中心に最も近い企業です（幹事企業）")
        sigs.append(Sig(label=f"{'・'.join(theme[:3])} 研究会", terms=theme, members=members, seeds=seeds,
                        convener=convener))
    return SigProposal(sigs=sigs, method=method, k=k, silhouette=scores[method][k], scores=scores)
