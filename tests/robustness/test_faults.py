"""Fault injection: a full disk or a refused write in every writer, and SIGTERM/SIGINT/SIGKILL at
random moments of `features convert` and `run` in a subprocess. After each: no traceback, one
error line, nothing incomplete under a final name, no stale companion, and no `.part` left once
the command has been run again."""
import errno
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from support import REPO
from support.cli import invoke
from support.outputs import assert_set_consistent, one_error_line, snapshot

from trecvid_fpig.base import files, outputs
from trecvid_fpig.formats.store import convert_features, read_store

D = 8
BIG = 300_000


def temporaries(directory):
    return [p for p in Path(directory).rglob(".*") if p.name.endswith((".part", ".old", ".lock"))]


def frames(c):
    """`c/frames.npy`: three frame rows (ids SHOT_FRAME) for each of 100 shots, to pool."""
    np.save(c / "frames.npy", np.random.default_rng(3).standard_normal((300, D)).astype(np.float32))
    (c / "frames.ids.txt").write_text("".join(f"shot{i // 3:05d}_1_{i % 3 + 1}\n"
                                              for i in range(300)))
    return c / "frames.npy"


def run_args(c, query="q1.npy", out="runs"):
    return ["run", "--query-features", c / query, "--features", c / "shots.fpig", "--topics",
            c / "t.txt", "--run-id", "r", "--out-dir", c / out, "--quiet", "--xml", "--top", "200"]


# --- ENOSPC / EACCES injected into the writers, in process ----------------------------------

class _FullDisk:
    """A file object whose writes fail with ENOSPC once `room` bytes were written."""

    def __init__(self, fh, room):
        self._fh, self._room = fh, room

    def write(self, data):
        self._room -= len(data)
        if self._room < 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self._fh.write(data)

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._fh.__exit__(*exc)


def fill_disk(monkeypatch, room=100):
    real = outputs.os.fdopen
    monkeypatch.setattr(outputs.os, "fdopen", lambda *a, **k: _FullDisk(real(*a, **k), room))


@pytest.mark.parametrize("room", [0, 100, 5000])
def test_enospc_in_run_keeps_the_old_set(collection, monkeypatch, room):
    assert invoke(*run_args(collection)).exit_code == 0
    before = snapshot(collection / "runs")
    fill_disk(monkeypatch, room)
    one_error_line(invoke(*run_args(collection, "q2.npy"), ok=False), "No space left on device")
    monkeypatch.undo()
    assert snapshot(collection / "runs") == before
    assert not temporaries(collection)


def test_enospc_in_the_report_writers(collection, data_dir, monkeypatch):
    c = collection
    np.save(c / "s.npy", np.eye(4, dtype=np.float32))
    manifest = c / "m.toml"
    manifest.write_text(f'[[model]]\nname = "A"\n'
                        f'trecvid.tv21 = "{(data_dir / "tv21.runA.txt.gz").as_posix()}"\n')
    (c / "f.csv").write_text("param,value,metric\nx,1,0.5\nx,2,0.6\n")
    fill_disk(monkeypatch)
    for args, out in [
        (["recall", "--sims", c / "s.npy", "--captions-per-video", "1", "--out", c / "r.txt"],
         "r.txt"),
        (["tables", manifest, "--out", c / "t.md", "--no-cache"], "t.md"),
        (["compare", "--qrels", "tv21", data_dir / "tv21.runA.txt.gz",
          data_dir / "tv21.runB.txt.gz", "--out", c / "c.txt", "--permutations", "10"], "c.txt"),
        (["plot", "sensitivity", c / "f.csv", "--out", c / "fig"], "fig.png"),
    ]:
        one_error_line(invoke(*args, ok=False), out, "No space left on device")
        assert not (c / out).exists()
    assert not temporaries(c)


def test_enospc_in_encode_leaves_no_half_pair(collection, monkeypatch):
    pytest.importorskip("torch")
    from trecvid_fpig.demo.checkpoints import save_random_checkpoint

    ckpt = save_random_checkpoint(collection / "m.pt", "hf-clip", width=32, layers=1, embed_dim=D)
    args = ["encode", "--checkpoint", ckpt, "--topics", collection / "t.txt", "--out",
            collection / "q.npy", "--quiet"]
    assert invoke(*args).exit_code == 0
    fill_disk(monkeypatch, room=0)
    one_error_line(invoke(*args, ok=False), "No space left on device")
    monkeypatch.undo()
    # The old sidecar went first, so what is left never pairs a sidecar with another matrix.
    assert not (collection / "q.json").exists() or invoke(
        *run_args(collection, "q.npy"), ok=False).exit_code == 0
    assert not temporaries(collection)


