import json
import subprocess
import sys
from pathlib import Path

from matcher.text import normalize
from matcher.text.taxonomy import manufacturing_details, normalize_jsic_code, tag_processes
from tests.conftest import CORPORA

MATCHER = str(Path(sys.executable).parent / "matcher")


def test_process_tags_from_real_phrases():
    assert tag_processes(normalize("ＭＣによる５軸加工と円筒研削、焼入れ後の歯研")) == ["切削", "研削", "熱処理"]
    assert tag_processes(normalize("アルマイト処理と粉体塗装")) == ["めっき", "塗装"]
    assert tag_processes(normalize("BGA実装とリフロー、X線検査")) == ["基板実装", "検査"]
    assert tag_processes(normalize("金属3Dプリンタによる試作")) == ["試作"]
    assert tag_processes("営業と経理") == []


def test_manufacturing_details_are_all_under_major_e():
    codes = manufacturing_details()
    assert len(codes) > 500
    assert all(c.code[:2] in {f"{i:02d}" for i in range(9, 33)} for c in codes)


def test_jsic_code_normalisation():
    assert normalize_jsic_code("2599") == "2599"
    assert normalize_jsic_code("913") == "0913"
    assert normalize_jsic_code("0000") is None


def test_eval_tagging_cross_validates_the_learned_tagger_beside_todays():
    proc = subprocess.run([MATCHER, "eval", "tagging", "--examples", str(CORPORA / "jsic" / "examples_mfg_train.tsv"),
                           "--limit", "300", "--folds", "3", "--json"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) >= {"top1", "top5", "folds", "descriptions_only", "baseline"} and out["folds"] == 3
    assert out["top5"] >= out["top1"] and out["top1"] > out["baseline"]["top1"]
    # Learning from the examples is not worse than the descriptions alone (on a 300-phrase sample
    # a code keeps fewer examples per fold than in the full run, so allow sampling noise).
    assert out["top5"] >= out["descriptions_only"]["top5"] - 0.03


def test_capabilities_inferred_from_profiles_carry_confidence_and_evidence(demo_ctx):
    from sqlmodel import select

    from matcher.services.capabilities import infer_capabilities
    from matcher.store.db import session_scope
    from matcher.store.tables import Capability, Document
    from matcher.text.taxonomy import LearnedJsicTagger, load_examples

    examples = load_examples()[:300]  # enough to learn from; the full set is what eval tagging measures
    tagger = LearnedJsicTagger(demo_ctx.embedder).fit(examples)
    phrase, code = examples[100]
    assert code in [c for c, _ in tagger.top_k([phrase], 5)[0]]  # a phrase it learned is found again
    found = infer_capabilities(demo_ctx.engine, demo_ctx.embedder, tagger=tagger)
    assert found
    with session_scope(demo_ctx.engine) as s:
        caps = s.exec(select(Capability).where(Capability.source == "inferred")).all()
        texts: dict[int, list[str]] = {}
        for d in s.exec(select(Document).where(Document.owner_type == "organization",
                                               Document.kind.in_(["profile", "track_record"]))):
            texts.setdefault(d.owner_id, []).append(d.text)
    assert 0 < len(caps) <= len(found)  # a code already declared for the firm is not stored again
    for cap in caps[:50]:
        assert 0 < cap.confidence <= 1 and cap.evidence
        assert any(cap.evidence in text for text in texts[cap.org_id])  # the phrase that implied it
    again = infer_capabilities(demo_ctx.engine, demo_ctx.embedder, tagger=tagger)
    assert [(i.org_id, i.code) for i in again] == [(i.org_id, i.code) for i in found]  # replaced, not piled up
