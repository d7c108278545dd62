"""Joint-order groups and the set-cover solver: exact, constraint-safe, deterministic, explained."""



def test_sig_proposals_are_chosen_by_silhouette_labelled_and_convened(demo_ctx):
    from matcher import views
    from matcher.services.sig import RESEARCH_KINDS, propose_sigs

    p = propose_sigs(demo_ctx, seed=0)
    assert p.method in ("kmeans", "ward") and p.silhouette == max(max(s.values()) for s in p.scores.values())
    assert len(p.sigs) >= 3
    everyone = [m.party.id for s in p.sigs for m in s.members]
    assert len(everyone) == len(set(everyone))  # each firm in one SIG
    for s in p.sigs:
        assert s.label.endswith("研究会") and s.terms and all(t in s.label for t in s.terms[:1])
        assert s.convener.party in [m.party for m in s.members]
        research = [m for m in s.members if m.party.kind in RESEARCH_KINDS]
        assert (s.convener.party.kind in RESEARCH_KINDS) == bool(research)
        assert all(m.why for m in s.members + s.seeds)
    again = propose_sigs(demo_ctx, seed=0)
    assert [[m.party.id for m in s.members] for s in again.sigs] == [[m.party.id for m in s.members] for s in p.sigs]
    out = views.as_json(views.sigs_out(p))
    assert set(out["sigs"][0]) == {"label", "terms", "members", "seeds", "convener"}


def test_sig_labels_are_whole_words_a_coordinator_could_print(demo_ctx):
    from matcher.services.sig import MIN_ORGS, propose_sigs
    from matcher.text.terms import compounds

    p = propose_sigs(demo_ctx, seed=0)
    texts = [m.party.text for s in p.sigs for m in s.members + s.seeds]
    share = {t: sum(t in x for x in texts) / len(texts) for s in p.sigs for t in s.terms}
    for s in p.sigs:
        assert len(s.members) >= MIN_ORGS
        words = {w for m in s.members + s.seeds for w in compounds(m.party.text)}
        for t in s.terms:
            longer = [w for w in words if t in w and w != t]
            assert not longer, (s.label, t, longer[:3])  # never a fragment of a longer word
            assert share[t] <= 0.5 and t != "架空", (s.label, t)