def test_a_full_disk_in_features_convert_is_an_error_not_a_sigbus(collection, monkeypatch):
    reserved = []

    def no_space(fd, offset, length):
        reserved.append(length)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", no_space)
    for source, pool in ((collection / "shots.npy", ()), (frames(collection), ("--pool", "mean"))):
        one_error_line(invoke("features", "convert", source, collection / "new.fpig", *pool,
                              ok=False), "No space left on device")
        assert not (collection / "new.fpig").exists()
    assert reserved[0] >= 300 * D * 4          # the whole matrix is reserved before it is written
    assert not temporaries(collection)


@pytest.mark.parametrize("missing", ["EOPNOTSUPP", "AttributeError"])
def test_without_posix_fallocate_space_is_reserved_by_writing(collection, monkeypatch, missing):
    """Where the file system or the platform (macOS) has no posix_fallocate: the same store."""
    def unsupported(fd, offset, length):
        if missing == "AttributeError":
            raise AttributeError("posix_fallocate")
        raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))

    expected = snapshot(collection / "shots.fpig")
    monkeypatch.setattr(os, "posix_fallocate", unsupported)
    for source, pool in ((collection / "shots.npy", ()), (frames(collection), ("--pool", "mean"))):
        dst = collection / f"new{len(pool)}.fpig"
        assert invoke("features", "convert", source, dst, *pool).exit_code == 0
    assert snapshot(collection / "new0.fpig")[Path("features.npy")] == expected[Path("features.npy")]


def test_eacces_in_the_store_directory(collection, monkeypatch):
    real_mkdir = Path.mkdir

    def refuse(self, *a, **k):
        if self.name.startswith(".new.fpig."):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(Path, "mkdir", refuse)
    one_error_line(invoke("features", "convert", collection / "shots.npy", collection / "new.fpig",
                          ok=False), "new.fpig", "Permission denied")


# --- the same faults for real, in a subprocess with a collection RLIMIT_FSIZE ---------------------

