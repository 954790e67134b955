"""Replacing a directory (a store, a shard) is "whole old or whole new": a fault injected before
and after each step of :func:`outputs.atomic_directory` (an error, a signal, a SIGKILL) leaves
the old or the new directory under the final name, and the next writer recovers."""
import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO, TESTS
from support.store_faults import faulty, fill, replace

from trecvid_fpig.base import outputs
from trecvid_fpig.formats.store import convert_features

#: The steps of a replacement, in order: the old directory aside, the new one in, the old removed.
STEPS = [("rename", 1), ("rename", 2), ("remove", 1)]
WHEN = ["before", "after"]


def version(directory):
    """Which whole directory stands at `directory`: 'old', 'new', or what is wrong with it."""
    if not os.path.lexists(directory):
        return "missing"
    files = {p.name: p.read_text() for p in Path(directory).iterdir()}
    for name in ("old", "new"):
        if files == {"a": name, "b": name * 2}:
            return name
    return f"not whole: {files}"


def leftovers(parent):
    return sorted(p.name for p in Path(parent).iterdir() if p.name.startswith("."))


@pytest.fixture
def target(tmp_path):
    path = tmp_path / "s.fpig"
    path.mkdir()
    fill(path, "old")
    return path


def raise_eio():
    raise OSError(errno.EIO, os.strerror(errno.EIO))


@pytest.mark.parametrize("when", WHEN)
@pytest.mark.parametrize("step", STEPS)
def test_an_error_at_any_step_leaves_the_old_or_the_new_directory(target, monkeypatch, step,
                                                                   when):
    faulty(monkeypatch.setattr, step, when, raise_eio)
    with pytest.raises(outputs.InputError, match="Input/output error"):
        replace(target)
    monkeypatch.undo()
    new_in = STEPS.index(step) > 1 or (step == STEPS[1] and when == "after")
    assert version(target) == ("new" if new_in else "old")
    assert leftovers(target.parent) == []
    replace(target)
    assert version(target) == "new" and leftovers(target.parent) == []


@pytest.mark.parametrize("when", WHEN)
@pytest.mark.parametrize("step", STEPS)
def test_a_signal_at_any_step_waits_until_the_new_directory_is_in(target, monkeypatch, step,
                                                                    when):
    faulty(monkeypatch.setattr, step, when, lambda: os.kill(os.getpid(), signal.SIGINT))
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            replace(target)
    finally:
        signal.signal(signal.SIGINT, handler)
    assert version(target) == "new" and leftovers(target.parent) == []


KILLED = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[5])
from support.store_faults import faulty, replace
faulty(setattr, (sys.argv[1], int(sys.argv[2])), sys.argv[3],
       lambda: os.kill(os.getpid(), signal.SIGKILL))
replace(Path(sys.argv[4]))
"""


@pytest.mark.parametrize("when", WHEN)
@pytest.mark.parametrize("step", STEPS)
def test_a_writer_killed_at_any_step_is_recovered_by_the_next(target, step, when):
    """SIGKILL cannot be held: between the two renames the final name is empty, and the whole
    old directory waits under ``.old`` for the next writer, who puts it back (it used to delete
    it as a dead process's leftover, losing both copies)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", KILLED, step[0], str(step[1]), when,
                           str(target), str(TESTS)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    now = version(target)
    between_renames = (step, when) in ((STEPS[0], "after"), (STEPS[1], "before"))
    assert now in ("old", "new") or (now == "missing" and between_renames)
    outputs.remove_stale_temporaries(target)          # what the next writer does first
    assert version(target) == (now if now != "missing" else "old")
    assert leftovers(target.parent) == []
    replace(target)
    assert version(target) == "new" and leftovers(target.parent) == []


def test_convert_without_overwrite_sees_a_store_killed_mid_replacement(tmp_path):
    """The put-back store counts as there: no --overwrite, no replacing it."""
    import numpy as np

    np.save(tmp_path / "x.npy", np.eye(3, dtype=np.float32))
    (tmp_path / "x.ids.txt").write_text("a\nb\nc\n")
    store = tmp_path / "s.fpig"
    convert_features(tmp_path / "x.npy", store)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.rename(tmp_path / f".s.fpig.{dead.pid}.0a1b2c3d.old")
    with pytest.raises(outputs.InputError, match="pass --overwrite"):
        convert_features(tmp_path / "x.npy", store)
    assert (store / "manifest.json").is_file() and leftovers(tmp_path) == []
