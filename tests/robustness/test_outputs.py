"""What every writer promises (docs/formats.md, "What the toolkit guarantees"): an output is never
an input, the files of one topic set are committed as a unit, one process writes an output at a
time, an OSError is one line and exit 2, temporaries are removed, the umask is respected; and
click's own usage errors are one line too."""
import errno
import json
import os
import stat

import numpy as np
import pytest
from support.cli import invoke
from support.outputs import assert_set_consistent, one_error_line, run, snapshot

from trecvid_fpig.base import outputs
from trecvid_fpig.base.locks import output_lock
from trecvid_fpig.formats.store import convert_features

# --- 7: an output that is one of the inputs -----------------------------------------------

def tables_manifest(tmp_path, data_dir):
    path = tmp_path / "m.toml"
    path.write_text(f'[[model]]\nname = "A"\n'
                    f'trecvid.tv21 = "{(data_dir / "tv21.runA.txt.gz").as_posix()}"\n')
    return path


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_out_equal_to_an_input_is_refused_and_the_input_kept(tmp_path, data_dir, link):
    manifest = tables_manifest(tmp_path, data_dir)
    sims = tmp_path / "s.npy"
    np.save(sims, np.eye(4, dtype=np.float32))
    run_a = tmp_path / "a.txt"
    run_a.write_bytes((data_dir / "tv21.runA.txt.gz").read_bytes())

    def alias(path):
        if link == "same":
            return path
        other = tmp_path / f"{link}-{path.name}"
        (other.symlink_to if link == "symlink" else other.hardlink_to)(path)
        return other

    cases = [
        (manifest, ["tables", manifest, "--out", alias(manifest)]),
        (sims, ["recall", "--sims", sims, "--captions-per-video", "1", "--out", alias(sims)]),
        (run_a, ["compare", "--qrels", "tv21", run_a, data_dir / "tv21.runB.txt.gz",
                 "--out", alias(run_a)]),
    ]
    for target, args in cases:
        before = target.read_bytes()
        one_error_line(invoke(*args, ok=False), "same file as the", target.name)
        assert target.read_bytes() == before


def test_tables_out_equal_to_a_run_of_the_manifest_is_refused(tmp_path, data_dir):
    run_file = tmp_path / "a.txt.gz"
    run_file.write_bytes((data_dir / "tv21.runA.txt.gz").read_bytes())
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[[model]]\nname = "A"\ntrecvid.tv21 = "{run_file.as_posix()}"\n')
    one_error_line(invoke("tables", manifest, "--out", run_file, ok=False), "same file as the run")
    assert run_file.read_bytes() == (data_dir / "tv21.runA.txt.gz").read_bytes()


def test_run_convert_encode_and_plot_refuse_to_overwrite_their_inputs(collection):
    c = collection
    (c / "runs" / "r").mkdir(parents=True)
    topics = c / "runs" / "r" / "t.txt"
    topics.write_text("661 a dog\n662 a cat\n663 a bird\n")
    result = invoke("run", "--query-features", c / "q1.npy", "--features", c / "shots.fpig",
                    "--topics", topics, "--run-id", "r", "--out-dir", c / "runs", ok=False)
    one_error_line(result, "same file as the topic file")
    assert topics.read_text().startswith("661 a dog")
    before = snapshot(c / "shots.fpig")
    one_error_line(invoke("features", "convert", c / "shots.fpig", c / "shots.fpig",
                          "--overwrite", ok=False), "same file as the source")
    assert snapshot(c / "shots.fpig") == before
    (c / "topics.json").write_text("661 a dog\n")     # would be the sidecar of topics.npy
    one_error_line(invoke("encode", "--checkpoint", c / "q1.npy", "--topics", c / "topics.json",
                          "--out", c / "topics.npy", ok=False), "same file as the topic file")
    (c / "f.csv.png").write_text("param,value,metric\nx,1,0.5\n")
    one_error_line(invoke("plot", "sensitivity", c / "f.csv.png", "--out", c / "f.csv", ok=False),
                   "same file as the CSV")