def cli_process(args, limit=None, **popen):
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1")

    def restrict():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # EFBIG instead of a core dump
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.Popen([sys.executable, "-m", "trecvid_fpig", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=restrict if limit else None, **popen)


@pytest.mark.slow
def test_file_size_limit_in_a_subprocess(collection):
    for args, final in [
        (["features", "convert", collection / "shots.npy", collection / "big.fpig"], collection / "big.fpig"),
        (run_args(collection), collection / "runs" / "r" / "t.txt"),
    ]:
        proc = cli_process(args, limit=4096)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert err.startswith("fpig-trecvid: error: ") and "File too large" in err
        assert not final.exists()
    assert not temporaries(collection)


# --- signals at random moments ---------------------------------------------------------------

@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """Inputs large enough that a signal lands in the middle of the work."""
    d = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(2)
    np.save(d / "shots.npy", rng.standard_normal((BIG, 48)).astype(np.float32))
    (d / "shots.ids.txt").write_text("".join(f"shot{i:06d}_1\n" for i in range(BIG)))
    convert_features(d / "shots.npy", d / "shots.fpig")
    (d / "t.txt").write_text("".join(f"{661 + i} topic {i}\n" for i in range(20)))
    np.save(d / "q1.npy", rng.standard_normal((20, 48)).astype(np.float32))
    return d


def wait_for_handlers(proc):
    """Until the CLI catches SIGTERM (its handlers are installed), read from /proc; True then.

    Before that moment a signal ends the interpreter during start-up, before any work."""
    status = Path(f"/proc/{proc.pid}/status")
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            caught = next(int(line.split()[1], 16) for line in status.read_text().splitlines()
                          if line.startswith("SigCgt:"))
        except (OSError, StopIteration):
            caught = 0
        if caught & (1 << (signal.SIGTERM - 1)):
            return True
        time.sleep(0.002)
    return False


def convert_case(d, dst):
    return ["features", "convert", d / "shots.npy", dst, "--quiet", "--overwrite"]


def check_store(dst):
    """A store under its final name is complete: the manifest's hashes match its arrays."""
    if dst.exists():
        store = read_store(dst)
        manifest = json.loads((dst / "manifest.json").read_text())
        assert files.file_sha256(dst / "features.npy") == manifest["features_sha256"]
        assert store.count == BIG


def hidden(directory, suffix):
    return [p for p in directory.rglob(".*") if p.name.endswith(suffix)]


def wait_for_hidden(directory, suffix, proc):
    """Until `proc` has made a hidden ``*suffix`` file (a temporary or a lock) under `directory`."""
    deadline = time.monotonic() + 120
    while not hidden(directory, suffix):
        assert proc.poll() is None and time.monotonic() < deadline, f"no {suffix} seen"
        time.sleep(0.005)


def big_case(d, tmp_path, verb):
    if verb == "convert":
        return convert_case(d, tmp_path / "s.fpig")
    return [*run_args(d, out=tmp_path / "runs")[:-2], "--top", "1000"]


def check_outputs(tmp_path, verb):
    if verb == "convert":
        check_store(tmp_path / "s.fpig")
    else:
        assert_set_consistent(tmp_path / "runs" / "r", "t")


@pytest.mark.slow       # a subprocess per case
@pytest.mark.parametrize("verb", ["convert", "run"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_writing_exits_128_plus_signal_and_cleans_up(big, tmp_path, verb, sig):
    """The signal is sent while a temporary exists: in the middle of the writing. The writer is
    stopped (SIGSTOP) while the signal is sent, so a loaded machine cannot let it finish first."""
    args = big_case(big, tmp_path, verb)
    proc = cli_process(args)
    wait_for_hidden(tmp_path, ".part", proc)
    proc.send_signal(signal.SIGSTOP)
    mid_write = bool(hidden(tmp_path, ".part"))
    proc.send_signal(sig)
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode in ((128 + sig,) if mid_write else (0, 128 + sig)), (proc.returncode, err)
    if proc.returncode:
        assert err.strip().splitlines()[-1].startswith("fpig-trecvid: interrupted"), err
    assert "Traceback" not in err
    assert not temporaries(tmp_path)
    check_outputs(tmp_path, verb)


@pytest.mark.slow
@pytest.mark.parametrize("verb", ["convert", "run"])
def test_signals_at_random_moments(big, tmp_path, verb):
    """Anywhere from the moment the CLI handles signals (Linux /proc tells) to its exit."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to see when the handlers are installed")
    d, rng = big, random.Random(7)
    args = big_case(d, tmp_path, verb)
    proc = cli_process(args)
    assert wait_for_handlers(proc)
    start = time.perf_counter()
    proc.communicate(timeout=300)
    work = time.perf_counter() - start
    assert proc.returncode == 0
    killed = False                      # SIGKILL leaves temporaries for the next run to remove
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
        proc = cli_process(args)
        assert wait_for_handlers(proc)
        time.sleep(rng.uniform(0, work * 1.1))
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=300)
        assert "Traceback" not in err, err
        if sig == signal.SIGKILL:
            assert proc.returncode in (0, -9)
            killed = True
        else:
            assert proc.returncode in (0, 128 + sig), (sig, proc.returncode, err)
            assert killed or not temporaries(tmp_path), temporaries(tmp_path)
        check_outputs(tmp_path, verb)
    rerun = cli_process(args)
    rerun.communicate(timeout=300)
    assert rerun.returncode == 0
    assert not temporaries(tmp_path)


def test_a_rerun_removes_the_leftovers_of_dead_processes_only(collection):
    """(A dead writer's ``.old`` is removed only beside the store that replaced it; without one
    it is put back: test_store_replace.py.)"""
    convert_features(collection / "shots.npy", collection / "new.fpig")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = os.getpid()
    runs = collection / "runs" / "r"
    runs.mkdir(parents=True)
    leftovers = {
        "dead_run": runs / f".t.txt.{dead.pid}.0a1b2c3d.part",
        "dead_stage": runs / f".staged.{dead.pid}.0a1b2c3d.part",
        "dead_store": collection / f".new.fpig.{dead.pid}.0a1b2c3d.part",
        "dead_old": collection / f".new.fpig.{dead.pid}.0a1b2c3d.old",
        "live_run": runs / f".t.txt.{live}.0a1b2c3d.part",
        "live_store": collection / f".new.fpig.{live}.0a1b2c3d.part",
    }
    for name, path in leftovers.items():
        if "store" in name or "stage" in name or "old" in name:
            path.mkdir()
            (path / "features.npy").write_bytes(b"half")
        else:
            path.write_text("half")
    for args in (run_args(collection), ["features", "convert", collection / "shots.npy", collection / "new.fpig",
                  "--overwrite"]):
        proc = cli_process(args)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    for name, path in leftovers.items():
        assert path.exists() == name.startswith("live"), name


@pytest.mark.slow       # two subprocesses per case
@pytest.mark.parametrize("verb", ["convert", "run"])
def test_a_second_writer_stops_at_once_naming_the_pid_that_holds_the_output(big, tmp_path, verb):
    args = big_case(big, tmp_path, verb)
    first = cli_process(args)
    wait_for_hidden(tmp_path, ".lock", first)
    lock = hidden(tmp_path, ".lock")[0]
    while lock.read_text().strip() != str(first.pid):     # taken: the pid is written after
        assert first.poll() is None
        time.sleep(0.002)
    first.send_signal(signal.SIGSTOP)   # hold it there, the lock taken, while the second starts
    try:
        second = cli_process(args)
        _, err = second.communicate(timeout=300)
    finally:
        first.send_signal(signal.SIGCONT)
    first.communicate(timeout=300)
    assert first.returncode == 0
    assert second.returncode == 2, err
    assert f"another fpig-trecvid process (pid {first.pid})" in err
    check_outputs(tmp_path, verb)
    assert not temporaries(tmp_path)


def test_a_signal_during_a_commit_waits_until_the_whole_set_is_in_place(tmp_path, monkeypatch):
    """q.npy and q.json are one unit: a SIGINT that arrives between their renames is held until
    both are in place, so the old matrix is never left bare (it would read as a sidecar-less
    .npy in topic-set order)."""
    import hashlib

    import numpy as np

    from trecvid_fpig.formats.query_features import save_query_features
    from trecvid_fpig.formats.topics import TopicSet

    topics = TopicSet("two", (661, 662), ("a dog", "a cat"), "two.txt")
    target = tmp_path / "q.npy"
    save_query_features(target, np.eye(2, 4, dtype=np.float32), topics, {"run": "old"})
    real_replace = os.replace

    def replace_then_interrupt(src, dst):
        real_replace(src, dst)
        if Path(dst) == target:                        # the matrix is in, the sidecar not yet
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(outputs.os, "replace", replace_then_interrupt)
    new = np.eye(2, 4, k=1, dtype=np.float32)
    # Another thread alive, as in a real run (progress bars, pools): the signal may land on it.
    import threading
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)   # whatever ran before
    try:
        with pytest.raises(KeyboardInterrupt):
            save_query_features(target, new, topics, {"run": "new"})
    finally:
        signal.signal(signal.SIGINT, handler)
        stop.set()
    sidecar = json.loads((tmp_path / "q.json").read_text())
    assert sidecar["run"] == "new"
    assert sidecar["features_sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    assert np.array_equal(np.load(target), new)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.json", "q.npy"]


SIGNAL_AT_LINE = """
import os, signal, sys
from trecvid_fpig import cli
at, seen = int(sys.argv[1]), [0]
def line(frame, event, arg):
    if event == "line" and signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        seen[0] += 1
        if seen[0] == at:
            os.kill(os.getpid(), signal.SIGTERM)
    return line
sys.settrace(lambda frame, event, arg: line if frame.f_code is cli.main.__code__ else None)
sys.argv = ["fpig-trecvid", "--version"]
try:
    cli.main()
finally:
    sys.stderr.write(f"lines {seen[0]}\\n")
"""


def test_a_signal_at_any_line_of_the_entry_point_exits_quietly():
    """main() installs the handlers before its command and ignores signals after it: a SIGTERM
    between two of those lines used to escape every handler, with a traceback."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    at, lines = 1, None
    while lines is None or at <= lines:
        proc = subprocess.run([sys.executable, "-c", SIGNAL_AT_LINE, str(at)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert "Traceback" not in proc.stderr, (at, proc.stderr)
        assert proc.returncode in (0, 128 + signal.SIGTERM), (at, proc.returncode, proc.stderr)
        lines = int(proc.stderr.strip().splitlines()[-1].split()[1])
        at += 1


def test_a_signal_at_any_line_of_output_lock_leaves_no_lock_file(tmp_path):
    """A SIGTERM between creating `.NAME.lock` and marking it held left the file behind. (One
    line is still open, the release's first, as the block ends: the file left then is free.)"""
    import inspect

    from trecvid_fpig.base import locks

    code = locks.output_lock.__wrapped__.__code__
    source, first = inspect.getsourcelines(code)
    block = first + next(n for n, text in enumerate(source) if text.strip() == "yield")

    class Stop(BaseException):
        pass

    def stop(signum, frame):
        raise Stop

    def lock_once(at: int) -> int:
        """Lines of output_lock run, with a SIGTERM at line `at` (0: none)."""
        seen = [0]

        def line(frame, event, arg, at=at, seen=seen):
            if event == "line" and frame.f_lineno < block:
                seen[0] += 1
                if seen[0] == at:
                    signal.raise_signal(signal.SIGTERM)
            return line

        previous = signal.signal(signal.SIGTERM, stop)
        sys.settrace(lambda frame, event, arg:
                     line if frame.f_code is code else None)
        try:
            with locks.output_lock(tmp_path / "out"):
                pass
        except Stop:
            pass
        finally:
            sys.settrace(None)
            signal.signal(signal.SIGTERM, previous)
        assert list(tmp_path.iterdir()) == [], (at, list(tmp_path.iterdir()))
        return seen[0]

    lines = lock_once(0)
    assert lines > 10
    for at in range(1, lines + 1):
        lock_once(at)
