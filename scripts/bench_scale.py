"""Shortlists at national scale: 100k / 1M / 2M documents, approximate search beside exact.

A prefecture or a national agency holds hundreds of thousands of organisations, about two
million documents once split into passages. Embedding millions of texts on two cores is not
possible in a benchmark, so the corpus is synthetic but built from real material:

* a basis of ``--basis`` real Japanese sentences (JSQuAD passages, JSTS, KAKEN seeds, JSIC
  examples, the demo documents) embedded once with the product's embedder (cached beside
  ``bench_ann.py``'s cache) and tokenised once with the product's lemmatiser;
* each synthetic document is two to four of those sentences: its text is their concatenation,
  its lemma list the concatenation of theirs (so BM25 sees real term statistics), and its
  vector a normalised weighted mixture of their real vectors plus Gaussian noise (so the
  vectors crowd into the same narrow cone real e5 vectors do, which is what makes approximate
  search hard);
* four documents per organisation (profile, processes, equipment, track record), as imports
  make them; cities, sizes and certifications drawn with a fixed seed.

For each size the index is written as the product writes it (``IndexStore``: one segment,
HNSW above ``hnsw_threshold``, bm25s's saved matrices), then an incremental sync of 1 % new
documents adds a second segment and publishes a new version. A fresh worker process (spawned,
as an API worker starts) then opens the published version memory-mapped, builds its parties
and answers real needs and questions through the service's own ``build_shortlist`` (query
embedding, hybrid retrieval of 200 owners, constraints, features, scoring, explanations, ten
suggestions written to SQLite). The same worker run on a copy of the version whose segments
carry exact scan shards instead of the graph is the baseline, in the same run.

    python scripts/bench_scale.py [--sizes 100000 1000000 2000000] [--queries 100] [--passes 3]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench_ann import _sentences, embed, real_texts  # noqa: E402
from scripts.bench_index_memory import memory  # noqa: E402
from scripts.benchlib import cpu_model, spread  # noqa: E402

DOCS_PER_ORG = 4
DOC_KINDS = ("profile", "processes", "equipment", "track_record")
MAX_SENTENCES = 4
NOISE = 0.35  # norm of the noise added to a mixture before normalising (about a third of the signal)
CITIES = ["日野市", "八王子市", "立川市", "町田市", "府中市", "川崎市", "相模原市", "大田区", "横浜市", "さいたま市"]
CERTS = ["ISO9001", "ISO14001", "JISQ9100", "ISO13485", "IATF16949"]


# -- the real material -----------------------------------------------------------------------------
def basis(n: int) -> tuple[list[str], np.ndarray, list[list[str]], list[str]]:
    """(sentences, their passage vectors, their lemma lists, query texts) from the shipped corpora."""
    from matcher.text import lemmas

    sentences = basis_sentences(n)
    _, queries = real_texts()
    vecs = embed(sentences, "passage")
    return sentences, vecs, [list(lemmas(s, normalized=True)) for s in sentences], queries


class Corpus:
    """``n`` synthetic documents as rows of basis sentence ids (-1 pads), drawn with a seed."""

    def __init__(self, n: int, n_basis: int, seed: int, first_id: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.n, self.first_id = n, first_id
        count = rng.integers(2, MAX_SENTENCES + 1, size=n)
        self.sid = rng.integers(0, n_basis, size=(n, MAX_SENTENCES), dtype=np.int32)
        self.sid[np.arange(MAX_SENTENCES)[None, :] >= count[:, None]] = -1
        self.weight = rng.uniform(0.5, 1.5, size=(n, MAX_SENTENCES)).astype(np.float32)
        self.seed = seed

    @property
    def ids(self) -> np.ndarray:
        return np.arange(self.first_id, self.first_id + self.n, dtype=np.int64)

    def vectors(self, basis_vecs: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(self.seed + 1)
        out = np.empty((self.n, basis_vecs.shape[1]), dtype=np.float32)
        for start in range(0, self.n, 100_000):  # in slices: the writer's peak stays bounded
            stop = min(start + 100_000, self.n)
            sid, w = self.sid[start:stop], self.weight[start:stop] * (self.sid[start:stop] >= 0)
            block = np.einsum("ij,ijd->id", w, basis_vecs[np.maximum(sid, 0)])
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            noise = rng.standard_normal(block.shape).astype(np.float32)
            block += NOISE * noise / np.linalg.norm(noise, axis=1, keepdims=True)
            out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
        return out

    def lemma_lists(self, basis_lemmas: list[list[str]]) -> list[list[str]]:
        return [[t for s in row if s >= 0 for t in basis_lemmas[s]] for row in self.sid.tolist()]

    def text(self, doc_id: int, sentences: list[str]) -> str:
        return "".join(sentences[s] for s in self.sid[doc_id - self.first_id] if s >= 0)


class DocTexts(Mapping):
    """Document id → text, composed on demand from the corpora's sentence ids (the shortlist
    reads the texts of the ten it explains; holding two million strings would measure Python,
    not the engine)."""

    def __init__(self, corpora: list[Corpus], sentences: list[str]) -> None:
        self.corpora, self.sentences = corpora, sentences

    def _corpus(self, doc_id: int) -> Corpus | None:
        return next((c for c in self.corpora if c.first_id <= doc_id < c.first_id + c.n), None)

    def __getitem__(self, doc_id: int) -> str:
        c = self._corpus(int(doc_id))
        if c is None:
            raise KeyError(doc_id)
        return c.text(int(doc_id), self.sentences)

    def __iter__(self) -> Iterator[int]:
        for c in self.corpora:
            yield from range(c.first_id, c.first_id + c.n)

    def __len__(self) -> int:
        return sum(c.n for c in self.corpora)


# -- writing the index -------------------------------------------------------------------------------
def write_versions(root: Path, corpora: list[Corpus], basis_vecs: np.ndarray, basis_lemmas: list[list[str]],
                   threshold: int) -> dict[str, float]:
    """The product's writes: the initial segment (version 1), then the 1 % sync (version 2).
    ``root/exact`` gets the same segments with scan shards instead of the HNSW graph."""
    from matcher.search.segments import SCAN_ROWS, IndexStore, Manifest, _write_flat

    store = IndexStore(root / "approx")
    out: dict[str, float] = {}
    entries = []
    for version, (corpus, step) in enumerate(zip(corpora, ("build", "sync"), strict=True), start=1):
        vecs, lemma_lists = corpus.vectors(basis_vecs), corpus.lemma_lists(basis_lemmas)
        t = time.perf_counter()
        entries.append(store.new_segment(version, corpus.ids, vecs, lemma_lists, hnsw_threshold=threshold))
        store.publish(Manifest(version=version, model="bench", dim=vecs.shape[1], segments=tuple(entries)))
        out[step] = time.perf_counter() - t
        exact = root / "exact" / "segments" / entries[-1].name
        exact.mkdir(parents=True)
        for f in (store.segments_dir / entries[-1].name).rglob("*"):
            target = exact / f.relative_to(store.segments_dir / entries[-1].name)
            if f.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            elif f.name != "hnsw.faiss":
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(f, target)
        if not any(exact.glob("flat-*.faiss")) and len(vecs) > SCAN_ROWS:
            _write_flat(exact, vecs)
        del vecs, lemma_lists
    shutil.copytree(store.versions_dir, root / "exact" / "versions")
    shutil.copy(store.root / "CURRENT", root / "exact" / "CURRENT")
    out["graph"] = float((store.segments_dir / entries[0].name / "hnsw.faiss").exists())
    out["disk_mb"] = sum(f.stat().st_size for f in store.root.rglob("*") if f.is_file()) / 2**20
    return out


# -- one worker ------------------------------------------------------------------------------------
def build_context(root: Path, corpora: list[Corpus], sentences: list[str], settings, embedder, engine):
    """What ``load_context`` gives an API worker, for the synthetic organisations: the published
    version memory-mapped, parties, document owners, no constraints or decisions yet."""
    from matcher.graph.constraints import ConstraintSet
    from matcher.graph.edges import EdgeBuilder
    from matcher.graph.model import Party
    from matcher.graph.scorers import ColdStartScorer
    from matcher.search.retrieve import DocMeta, Retriever
    from matcher.search.segments import open_version
    from matcher.services.context import MatchContext
    from matcher.text.taxonomy import tag_processes

    version = open_version(root, settings.hnsw_ef_search, preload=settings.index_preload)
    if len(version.vectors) != sum(c.n for c in corpora):
        raise SystemExit(f"{root}: the published version holds {len(version.vectors):,} documents, "
                         f"not {sum(c.n for c in corpora):,}")
    sentence_procs = [tuple(tag_processes(s)) for s in sentences]
    meta: dict[int, DocMeta] = {}
    procs: dict[int, dict[str, None]] = {}
    for c in corpora:
        for doc_id, row in zip(c.ids.tolist(), c.sid.tolist(), strict=True):
            org = (doc_id - 1) // DOCS_PER_ORG + 1
            meta[doc_id] = DocMeta("organization", org, DOC_KINDS[(doc_id - 1) % DOCS_PER_ORG])
            found = procs.setdefault(org, {})
            for s in row:
                if s >= 0:
                    found.update(dict.fromkeys(sentence_procs[s]))
    rng = random.Random(0)
    parties = {org: Party(type="organization", id=org, external_id=f"S{org:07d}", name=f"スケール{org}工業（架空）",
                          org_id=org, org_name=f"スケール{org}工業（架空）", city=rng.choice(CITIES),
                          employees=rng.randint(3, 300), kind="company",
                          certifications=tuple(rng.sample(CERTS, rng.randint(0, 2))), processes=tuple(found))
               for org, found in procs.items()}
    edges = EdgeBuilder(Retriever(version.vectors, version.bm25, meta), {"organization": parties, "seed": {}},
                        DocTexts(corpora, sentences), ConstraintSet(), {}, ColdStartScorer().fit())  # type: ignore[arg-type]
    return MatchContext(settings, engine, embedder, orgs={}, seeds={}, needs={}, people={}, edges=edges), version


def worker(root: str, sizes: tuple[int, int], n_basis: int, queries: list[str], passes: int, out) -> None:
    """A fresh process: open the version, answer ``passes`` × queries shortlists, report."""
    import gc

    from matcher.config import Settings
    from matcher.graph.model import Party
    from matcher.search.embed import get_embedder
    from matcher.services.shortlists import build_shortlist
    from matcher.store.db import get_engine, upgrade
    from matcher.text.terms import nouns

    sentences = basis_sentences(n_basis)
    corpora = [Corpus(sizes[0], len(sentences), 0), Corpus(sizes[1], len(sentences), 1, first_id=sizes[0] + 1)]
    settings = Settings()
    embedder = get_embedder(settings, cached=False)
    db = Path(root) / "worker.sqlite"
    db.unlink(missing_ok=True)
    engine = get_engine(f"sqlite:///{db}")
    upgrade(engine)
    t = time.perf_counter()
    ctx, version = build_context(Path(root), corpora, sentences, settings, embedder, engine)
    load_s = time.perf_counter() - t
    del corpora
    gc.collect()
    warm = Party(type="need", id=0, text=queries[0], city="日野市")
    t = time.perf_counter()
    build_shortlist(ctx, warm, "partners", 10)  # first query: term statistics, page-in
    first_s = time.perf_counter() - t
    totals, stages, candidates = [], {}, []
    for p in range(passes):
        run = []
        for i, text in enumerate(queries):
            query = Party(type="need", id=p * len(queries) + i + 1, text=text, city="日野市")
            nouns.cache_clear()
            timings: dict[str, float] = {}
            t = time.perf_counter()
            shortlist = build_shortlist(ctx, query, "partners", 10, timings=timings)
            run.append(1000 * (time.perf_counter() - t))
            for k, v in timings.items():
                stages.setdefault(k, []).append(1000 * v)
            if p == 0:
                candidates.append([e.candidate.id for e in shortlist.candidates])
        totals.append(run)
    out.put({"load_s": load_s, "first_s": first_s, "totals": totals, "candidates": candidates,
             "stages": {k: float(np.percentile(v, 50)) for k, v in stages.items()},
             "memory": memory(os.getpid()), "segments": len(version.segments)})


_SENTENCES: dict[int, list[str]] = {}


def basis_sentences(n: int) -> list[str]:
    """The basis sentences alone (a worker needs their texts, not their vectors: it maps those)."""
    if n not in _SENTENCES:
        docs, _ = real_texts()
        pool = list(dict.fromkeys(s for d in docs for s in _sentences(d) if len(s) <= 160))
        _SENTENCES[n] = random.Random(0).sample(pool, min(n, len(pool)))
    return _SENTENCES[n]


def run_worker(root: Path, sizes: tuple[int, int], n_basis: int, queries: list[str], passes: int) -> dict:
    spawn = mp.get_context("spawn")
    out = spawn.Queue()
    proc = spawn.Process(target=worker, args=(str(root), sizes, n_basis, queries, passes, out))
    proc.start()
    result = out.get()
    proc.join()
    return result


def overlap(a: list[list[int]], b: list[list[int]]) -> float:
    """Mean share of the exact top 10 that the approximate shortlist also lists."""
    return float(np.mean([len(set(x) & set(y)) / max(len(y), 1) for x, y in zip(a, b, strict=True)]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 2_000_000])
    ap.add_argument("--basis", type=int, default=4000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None, help="where index versions are written (default: a temp dir)")
    args = ap.parse_args()
    from matcher.config import Settings

    settings = Settings()
    sentences, basis_vecs, basis_lemmas, all_queries = basis(args.basis)
    queries = all_queries[: args.queries]
    print(f"CPU: {cpu_model()}; cores: {os.cpu_count()}; {len(sentences):,} real basis sentences; "
          f"{len(queries)} real queries × {args.passes} passes; hnsw_threshold {settings.hnsw_threshold:,}, "
          f"efSearch {settings.hnsw_ef_search}")
    rows = []
    for n in args.sizes:
        tmp = Path(tempfile.mkdtemp(dir=args.workdir))
        try:
            sizes = (n, n // 100)
            corpora = [Corpus(sizes[0], len(sentences), 0), Corpus(sizes[1], len(sentences), 1, first_id=n + 1)]
            writes = write_versions(tmp, corpora, basis_vecs, basis_lemmas, settings.hnsw_threshold)
            del corpora
            print(f"{n:,} documents: build {writes['build']:.1f} s, 1 % sync {writes['sync']:.1f} s, "
                  f"{writes['disk_mb']:,.0f} MB on disk", file=sys.stderr)
            approx = run_worker(tmp / "approx", sizes, args.basis, queries, args.passes)
            exact = run_worker(tmp / "exact", sizes, args.basis, queries, args.passes)
            rows.append((n, writes, approx, exact))
            print_row(*rows[-1])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print("\nshortlist p95 (ms) as min / median / max over passes; memory of one worker after its queries "
          "(anon: heap and other anonymous pages, what each further worker adds; the mapped index is not in it)")
    print(f"{'docs':>9} {'index':>6} {'build s':>8} {'1% sync s':>9} {'load s':>7} {'approx p95':>22} "
          f"{'exact p95':>22} {'ratio':>6} {'top10 same':>10} {'RSS MB':>7} {'PSS MB':>7} {'priv MB':>7} {'anon MB':>7}")
    for row in rows:
        print_row(*row)
    print("targets: p95 ≤ 50 ms at 1M, ≤ 80 ms at 2M documents (query embedding included)")


def print_row(n: int, writes: dict, approx: dict, exact: dict) -> None:
    p95a = [float(np.percentile(r, 95)) for r in approx["totals"]]
    p95e = [float(np.percentile(r, 95)) for r in exact["totals"]]
    mem = approx["memory"]
    kind = "hnsw" if writes["graph"] else "exact"
    print(f"{n:9,d} {kind:>6} {writes['build']:8.1f} {writes['sync']:9.2f} {approx['load_s']:7.1f} {spread(p95a):>22} "
          f"{spread(p95e):>22} {np.median(p95a) / np.median(p95e):5.2f}× "
          f"{overlap(approx['candidates'], exact['candidates']):10.3f} {mem['Rss']:7.0f} {mem['Pss']:7.0f} "
          f"{mem['Private']:7.0f} {mem['Anonymous']:7.0f}", flush=True)
    print("   stages p50 ms: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(approx["stages"].items())),
          file=sys.stderr)


if __name__ == "__main__":
    main()