# --- 11: the files of one topic set are one unit --------------------------------------------

def test_a_run_failing_after_the_search_leaves_the_old_set_untouched(collection):
    c = collection
    run(c, "q1.npy", "--xml")
    before = snapshot(c / "runs")
    assert {p.name for p in (c / "runs" / "r").iterdir()} == {"t.txt", "t.json", "t.xml"}
    one_error_line(run(c, "q2.npy", "--xml", "--xml-field", "trType=Z", ok=False), "trType")
    one_error_line(run(c, "q2.npy", "--xml", "--xml-field", "class=Q", ok=False), "class")
    assert snapshot(c / "runs") == before


def test_sidecar_records_the_hash_of_every_file_and_a_new_set_drops_stale_companions(collection):
    c = collection
    run(c, "q1.npy", "--xml")
    files = json.loads((c / "runs" / "r" / "t.json").read_text())["files"]
    assert files["xml"] == "t.xml" and files["run"] == "t.txt"
    assert_set_consistent(c / "runs" / "r")
    run(c, "q2.npy")                                   # no --xml now: the old XML must go
    assert not (c / "runs" / "r" / "t.xml").exists()
    assert_set_consistent(c / "runs" / "r")


@pytest.mark.parametrize("fail_at", [1, 2, 3])
def test_a_commit_cut_short_never_pairs_a_sidecar_with_other_files(collection, monkeypatch, fail_at):
    c = collection
    run(c, "q1.npy", "--xml")
    real_replace, calls = os.replace, []

    def failing_replace(src, dst):
        if ".staged." in str(src):
            calls.append(dst)
            if len(calls) == fail_at:
                raise OSError(errno.EIO, "Input/output error")
        return real_replace(src, dst)

    monkeypatch.setattr(outputs.os, "replace", failing_replace)
    one_error_line(run(c, "q2.npy", "--xml", ok=False), "Input/output error")
    assert_set_consistent(c / "runs" / "r")
    assert not [p for p in (c / "runs").rglob(".*") if p.suffix in (".part", ".lock")]
    monkeypatch.undo()
    run(c, "q2.npy", "--xml")
    assert_set_consistent(c / "runs" / "r")
    assert (c / "runs" / "r" / "t.json").exists()


# --- 12, 13: one writer at a time -----------------------------------------------------------

def test_a_second_writer_is_told_which_process_holds_the_output(collection):
    c = collection
    pid = str(os.getpid())
    with output_lock(c / "runs" / "r"):
        one_error_line(run(c, ok=False), "another fpig-trecvid process", pid, "runs/r")
    assert not (c / "runs" / "r").exists()
    run(c)                                              # free again, and no lock file left
    assert not list((c / "runs").glob(".*lock"))
    with output_lock(c / "q.npy"):
        one_error_line(invoke("encode", "--checkpoint", c / "x.pt", "--topics", "tv21",
                              "--out", c / "q.npy", ok=False), pid)
    with output_lock(c / "new.fpig"):
        one_error_line(invoke("features", "convert", c / "shots.npy", c / "new.fpig", ok=False),
                       pid)
    assert not (c / "new.fpig").exists()
    np.save(c / "s.npy", np.eye(3, dtype=np.float32))
    with output_lock(c / "out.md"):
        one_error_line(invoke("recall", "--sims", c / "s.npy", "--captions-per-video", "1",
                              "--out", c / "out.md", ok=False), pid)
    (c / "f.csv").write_text("param,value,metric\nx,1,0.5\nx,2,0.6\n")
    with output_lock(c / "fig"):
        one_error_line(invoke("plot", "sensitivity", c / "f.csv", "--out", c / "fig", ok=False),
                       pid)


