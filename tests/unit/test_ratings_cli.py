"""`neta ratings summary|export` on a real ratings database."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from neta.cli import main
from neta.ratings.stats import summarise
from neta.ratings.store import COLUMNS, Candidate, RatingStore


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "results" / "ratings.sqlite"
    with RatingStore(path) as store:
        for i, rater in enumerate(["ann", "bob", "ann", "cat"]):  # model_top1 wins 3 of 4, on either side
            top1, real = Candidate("木の上から失礼します", "model_top1"), Candidate("a cat in a tree", "real")
            left, right = (top1, real) if i % 2 else (real, top1)
            winner = "left" if left is top1 else "right"
            store.record(rater=rater, photo="cat.jpg", left=left, right=right, checkpoint="f00d",
                         choice=winner if i < 3 else {"left": "right", "right": "left"}[winner])
        store.record(rater="ann", photo="dog.jpg", left=Candidate("a dog", "baseline"),
                     right=Candidate("犬です, \"quoted\"\nand a newline", "most_frequent"), checkpoint="f00d",
                     choice="neither")
        store.record(rater="dan", photo="dog.jpg", left=Candidate("a dog", "baseline"),
                     right=Candidate("x", "real"), checkpoint="f00d", choice="skip")
    return path


def test_summary_prints_each_pair_with_its_interval_the_raters_and_alpha(db, capsys):
    assert main(["ratings", "summary", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"Ratings in {db}: 5 judgements (1 skipped besides) by 3 raters" in out
    line = next(line for line in out.splitlines() if line.startswith("model_top1 vs real"))
    assert line.split()[3:] == ["3", "1", "0", "4", "75", "%", "[30", "%,", "95", "%]"]
    assert "baseline vs most_frequent" in out
    # one unit, values [top1, top1, top1, real]: o(top1,top1) = 3·2/3 = 2, o(top1,real) = o(real,top1) = 3/3 = 1,
    # n_top1 = 3, n_real = 1, n = 4: alpha = 1 - (n-1)·2 / (2·3·1) = 0
    assert "Krippendorff's alpha 0.000 over 1 photo-and-pair units rated more than once (4 judgements)" in out


def test_summary_as_json_is_the_statistics_of_the_store(db, capsys, tmp_path):
    html = tmp_path / "report" / "ratings.html"
    assert main(["ratings", "summary", "--db", str(db), "--json", "--html", str(html)]) == 0
    printed = json.loads(capsys.readouterr().out)
    with RatingStore(db) as store:
        assert printed == json.loads(json.dumps(summarise(store.judgements())))
    page = html.read_text(encoding="utf-8")
    assert "<table>" in page and "model_top1 vs real" in page and "75 %" in page and "Krippendorff" in page
    assert "<script" not in page


def test_export_writes_every_judgement_with_every_column(db, tmp_path):
    out = tmp_path / "exports" / "ratings.csv"
    assert main(["ratings", "export", "--db", str(db), "--out", str(out)]) == 0
    with open(out, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with RatingStore(db) as store:
        judgements = store.judgements()
    assert list(rows[0]) == list(COLUMNS)
    assert rows == [{key: str(value) for key, value in j.row().items()} for j in judgements]
    assert rows[4]["right_text"] == "犬です, \"quoted\"\nand a newline" and rows[5]["choice"] == "skip"
    assert not [p for p in out.parent.iterdir() if p.name != "ratings.csv"]  # no temporary left


def test_a_missing_database_is_one_line_exit_2_and_is_not_created(tmp_path, capsys):
    missing = tmp_path / "results" / "ratings.sqlite"
    for argv in (["summary"], ["export", "--out", str(tmp_path / "x.csv")]):
        assert main(["ratings", *argv, "--db", str(missing)]) == 2
        err = capsys.readouterr().err
        assert f"neta: error: no ratings yet: {missing} does not exist; rate bokes at /rate in `neta serve`" in err
    assert not missing.parent.exists() and not (tmp_path / "x.csv").exists()


def test_a_file_that_is_not_a_database_is_named_by_the_command(tmp_path, capsys):
    bad = tmp_path / "ratings.sqlite"
    bad.write_bytes(b"\x00not sqlite" * 50)
    assert main(["ratings", "summary", "--db", str(bad)]) == 2
    assert f"{bad} is not a SQLite database" in capsys.readouterr().err


def test_help_and_the_default_database():
    proc = subprocess.run([sys.executable, "-m", "neta", "ratings", "summary", "--help"], capture_output=True,
                          text=True)
    assert proc.returncode == 0 and "results/ratings.sqlite" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "neta", "ratings", "export", "--help"], capture_output=True,
                          text=True)
    assert proc.returncode == 0 and "--out" in proc.stdout
