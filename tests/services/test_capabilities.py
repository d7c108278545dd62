

def test_capabilities_inferred_from_profiles_carry_confidence_and_evidence(own_demo):
    from sqlmodel import select

    from matcher.learn.jsic import LearnedJsicTagger, load_examples
    from matcher.services.capabilities import infer_capabilities
    from matcher.store.db import session_scope
    from matcher.store.tables import Document, IndustryCode

    examples = load_examples()[:300]  # enough to learn from; the full set is what eval tagging measures
    tagger = LearnedJsicTagger(own_demo.embedder).fit(examples)
    phrase, code = examples[100]
    assert code in [c for c, _ in tagger.top_k([phrase], 5)[0]]  # a phrase it learned is found again
    found = infer_capabilities(own_demo.engine, own_demo.embedder, tagger=tagger)
    assert found
    with session_scope(own_demo.engine) as s:
        caps = s.exec(select(IndustryCode).where(IndustryCode.source == "inferred")).all()
        texts: dict[int, list[str]] = {}
        for d in s.exec(select(Document).where(Document.owner_type == "organization",
                                               Document.kind.in_(["profile", "track_record"]))):
            texts.setdefault(d.owner_id, []).append(d.text)
    assert 0 < len(caps) <= len(found)  # a code already declared for the firm is not stored again
    for cap in caps[:50]:
        assert 0 < cap.confidence <= 1 and cap.evidence
        assert any(cap.evidence in text for text in texts[cap.org_id])  # the phrase that implied it
    again = infer_capabilities(own_demo.engine, own_demo.embedder, tagger=tagger)
    assert [(i.org_id, i.code) for i in again] == [(i.org_id, i.code) for i in found]  # replaced, not piled up
