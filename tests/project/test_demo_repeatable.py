"""The demo is repeatable: the same seed generates the same mp4 bytes and prints the same tables."""
import hashlib

import pytest
from support.cli import invoke

from trecvid_fpig.demo.collection import demo_collection
from trecvid_fpig.formats.qrels import load_qrels


def _digests(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_generated_videos_are_the_same_bytes_every_time(tmp_path):
    """x264's own RGB conversion, then its macroblock tree, varied from run to run (about one
    generation in three); six generations, so a one-in-three variation shows nearly always."""
    qrels = load_qrels("tv21")
    runs = []
    for n in range(6):
        demo_collection(tmp_path / str(n), qrels, 0)
        runs.append(_digests(tmp_path / str(n)))
    assert any(name.endswith(".mp4") for name in runs[0])
    assert all(r == runs[0] for r in runs[1:])


@pytest.mark.slow
def test_two_demo_runs_print_the_same_tables():
    first, second = (invoke("demo", "--distractors", "100", "--format", "csv", "--quiet").stdout
                     for _ in range(2))
    assert "demo-video," in first and first == second
    assert "browse site: rerun with --workdir DIR" in first    # the temporary workspace is gone
