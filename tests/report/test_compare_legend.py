"""compare's legend says how each p was found: exact enumeration where it was, random flips where not."""
import json

import pytest
from support import REPO
from support.cli import invoke


def legend(*args):
    out = json.loads(invoke("compare", "--format", "json", "--no-per-topic", "--bootstrap", "100", *args).stdout)
    return out["meta"]["legend"], out["pairs"]


@pytest.mark.slow
def test_per_year_exact_and_pooled_random_are_both_named():
    """The issue's case: 2^20 flips enumerate each year's 20 topics; the 40 pooled are drawn."""
    text, pairs = legend("--manifest", REPO / "runs" / "example.toml", "--permutations", str(2 ** 20))
    assert {p["scope"]: p["topics"] for p in pairs} == {"tv21": 20, "tv23": 20, "pooled": 40}
    assert "exact, all 2^n sign flips, for pairs on n <= 20 topics" in text
    assert f"{2 ** 20} random sign flips, seed 0, for more" in text


def test_all_exact_and_all_random(data_dir):
    runs = [data_dir / "tv21.runA.txt.gz", data_dir / "tv21.runB.txt.gz"]
    text, _ = legend("--qrels", "tv21", "--permutations", str(2 ** 20), *runs)
    assert "(exact, all 2^20 sign flips)" in text and "random sign" not in text
    text, _ = legend("--qrels", "tv21", "--permutations", str(2 ** 20 - 1), *runs)
    assert f"({2 ** 20 - 1} random sign flips, seed 0)" in text and "exact," not in text
