"""Feedback simulation through the user's own commands: simulated coordinators teach the ranker.

Each hidden preference is three yes/no criteria about a candidate firm for a need (e.g. in the
requester's city, 20–300 employees, covers ≥ 80 % of the required processes). A simulated
coordinator accepts a suggestion meeting at least two, with 10 % of verdicts flipped. Per round,
exactly as a coordinator's office would: `matcher shortlist --all-needs --kind partners --k 20 --json` (the
batch, exposure-capped), the top 10 of every list decided and written to a file, `matcher
feedback import FILE`, `matcher train` (with its promotion gate). The commands are the Typer
app itself (in process, so the embedder loads once), so the bench cannot disagree with the
product. Measured per round: nDCG@10 of every list under the hidden preference (graded gain
2^points − 1; ideal = the best 10 the need's candidate pool holds), what the gate did.

With ``--replies contradict`` the candidate companies also answer every accepted proposal the
other way round from the coordinator (興味あり when the coordinator would have rejected it,
辞退 when accepted): the coordinator's nDCG beside the run without replies shows they never
outvote the coordinators.

Usage: python scripts/bench_feedback.py [--rounds 3] [--preferences all|NAME,...] [--replies none|contradict]
       [--timing] [--out test-output/feedback_curve.png]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUALITY = ("ISO9001", "IATF16949", "JISQ9100")


@dataclass(frozen=True)
class Preference:
    """Criteria over (need, candidate); accept at ``need`` points or more."""

    name: str
    description: str
    criteria: tuple[Callable, ...]
    need: int = 2

    def points(self, need_party, requester_city, cand) -> int:
        return sum(int(bool(c(need_party, requester_city, cand))) for c in self.criteria)


def _coverage(q, p) -> float:
    from matcher.graph.features import covered_processes

    return len(covered_processes(q, p)) / len(q.required) if q.required else 0.0


def _near(city_a, city_b) -> bool:
    from matcher.graph.features import distance_class

    return distance_class(city_a, city_b) in ("same_city", "neighbour")


def _certified(p) -> bool:
    return any(c.replace(" ", "").upper() in QUALITY for c in p.certifications)


PREFERENCES: dict[str, Preference] = {p.name: p for p in (
    Preference("city_size_coverage", "requester's city, 20–300 employees, covers ≥ 80 % of the processes", (
        lambda q, city, p: p.city is not None and p.city == city,
        lambda q, city, p: p.employees is not None and 20 <= p.employees <= 300,
        lambda q, city, p: _coverage(q, p) >= 0.8)),
    Preference("near_defaults", "covers every process, ISO9001, same or neighbouring city (close to the cold-start weights)", (
        lambda q, city, p: _coverage(q, p) >= 1.0,
        lambda q, city, p: "ISO9001" in {c.replace(" ", "").upper() for c in p.certifications},
        lambda q, city, p: _near(city, p.city))),
    Preference("certified_large", "a quality certificate, 100+ employees, covers ≥ 50 %", (
        lambda q, city, p: _certified(p),
        lambda q, city, p: p.employees is not None and p.employees >= 100,
        lambda q, city, p: _coverage(q, p) >= 0.5)),
    Preference("small_local", "20 employees or fewer, the requester's city, covers a required process", (
        lambda q, city, p: p.employees is not None and p.employees <= 20,
        lambda q, city, p: p.city is not None and p.city == city,
        lambda q, city, p: _coverage(q, p) > 0)),
    Preference("far_from_defaults", "outside the requester's area, 50+ employees, covers ≥ 50 % (far from the defaults)", (
        lambda q, city, p: not _near(city, p.city),
        lambda q, city, p: p.employees is not None and p.employees >= 50,
        lambda q, city, p: _coverage(q, p) >= 0.5)),
    Preference("old_bench", "the earlier bench's coordinator: 3 of 4 of same city, ISO9001, 20–300 employees, covers ≥ 80 %", (
        lambda q, city, p: p.city is not None and p.city == city,
        lambda q, city, p: "ISO9001" in {c.replace(" ", "").upper() for c in p.certifications},
        lambda q, city, p: p.employees is not None and 20 <= p.employees <= 300,
        lambda q, city, p: _coverage(q, p) >= 0.8), need=3),
)}


# -- the user's commands -----------------------------------------------------------------------------
class Shell:
    """The `matcher` command run in process against one data directory (``--json`` parsed)."""

    def __init__(self, data_dir: Path) -> None:
        from typer.testing import CliRunner

        from matcher.cli import app

        self.app, self.runner, self.data_dir = app, CliRunner(), data_dir

    def __call__(self, *args: str) -> dict:
        from matcher.config import get_settings

        get_settings.cache_clear()
        env = {"MATCHER_DATA_DIR": str(self.data_dir), "HF_HUB_OFFLINE": "1"}
        result = self.runner.invoke(self.app, [*args, "--json"], env=env, catch_exceptions=False)
        get_settings.cache_clear()
        if result.exit_code != 0:
            raise RuntimeError(f"matcher {' '.join(args)} exited {result.exit_code}: {result.output[-2000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])


def demo_store(target: Path, template: Path | None = None) -> Path:
    """The demo organisations, needs and seeds, imported and indexed by `matcher ingest` (or a
    copy of an earlier such store)."""
    target.mkdir(parents=True, exist_ok=True)
    if template is not None:
        for name in ("matcher.sqlite", "cache.sqlite"):
            if (template / name).exists():
                with sqlite3.connect(template / name) as a, sqlite3.connect(target / name) as b:
                    a.backup(b)
        shutil.copytree(template / "index", target / "index")
        return target
    shell = Shell(target)
    for name in ("organizations", "needs", "seeds"):
        shell("ingest", str(ROOT / "corpora" / "demo" / f"{name}.csv"), "--kind", name)
    return target


# -- the simulated coordinator --------------------------------------------------------------------
@dataclass
class Oracle:
    """What the simulation knows that the engine does not: each need's candidate pool and the
    hidden preference's points for every (need, firm)."""

    pref: Preference
    points: dict[int, dict[int, int]] = field(default_factory=dict)  # need id → org id → points
    ext: dict[str, int] = field(default_factory=dict)  # organisation external id → id

    @classmethod
    def build(cls, data_dir: Path, pref: Preference) -> Oracle:
        from matcher.config import Settings
        from matcher.search.embed import get_embedder
        from matcher.services.context import load_context
        from matcher.services.shortlists import query_vector
        from matcher.store.db import get_engine

        settings = Settings(data_dir=data_dir)
        ctx = load_context(get_engine(settings.sqlalchemy_url), settings, get_embedder(settings))
        oracle = cls(pref, ext={o.external_id: o.id for o in ctx.orgs.values()})
        for need in ctx.needs.values():
            if need.status != "open":
                continue
            q = ctx.need_party(need)
            city = ctx.orgs[need.org_id].city if need.org_id in ctx.orgs else None
            pool = ctx.edges.rank(q, "organization", query_vector(ctx, q)).edges
            oracle.points[need.id] = {e.candidate.id: pref.points(q, city, e.candidate) for e in pool}
        return oracle

    def ndcg(self, need_id: int, ranked: list[int], k: int = 10) -> float:
        gain = {i: 2 ** p - 1 for i, p in self.points.get(need_id, {}).items()}
        dcg = sum(gain.get(i, 0) / math.log2(r + 1) for r, i in enumerate(ranked[:k], start=1))
        ideal = sum(g / math.log2(r + 1) for r, g in enumerate(sorted(gain.values(), reverse=True)[:k], start=1))
        return dcg / ideal if ideal else 1.0


