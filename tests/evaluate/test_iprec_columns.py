"""The iprec@rec curve in the structured outputs (issue 33): docs/xinfap.md says CSV, JSON and
the API carry every number sample_eval.pl prints, and the curve was only in --format sample-eval."""
import csv
import io
import json

import pytest
from support.cli import invoke

import trecvid_fpig as tf

POINTS = [f"iprec@rec{i / 10:4.2f}" for i in range(11)]


@pytest.fixture(scope="module")
def run_a(data_dir):
    return data_dir / "tv21.runA.txt.gz"


def reference_curve(data_dir):
    """NIST's printed curve for runA's `all`, read from the script's own output."""
    lines = (data_dir / "tv21.runA.sample_eval.out").read_text().splitlines()
    return {key: float(value) for key, _, value in map(str.split, lines) if key in POINTS}


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_csv_and_json_carry_the_curve_per_topic_and_all(data_dir, run_a, fmt):
    output = invoke("score", "--qrels", "tv21", "-q", "--format", fmt, run_a).stdout
    rows = (json.loads(output)["rows"] if fmt == "json"
            else list(csv.DictReader(io.StringIO(output))))
    assert len(rows) == 21
    summary = rows[-1]
    assert summary["topic"] == "all"
    assert {p: round(float(summary[p]), 4) for p in POINTS} == reference_curve(data_dir)
    for p in POINTS:      # `all` is the mean of the topics' curves, as the script sums them
        assert float(summary[p]) == pytest.approx(sum(float(r[p]) for r in rows[:-1]) / 20)


def test_the_table_stays_as_it_was(run_a):
    header = invoke("score", "--qrels", "tv21", run_a).stdout.splitlines()[0]
    assert "iprec" not in header


def test_the_api_frame_carries_the_curve(data_dir, run_a):
    summary = tf.score(run_a, "tv21")
    assert {p: round(float(summary[p][0]), 4) for p in POINTS} == reference_curve(data_dir)
    topics = tf.score(run_a, "tv21", per_topic=True)
    assert list(topics.columns[10:21]) == POINTS and len(topics) == 20
    assert topics[POINTS[0]].mean() == pytest.approx(summary[POINTS[0]][0])
