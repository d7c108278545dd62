"""Joint-order groups and the set-cover solver: exact, constraint-safe, deterministic, explained."""



def test_groups_solve_command_errors_are_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "scp.txt"
    path.write_text("1 2\n" + "9" * 5000 + " 1\n1 1\n", encoding="ascii")
    done = subprocess.run([str(Path(sys.executable).parent / "matcher"), "groups", "solve", str(path), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "大きすぎます" in done.stderr
