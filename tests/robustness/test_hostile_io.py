"""Hostile inputs to the toolkit's own readers, writers and extraction (issue 32): each fails with
one line naming the input, a non-zero exit that is not 130, and no traceback."""
import gzip
import shutil

import numpy as np
import pytest
from support.cli import runner

from trecvid_fpig.cli import cli
from trecvid_fpig.formats.store import convert_features


def fpig(*args, stdin=None):
    return runner().invoke(cli, [str(a) for a in args], input=stdin)


def refused(result, *words):
    """Exit 2 (never 130, which means Ctrl-C), one error line with each of `words`, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert "interrupted" not in result.stderr and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("fpig-trecvid: error: "), result.stderr
    for word in words:
        assert word in lines[0], result.stderr
    return lines[0]


@pytest.fixture
def store(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.standard_normal((12, 8)).astype(np.float32))
    (tmp_path / "x.ids.txt").write_text("".join(f"shot00001_{i + 1}\n" for i in range(12)))
    convert_features(tmp_path / "x.npy", tmp_path / "x.fpig")
    return tmp_path / "x.fpig"


# --- 1. an EOFError is not Ctrl-C --------------------------------------------------------------

def test_truncated_gzip_on_stdin_names_standard_input():
    whole = gzip.compress(b"1661 Q0 shot00001_1 1 0.9 t\n" * 50)
    refused(fpig("score", "--qrels", "tv21", "-", stdin=whole[:len(whole) // 2]),
            "standard input", "gzip")


@pytest.mark.parametrize("array", ["features.npy", "ids.npy"])
def test_empty_store_array_is_named(store, array):
    (store / array).write_bytes(b"")
    refused(fpig("features", "inspect", store), f"{array}: not a readable .npy")


def test_empty_merge_part_array_is_named(store, tmp_path):
    (store / "features.npy").write_bytes(b"")
    refused(fpig("features", "merge", tmp_path / "out", store), "features.npy")
    assert not (tmp_path / "out").exists()


def test_eof_from_any_reader_exits_2_not_130(store, monkeypatch):
    """The net under every reader: an EOFError that escapes one is an error, not an interrupt."""
    def ends_early(*args, **kwargs):
        raise EOFError("Ran out of input")

    monkeypatch.setattr("trecvid_fpig.formats.store.read_store", ends_early)
    refused(fpig("features", "inspect", store), "input ended early", "Ran out of input")