def test_tables_out_is_locked(tmp_path, data_dir):
    manifest = tables_manifest(tmp_path, data_dir)
    with output_lock(tmp_path / "t.md"):
        one_error_line(invoke("tables", manifest, "--out", tmp_path / "t.md", "--no-cache",
                              ok=False), str(os.getpid()))


# --- 14: OSErrors while writing are one line, exit 2, and leave no temporary ----------------

def no_temporaries(directory):
    left = [p for p in directory.rglob(".*") if p.name.endswith((".part", ".old", ".lock"))]
    assert not left, left


def test_output_paths_in_the_way_are_one_line_errors(collection, tmp_path):
    c = collection
    (c / "plain").write_text("x")
    one_error_line(run(c, out="plain/sub", ok=False), "plain: is a file where a directory is")
    (c / "runs").mkdir()
    (c / "runs" / "r").write_text("a file where the run directory goes")
    one_error_line(run(c, ok=False), "runs/r: is a file where a directory is needed")
    (c / "runs" / "r").unlink()
    (c / "runs" / "r" / "t.txt").mkdir(parents=True)
    one_error_line(run(c, ok=False), "t.txt", "Is a directory")
    assert not (c / "runs" / "r" / "t.json").exists()
    no_temporaries(c)
    np.save(c / "s.npy", np.eye(3, dtype=np.float32))
    one_error_line(invoke("recall", "--sims", c / "s.npy", "--captions-per-video", "1",
                          "--out", c / "plain" / "x.json", ok=False), "plain")
    one_error_line(invoke("features", "convert", c / "shots.npy", c / "plain" / "s.fpig",
                          ok=False), "plain")


def refuse_creating_in(monkeypatch, directory, err=errno.EACCES):
    """Inject EACCES (as for a read-only directory) into every file the writers create there."""
    real = outputs._create_file

    def create(path):
        if path.parent == directory:
            raise OSError(err, os.strerror(err), str(path))
        return real(path)

    monkeypatch.setattr(outputs, "_create_file", create)


def test_read_only_out_dir_is_one_line(collection, monkeypatch):
    c = collection
    np.save(c / "s.npy", np.eye(3, dtype=np.float32))
    refuse_creating_in(monkeypatch, c / "ro")
    (c / "ro").mkdir()
    one_error_line(invoke("recall", "--sims", c / "s.npy", "--captions-per-video", "1",
                          "--out", c / "ro" / "x.json", ok=False), "ro/x.json", "Permission denied")
    no_temporaries(c)


def test_tables_go_on_without_a_read_only_cache_and_say_so(tmp_path, data_dir, monkeypatch):
    manifest = tables_manifest(tmp_path, data_dir)
    plain = invoke("tables", manifest, "--no-cache")
    refuse_creating_in(monkeypatch, tmp_path / ".fpig-cache")
    result = invoke("tables", manifest)
    assert result.stdout == plain.stdout
    assert "not caching" in result.stderr and "Permission denied" in result.stderr
    assert not list((tmp_path / ".fpig-cache").glob("*.json"))


# --- 17: the umask, not 0600/0700 -----------------------------------------------------------

def test_outputs_respect_the_umask(collection, data_dir):
    c = collection
    old = os.umask(0o022)
    try:
        convert_features(c / "shots.npy", c / "u.fpig")
        run(c, "q1.npy", "--xml")
        invoke("tables", tables_manifest(c, data_dir), "--out", c / "t.md")
    finally:
        os.umask(old)
    paths = [c / "u.fpig", *(c / "u.fpig").iterdir(), c / "runs", c / "runs" / "r",
             *(c / "runs" / "r").iterdir(), c / "t.md", c / ".fpig-cache",
             *(c / ".fpig-cache").iterdir()]
    for p in paths:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o755 if p.is_dir() else 0o644), (p, oct(mode))


