"""``ledger demo``: the Kotamobagu scenario end to end, small enough for the test suite.
The full 9,000-candidate run is done by hand (see docs); it takes seconds, not minutes."""

import os
import subprocess
import sys


def demo(tmp_path, *args, database_url=None):
    env = {k: v for k, v in os.environ.items() if k != "LEDGER_DATABASE_URL"}
    env["LEDGER_DATA_DIR"] = str(tmp_path)
    if database_url:
        env["LEDGER_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "ledger.cli", "demo", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_demo_runs_on_its_own_sqlite_file_and_prints_the_summary(tmp_path):
    result = demo(tmp_path, "--count", "600")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    for section in ("Participants by status", "Top mismatch reasons", "By village (top 10",
                    "quota 600: ", "Where the data is", "Imported kpj tahap-3"):
        assert section in out
    assert f"database: sqlite:///{tmp_path / 'demo.sqlite'}" in out
    assert f"rejections (candidates): {tmp_path / 'demo' / 'candidates-rejections.csv'}" in out
    assert "APBD Rp100.800.000 (600 x Rp16.800 x 10 months)" in out
    # Every run starts from a fresh file, so a second one does the same again.
    assert demo(tmp_path, "--count", "600").stdout.count("Imported candidates: 600 rows") == 1


def test_on_a_configured_database_an_existing_demo_program_is_shown_not_redone(tmp_path,
                                                                                db_url):
    first = demo(tmp_path, "--count", "300", "--seed", "7", database_url=db_url)
    second = demo(tmp_path, "--count", "300", "--seed", "7", database_url=db_url)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "kotamobagu-2024-demo-7 is already in this database" in second.stdout
    assert "Imported" not in second.stdout and "Participants by status" in second.stdout
