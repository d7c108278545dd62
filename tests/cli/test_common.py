"""The console command: exit codes, one JSON object on stdout, a fresh data dir works."""

import pytest

from tests.support import one_json, run


def test_db_upgrade_on_a_fresh_data_dir(tmp_path):
    out = one_json(run(["db", "upgrade", "--json"], tmp_path / "d"))
    assert out["revision"] == "0013"
    assert (tmp_path / "d" / "matcher.sqlite").exists()


def test_domain_errors_are_one_line_with_exit_code_2_and_choices_are_checked(tmp_path):
    data = tmp_path / "e"
    missing = run(["decide", "987654", "accept", "--json"], data, check=False)
    assert missing.returncode == 2 and missing.stdout == ""
    lines = [ln for ln in missing.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "987654" in lines[0] and "Traceback" not in missing.stderr
    no_index = run(["shortlist", "--need", "N1"], data, check=False)
    assert no_index.returncode == 2 and "索引" in no_index.stderr and "Traceback" not in no_index.stderr
    bad_kind = run(["shortlist", "--need", "N1", "--kind", "everything"], data, check=False)
    assert bad_kind.returncode == 2 and "everything" in bad_kind.stderr  # Typer's own choice check
    dup = run(["users", "create", "a@example.jp", "--role", "admin", "--password", "long-enough-pass"], data)
    assert dup.returncode == 0
    again = run(["users", "create", "A@example.jp ", "--role", "admin", "--password", "long-enough-pass"], data,
                check=False)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_real_bugs_are_not_hidden_behind_a_friendly_line(monkeypatch, capsys):
    """Only MatcherError is turned into a one-line error; a KeyError from a bug keeps its traceback."""
    from matcher import cli

    def boom():
        raise KeyError("a bug")

    monkeypatch.setattr(cli, "app", boom)
    with pytest.raises(KeyError):
        cli.main()