def run_preference(data_dir: Path, pref: Preference, rounds: int = 3, k_decided: int = 10, noise: float = 0.1,
                   replies: str = "none", seed: int = 7, needs: int | None = None, batch: bool = True) -> list[dict]:
    """The loop of the module docstring; one row per round (round 0 = what cold start shows).
    ``batch=False`` shortlists each need on its own (`matcher shortlist --need ID`, no exposure
    cap), as the earlier bench did."""
    from matcher.services.decisions import record_company_reply
    from matcher.store.db import get_engine

    shell = Shell(data_dir)
    oracle = Oracle.build(data_dir, pref)
    chosen = sorted(oracle.points)[:needs] if needs else sorted(oracle.points)
    rng = random.Random(seed)
    engine = get_engine(f"sqlite:///{data_dir / 'matcher.sqlite'}")
    curve = []
    for rnd in range(rounds + 1):
        if batch:
            shortlists = shell("shortlist", "--all-needs", "--kind", "partners", "--k", "20")["shortlists"]
        else:
            shortlists = [shell("shortlist", "--need", str(n), "--kind", "partners", "--k", "20") for n in chosen]
        lists = {s["query"]["id"]: s["candidates"] for s in shortlists if s["query"]["id"] in chosen}
        scores = [oracle.ndcg(n, [c["org"]["id"] for c in cands]) for n, cands in lists.items()]
        row = {"round": rnd, "ndcg@10": round(sum(scores) / len(scores), 4), "model": shortlists[0]["model_version"]}
        if rnd < rounds:
            path = data_dir / f"decisions-{rnd}.csv"
            accepted = []
            with path.open("w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["提案ID", "判定", "理由", "担当者"])
                for n, cands in sorted(lists.items()):
                    for c in cands[:k_decided]:
                        ok = oracle.points[n].get(c["org"]["id"], 0) >= pref.need
                        if rng.random() < noise:
                            ok = not ok
                        w.writerow([c["suggestion_id"], "承認" if ok else "却下", "" if ok else "その他", "sim-coordinator"])
                        if ok:
                            accepted.append((c["suggestion_id"], c["org"]["id"], oracle.points[n].get(c["org"]["id"], 0)))
            row["imported"] = shell("feedback", "import", str(path))["inserted"]
            if replies == "contradict":
                for sid, org, pts in accepted:  # the company answers against the coordinator's taste
                    record_company_reply(engine, sid, "declined" if pts >= pref.need else "interested", None,
                                         f"sim-company:{org}", org)
                row["replies"] = len(accepted)
            trained = shell("train")
            gate = (trained.get("metrics") or {}).get("gate") or {}
            row.update(train_status=trained["status"], l2=trained.get("l2"), gate_lists=gate.get("lists"),
                       gate_diff=gate.get("mean_diff"), gate_ci=gate.get("ci95"), decisions=trained.get("decisions"))
        curve.append(row)
    return curve


def plot(curves: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, curve in curves.items():
        ax.plot([r["round"] for r in curve], [r["ndcg@10"] for r in curve], marker="o", label=name)
    ax.set_xlabel("feedback round (import → train → shortlist)")
    ax.set_ylabel("hidden-preference nDCG@10")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# -- training time ---------------------------------------------------------------------------------
def flood(engine, n: int, seed: int = 0) -> None:
    """n suggestions with random feature snapshots and one decision each, bulk-inserted."""
    import numpy as np
    from sqlalchemy import insert

    from matcher.graph.features import FEATURES
    from matcher.store.tables import Decision, Suggestion

    rng = np.random.default_rng(seed)
    X = rng.random((n, len(FEATURES)))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    sugg = [{"id": i + 1, "run_id": f"flood{i // 100}", "query_type": "need", "query_id": i // 10,
             "candidate_type": "organization", "candidate_id": i % 500 + 1, "kind": "partner", "rank": i % 10 + 1,
             "score": 0.0, "model_version": "cold-start-v1", "explanation": "", "created_at": start,
             "features": dict(zip(FEATURES, X[i].round(4).tolist(), strict=True))} for i in range(n)]
    decs = [{"suggestion_id": i + 1, "verdict": "accept" if X[i, 0] + 0.2 * rng.standard_normal() > 0.5 else "reject",
             "decided_at": start + timedelta(minutes=i), "created_at": start} for i in range(n)]
    with engine.begin() as conn:
        for a in range(0, n, 5000):
            conn.execute(insert(Suggestion), sugg[a : a + 5000])
            conn.execute(insert(Decision), decs[a : a + 5000])


def flood_timing(n: int) -> tuple[float, str]:
    """Seconds for `train` (read decisions from the store, IPS, cross-validate, fit, gate) after n decisions."""
    from matcher.config import Settings
    from matcher.services.rankers import train
    from matcher.store.db import get_engine, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        settings.ensure_dirs()
        engine = get_engine(settings.sqlalchemy_url)
        upgrade(engine)
        flood(engine, n)
        t = time.perf_counter()
        result = train(engine, settings)
        return time.perf_counter() - t, result["status"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--preferences", default="all")
    ap.add_argument("--replies", choices=("none", "contradict", "both"), default="both")
    ap.add_argument("--timing", action="store_true", help="also time `train` over 1k / 10k / 100k decisions")
    ap.add_argument("--out", type=Path, default=ROOT / "test-output" / "feedback_curve.png")
    args = ap.parse_args()
    names = list(PREFERENCES) if args.preferences == "all" else args.preferences.split(",")
    curves: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        template = demo_store(Path(tmp) / "template")
        runs = [(n, "none") for n in names]
        if args.replies in ("contradict", "both"):
            runs.append((names[0], "contradict"))
        if args.replies == "contradict":
            runs = [(n, "contradict") for n in names]
        for name, replies in runs:
            label = name if replies == "none" else f"{name} + contradicting replies"
            started = time.perf_counter()
            data = demo_store(Path(tmp) / label.replace(" ", "_").replace("+", ""), template)
            curves[label] = run_preference(data, PREFERENCES[name], args.rounds, replies=replies)
            print(f"{label}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(f"\n{'preference':44} " + " ".join(f"{'round ' + str(r):>8}" for r in range(args.rounds + 1))
          + "  promoted at   gate (lists, mean Δ nDCG, 95% CI) per train")
    for label, curve in curves.items():
        promoted = next((r["round"] + 1 for r in curve if r.get("train_status") == "promoted"), None)
        gates = "; ".join(f"{r['train_status']} ({r['gate_lists']}, {r['gate_diff']}, {r['gate_ci']})"
                          for r in curve if "train_status" in r)
        print(f"{label:44} " + " ".join(f"{r['ndcg@10']:8.4f}" for r in curve)
              + f"  {'train ' + str(promoted) if promoted else 'never':>11}   {gates}")
    for name in names:
        print(f"  {name}: {PREFERENCES[name].description}")
    plot(curves, args.out)
    print(f"plot: {args.out}")
    if args.timing:
        print(f"\n{'decisions':>9} {'matcher train s':>15} {'status':>10}")
        for n in (1_000, 10_000, 100_000):
            secs, status = flood_timing(n)
            print(f"{n:9d} {secs:15.2f} {status:>10}")
        print("target: training on 10,000 decisions ≤ 5 s")


if __name__ == "__main__":
    main()
