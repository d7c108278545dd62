"""``matcher demo`` from an installed wheel (not the checkout): shipped corpora load through
importlib.resources, a fresh data dir works, and a second run embeds nothing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, one_json


@pytest.fixture(scope="module")
def wheel_matcher(tmp_path_factory) -> Path:
    """The ``matcher`` command of a fresh venv holding only the built wheel; its dependencies are
    the project venv's (a path entry, so the checkout's editable install is not seen)."""
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp / "dist"), str(ROOT)], check=True, capture_output=True)
    wheel = next((tmp / "dist").glob("hino_matcher-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", str(wheel)], check=True, capture_output=True)
    site = next(venv.glob("lib/python3*/site-packages"))
    deps = next(Path(sys.prefix).glob("lib/python3*/site-packages"))
    (site / "project_deps.pth").write_text(f"{deps}\n")
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import api, corpora, matcher; print(matcher.__file__, corpora.__file__, api.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp).stdout.split()
    assert all(p.startswith(str(site)) for p in where), where  # the wheel's copy, not the checkout
    return venv / "bin" / "matcher"


def run(matcher: Path, args: list[str], data: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHER_") and k != "PYTHONPATH"}
    env |= {"MATCHER_DATA_DIR": str(data), "MATCHER_MODEL_DIR": str(ROOT / "models"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([str(matcher), *args], capture_output=True, text=True, env=env, cwd=data.parent,
                          timeout=900)
    assert proc.returncode == 0 or not check, proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_demo_from_a_wheel_on_a_fresh_data_dir_then_again_embeds_nothing(wheel_matcher, tmp_path):
    data = tmp_path / "fresh"
    first = one_json(run(wheel_matcher, ["demo", "--json"], data))
    counts = {Path(r["file"]).name: r["inserted"] for r in first["ingest"]}
    assert counts["organizations.csv"] >= 170 and counts["needs.csv"] == 40 and counts["seeds.jsonl"] == 1538
    assert counts["people.csv"] == 60
    assert all(not r["rejected"] for r in first["ingest"])
    assert first["index"]["indexed"] == first["index"]["documents"] > 2000
    assert [s["need"]["external_id"] for s in first["shortlists"]] == ["HN001", "HN011", "HN006"]
    assert all(len(s["candidates"]) == 10 for s in first["shortlists"])  # 5 partners + 5 seeds each
    second = one_json(run(wheel_matcher, ["demo", "--json"], data))
    assert second["index"]["embedded"] == 0 and second["index"]["indexed"] == 0
    assert all(r["inserted"] == r["updated"] == 0 for r in second["ingest"])

    # The installation the demo leaves works for the later commands.
    def cmd(*args):
        return one_json(run(wheel_matcher, [*args, "--json"], data))

    need = cmd("shortlist", "--need", "HN004", "--kind", "all", "--k", "3")
    assert len(need["candidates"]) == 6 and all(c["suggestion_id"] for c in need["candidates"])
    kaken = [c for c in need["candidates"] if "seed" in c and c["seed"]["url"]]
    assert all(c["seed"]["url"].startswith("https://kaken.nii.ac.jp/") for c in kaken)
    seed = cmd("shortlist", "--seed", "19H00734", "--k", "3")
    assert seed["seed"]["external_id"] == "19H00734" and len(seed["candidates"]) == 3
    org = cmd("shortlist", "--org", "HC0002", "--k", "3")
    assert len(org["candidates"]) == 3
    batch = cmd("shortlist", "--all-needs", "--k", "3")
    assert len(batch["shortlists"]) == 40 and batch["exposure"]["cap"] >= 2
    _research_matches_are_on_topic(cmd("shortlist", "--all-needs", "--kind", "seeds", "--k", "10", "--no-store"))
    why = cmd("whynot", "--need", "HN004", "--org", str(need["need"]["org_id"]))
    assert why["status"] == "excluded" and why["reason_code"] == "self"

    # 人材: a need's people carry the person (never an e-mail address) and a Japanese reason.
    people = cmd("shortlist", "--need", "HN030", "--kind", "people", "--k", "3")
    assert [c["candidate_type"] for c in people["candidates"]] == ["person"] * 3
    assert all(c["person"]["external_id"].startswith("HP") and "専門分野" in c["reason"] for c in people["candidates"])
    assert "email" not in str(people) and "example.jp" not in str(people)
    mine = cmd("shortlist", "--person", people["candidates"][0]["person"]["external_id"], "--k", "3")
    assert mine["person"]["external_id"] == people["candidates"][0]["person"]["external_id"]
    assert all(c["need"]["external_id"].startswith("HN") for c in mine["candidates"])
    plan = cmd("people", "assign", "--k", "2", "--hours", "10")
    assert plan["status"] == "optimal" and len(plan["needs"]) == 40 and plan["assigned"] > 0
    assert all(p["hours_assigned"] <= (p["hours_available"] if p["hours_available"] is not None else 10)
               for p in plan["people"])
    assert plan["hours_assigned"] == 10 * plan["assigned"]
    assert cmd("people", "erase", "HP001") == {"erased": True, "person_id": 1}
    gone = run(wheel_matcher, ["people", "erase", "HP001", "--json"], data, check=False)
    assert gone.returncode != 0 and "人材が見つかりません" in gone.stderr and "Traceback" not in gone.stderr


def _research_matches_are_on_topic(batch: dict) -> None:
    """Judged from outside the ranker, as scripts/bench_seeds.py does: a seed is relevant to a need
    when it covers one of the need's processes or one of its keywords is in the need's text. Among
    all 1,538 KAKEN seeds, a relevant local (fictional) seed written for a need ranks above every
    irrelevant KAKEN seed, an irrelevant seed in the top 5 reads 適合度 低, and most of the top 5
    is relevant."""
    import csv

    with (ROOT / "corpora" / "demo" / "needs.csv").open(encoding="utf-8-sig") as f:
        texts = {r["案件ID"]: r["件名"] + r["内容"] for r in csv.DictReader(f)}
    precision, local_first, with_local = [], 0, 0
    for one in batch["shortlists"]:
        text = texts[one["need"]["external_id"]]

        def relevant(c: dict, text: str = text) -> bool:
            return bool(c["covered_processes"]) or any(len(w) > 1 and w in text for w in c["seed"]["keywords"])

        cands = one["candidates"]
        precision.append(sum(map(relevant, cands[:5])) / 5)
        off_topic = [c for c in cands if c["seed"]["url"] and not relevant(c)]
        assert all(c["fit"] == "低" for c in off_topic if c["rank"] <= 5), one["need"]["external_id"]
        local = [c["rank"] for c in cands if not c["seed"]["url"] and relevant(c)]
        if local:
            with_local += 1
            local_first += not off_topic or min(local) < min(c["rank"] for c in off_topic)
    assert with_local >= 30 and local_first == with_local
    assert sum(precision) / len(precision) >= 0.9
