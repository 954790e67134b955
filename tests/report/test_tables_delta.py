"""tables --against-paper: Δ shows its sign, + above the paper and - below it."""
import json

import pytest
from support import REPO
from support.cli import invoke

from trecvid_fpig.report.formats import render

RUNS = REPO / "tests" / "data"


def test_a_signed_column_shows_plus_minus_and_no_signed_zero():
    rows = [{"d": 0.0125}, {"d": -0.0125}, {"d": -0.00001}, {"d": 0.0}, {"d": None}]
    cells = [line.strip("| ") for line in render(rows, ["d"], "markdown", 3, signed={"d"}).splitlines()[2:]]
    assert cells == ["+0.013", "-0.013", "0.000", "0.000", ""]
    assert render(rows, ["d"], "csv", 3, signed={"d"}).splitlines()[1] == "0.013"   # CSV stays data


@pytest.mark.parametrize("fmt", ["markdown", "table", "latex"])
def test_against_paper_shows_the_sign_of_a_gain(tmp_path, fmt):
    """runB (0.194 on TV21) named as CLIP-ViP (0.175 published) is above the paper: +0.019."""
    (tmp_path / "m.toml").write_text(f'''published = "{REPO / 'runs' / 'paper.toml'}"

[[model]]
name = "B"
paper = "CLIP-ViP"

[model.trecvid]
tv21 = "{RUNS / 'tv21.runB.txt.gz'}"

[[model]]
name = "A"
paper = "CLIP-ViP"

[model.trecvid]
tv21 = "{RUNS / 'tv21.runA.txt.gz'}"
''')
    data = json.loads(invoke("tables", tmp_path / "m.toml", "--table", "s1", "--against-paper",
                             "--years", "tv21", "--format", "json", "--no-cache").stdout)["tables"][0]
    gain, loss = (next(r["TV21 Δ"] for r in data["rows"] if r["Model"] == m) for m in "BA")
    assert gain > 0 > loss
    out = invoke("tables", tmp_path / "m.toml", "--table", "s1", "--against-paper", "--years", "tv21",
                 "--format", fmt, "--no-cache").stdout
    assert f"+{gain:.3f}" in out and f"-{-loss:.3f}" in out
