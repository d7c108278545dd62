"""Forum events in the store: participant import, seating from the scored graph, re-seating after
cancellations, the printed chart, the CLI and the desk page."""

from __future__ import annotations

import pytest

from matcher.errors import InvalidInput
from matcher.services import forum


def test_too_few_participants_and_impossible_hosts_are_clear_errors(own_demo, tmp_path):
    orgs = sorted(own_demo.orgs.values(), key=lambda o: o.id)
    path = tmp_path / "hosts.csv"
    path.write_text("氏名,企業ID,ホスト卓\n" + "".join(f"ホスト{i},{orgs[i].external_id},1\n" for i in range(2))
                    + "".join(f"参加者{i},{orgs[i].external_id},\n" for i in range(2, 10)), encoding="utf-8")
    event = forum.import_participants(own_demo.engine, path, "ホスト重複テスト").event_id
    with pytest.raises(InvalidInput, match="would meet in every round"):
        forum.build_plan(own_demo, event, rounds=2, table_size=4)
    lonely = tmp_path / "one.csv"
    lonely.write_text(f"氏名,企業ID\nひとり,{orgs[0].external_id}\n", encoding="utf-8")
    event = forum.import_participants(own_demo.engine, lonely, "一人テスト").event_id
    with pytest.raises(InvalidInput) as info:
        forum.build_plan(own_demo, event, rounds=2, table_size=4)
    assert "2 名以上" in info.value.message_ja
