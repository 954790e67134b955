"""docs/fusion.md's ties example: `fuse` ranks a run's tied shots in NIST's order, ranx in its
file order, so their RRF differs; the doc shows what each gives."""
import ast
import re

import pytest
from support import REPO

import trecvid_fpig as tf

DOC = REPO / "docs" / "fusion.md"


def tie_runs(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    paths = []
    for name in ("tie-a.txt", "tie-b.txt"):
        body = re.search(rf"cat > out/{name} <<'EOF'\n(.*?)^EOF$", text, re.M | re.S).group(1)
        paths.append(tmp_path / name)
        paths[-1].write_text(body, encoding="utf-8")
    return text, paths


def test_fuse_ranks_tied_shots_by_shot_id_descending(tmp_path):
    text, paths = tie_runs(tmp_path)
    fused = tf.fuse([tf.read_run(p) for p in paths], method="rrf").to_dict()["1661"]
    # shot00002_1 ranks 1 in run a (tied with shot00001_1, larger id), shot00001_1 ranks 2
    assert fused == {"shot00003_1": 1 / 63 + 1 / 61, "shot00002_1": 1 / 61 + 1 / 63,
                     "shot00001_1": 1 / 62 + 1 / 62}
    shown = re.search(r"```output\nwrote out/tie-rrf.txt[^\n]*\n(.*?)```", text, re.S).group(1)
    assert [(l.split()[2], float(l.split()[4])) for l in shown.splitlines()] == list(fused.items())


@pytest.mark.slow       # ranx compiles its fusion with numba on first use
def test_ranx_ranks_tied_shots_in_file_order_as_the_doc_shows(tmp_path):
    ranx = pytest.importorskip("ranx")
    text, paths = tie_runs(tmp_path)
    theirs = ranx.fuse([ranx.Run.from_file(str(p), kind="trec") for p in paths], norm=None,
                       method="rrf").to_dict()["1661"]
    shown = ast.literal_eval(re.search(r'to_dict\(\)\["1661"\]\n(\{.*?\})\n', text).group(1))
    assert theirs == shown == {"shot00001_1": 1 / 61 + 1 / 62, "shot00003_1": 1 / 63 + 1 / 61,
                               "shot00002_1": 1 / 62 + 1 / 63}
    ours = tf.fuse([tf.read_run(p) for p in paths], method="rrf").to_dict()["1661"]
    assert max(ours, key=ours.get) != max(theirs, key=theirs.get)
