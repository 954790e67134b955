"""Hostile input to the verbs of issues 34/35 (`qrels fetch`, `score --coverage`, `qrels todo`):
each is one line naming the file, line or id, exit 2, no traceback, and nothing half-written."""
import hashlib
import os

import pytest
from support.cli import invoke
from support.loopback import closed_port_url
from support.outputs import one_error_line, snapshot

from trecvid_fpig.formats import qrels_registry
from trecvid_fpig.formats.qrels_registry import QrelsEntry, QrelsSource

COPY = "".join(f"{t} 0 shot0{t}_{i + 1} 1 {(-1, 0, 1, 1)[i]}\n"
               for t in range(1611, 1641) for i in range(4)).encode()
BLOB = hashlib.sha1(b"blob %d\0" % len(COPY) + COPY).hexdigest()


@pytest.fixture
def tv19_copy(monkeypatch, tmp_path):
    """tv19 pinned to a copy on disk (no network): the file `--from` installs."""
    monkeypatch.setitem(qrels_registry.REGISTRY, "tv19",
                        QrelsEntry("tv19", (QrelsSource(closed_port_url("/tv19"), BLOB),)))
    path = tmp_path / "avs.qrels.tv19"
    path.write_bytes(COPY)
    return path


def _loop(tmp_path):
    """A symbolic link that leads back to itself through another."""
    (tmp_path / "loop.b").symlink_to(tmp_path / "loop.a")
    (tmp_path / "loop.a").symlink_to(tmp_path / "loop.b")
    return "loop.a"


def test_fetch_an_unknown_set_names_it(fetched_data):
    one_error_line(invoke("qrels", "fetch", "tv99", ok=False), "'tv99' is not one of", "tv19")
    assert snapshot(fetched_data) == {}


@pytest.mark.parametrize("given, fragments", [
    ("folder", ["'folder' is a directory"]),
    ("missing.gz", ["missing.gz: no such file"]),
    ("empty", ["tv19: empty has git blob", BLOB, "nothing installed"]),
    ("binary", ["tv19: binary has git blob", BLOB, "nothing installed"]),
    ("half.gz", ["half.gz: not a complete gzip stream"]),
    ("loop.a", ["loop.a: no such file (a loop of symbolic links)"]),
])
def test_fetch_from_what_is_not_the_qrels(tv19_copy, fetched_data, tmp_path, monkeypatch, given,
                                          fragments):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "binary").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "half.gz").write_bytes(b"\x1f\x8b\x08\x00\x00\x00")
    _loop(tmp_path)
    line = one_error_line(invoke("qrels", "fetch", "tv19", "--from", given, ok=False), *fragments)
    assert "Traceback" not in line and snapshot(fetched_data) == {}


@pytest.mark.parametrize("where", ["file", "file/below"])
def test_a_data_folder_that_is_a_file(tv19_copy, tmp_path, monkeypatch, where):
    (tmp_path / "file").write_text("not a folder\n")
    monkeypatch.setenv("FPIG_TRECVID_DATA", str(tmp_path / where))
    one_error_line(invoke("qrels", "fetch", "tv19", "--from", tv19_copy, ok=False),
                   f"{tmp_path / 'file'}: is a file where a directory is needed",
                   f"data folder {tmp_path / where}", "set FPIG_TRECVID_DATA", "nothing installed")
    assert (tmp_path / "file").read_text() == "not a folder\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_data_folder_that_cannot_be_written(tv19_copy, tmp_path, monkeypatch):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    monkeypatch.setenv("FPIG_TRECVID_DATA", str(folder))
    try:
        one_error_line(invoke("qrels", "fetch", "tv19", "--from", tv19_copy, ok=False),
                       str(folder), "set FPIG_TRECVID_DATA", "nothing installed")
        assert snapshot(folder) == {}
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("text", ["", "\n  \n\t\n"])
@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_score_coverage_of_an_empty_run(tmp_path, text, fmt):
    run = tmp_path / "run.txt"
    run.write_text(text)
    result = invoke("score", "--qrels", "tv21", "--coverage", "--format", fmt, run, ok=False)
    one_error_line(result, f"{run}: empty run file")
    assert result.stdout == ""


def test_score_coverage_of_a_run_whose_topics_the_qrels_do_not_judge(tmp_path):
    run = tmp_path / "tv19.run"
    run.write_text("1611 Q0 shot00001_1 1 2.0 other-year\n1612 Q0 shot00001_2 1 1.0 other-year\n")
    result = invoke("score", "--qrels", "tv21", "--coverage", "-q", "--format", "csv", run, ok=False)
    one_error_line(result, str(run), "none of the run's topics (1611, 1612) is in the qrels")
    assert result.stdout == ""


@pytest.mark.parametrize("score", ["nan", "NaN", "inf", "-inf"])
def test_todo_on_a_run_with_a_score_that_is_not_a_number(tmp_path, score):
    run = tmp_path / "run.txt"
    run.write_text(f"1661 Q0 shot00001_1 1 1.5 x\n1661 Q0 shot00001_2 2 {score} x\n")
    out = tmp_path / "todo.tsv"
    one_error_line(invoke("qrels", "todo", "--qrels", "tv21", "--out", out, run, ok=False),
                   f"{run}:2: score (column 5) must be a finite number, got '{score}'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.txt"]


def test_todo_and_score_on_a_loop_of_links(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loop = _loop(tmp_path)
    for args in (["qrels", "todo", "--qrels", "tv21", "--out", "todo.tsv", loop],
                 ["score", "--qrels", "tv21", "--coverage", loop]):
        one_error_line(invoke(*args, ok=False), f"{loop}: no such file (a loop of symbolic links)")
    assert not (tmp_path / "todo.tsv").exists()