# --- messages -------------------------------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["score", "x.txt"], "--qrels"),
    (["recall", "--sims", "x.npy"], "--gt or --captions-per-video"),
    (["run", "--features", "f"], "Missing option"),
    (["score", "--qrels", "tv21", "--format", "nope", "x"], "nope"),
    (["nonsense"], "nonsense"),
])
def test_click_usage_errors_are_one_line(args, fragment):
    one_error_line(invoke(*args, ok=False), fragment)


def test_score_scores_the_good_runs_of_a_batch_and_names_the_bad_one(tmp_path, data_dir):
    bad = tmp_path / "bad.txt"
    bad.write_text("1661 Q0 shot1_1\n")
    good = [data_dir / "tv21.runA.txt.gz", data_dir / "tv21.runB.txt.gz"]
    alone = invoke("score", "--qrels", "tv21", "--format", "csv", *good)
    result = invoke("score", "--qrels", "tv21", "--format", "csv", good[0], bad, good[1], ok=False)
    assert result.exit_code == 2
    assert result.stdout == alone.stdout
    assert "bad.txt" in result.stderr and "Traceback" not in result.stderr


def test_fuse_and_runs_convert_refuse_their_input_as_output(tmp_path, data_dir):
    run_a = tmp_path / "a.txt"
    run_a.write_bytes((data_dir / "tv21.runA.txt.gz").read_bytes())
    before = run_a.read_bytes()
    one_error_line(invoke("fuse", "--run-id", "f", "--out", run_a, run_a,
                          data_dir / "tv21.runB.txt.gz", ok=False), "same file as the run")
    one_error_line(invoke("runs", "convert", run_a, run_a, "--to", "trec", ok=False),
                   "same file as the run")
    assert run_a.read_bytes() == before
    with output_lock(tmp_path / "f.txt"):
        one_error_line(invoke("fuse", "--run-id", "f", "--out", tmp_path / "f.txt", run_a,
                              data_dir / "tv21.runB.txt.gz", ok=False), str(os.getpid()))


# --- an empty run is an error, never a silent success -------------------------------------

def fused(c, *models, extra=(), ok=True):
    args = [a for m in models for a in ("--model", m)]
    return invoke("run", *args, "--topics", c / "t.txt", "--run-id", "r", "--out-dir",
                  c / "runs", "--quiet", *extra, ok=ok)


def test_a_run_excluding_every_shot_is_an_error(collection):
    """It used to write an empty run with exit 0, single model and fused alike."""
    c = collection
    (c / "all.txt").write_text("".join(f"shot{i:05d}_1\n" for i in range(300)))
    (c / "most.txt").write_text("".join(f"shot{i:05d}_1\n" for i in range(1, 300)))
    model = f"{c / 'q1.npy'}:{c / 'shots.fpig'}"
    for result in (run(c, "q1.npy", "--exclude", c / "all.txt", ok=False),
                   fused(c, model, model, extra=("--exclude", c / "all.txt"), ok=False)):
        one_error_line(result, "shots.fpig", "--exclude leaves out all 300 shots")
        assert not snapshot(c / "runs")
    run(c, "q1.npy", "--exclude", c / "most.txt")
    lines = (c / "runs" / "r" / "t.txt").read_text().splitlines()
    assert [line.split()[2] for line in lines] == ["shot00000_1"] * 3


def test_fused_weights_beyond_float32_are_refused(collection):
    """A weight of 1e308 overflowed the float32 sum to infinity, and no candidate was kept:
    an empty run with exit 0."""
    c = collection
    heavy, plain = (f"{c / 'q1.npy'}:{c / 'shots.fpig'}:{w}" for w in ("1e308", "1"))
    one_error_line(fused(c, heavy, plain, ok=False), "weights sum to 1e+308", "float32")
    assert not snapshot(c / "runs")
    fused(c, f"{c / 'q1.npy'}:{c / 'shots.fpig'}:1e30", plain)
    assert len((c / "runs" / "r" / "t.txt").read_text().splitlines()) == 3 * 300
