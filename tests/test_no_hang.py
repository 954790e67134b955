"""Nothing waits on a dead worker: a killed scoring worker is an error naming its run, and no
process is left behind. Every command runs in a subprocess under `timeout`, so a regression
fails the test instead of hanging it."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
ENV = dict(os.environ, PYTHONPATH=str(TESTS.parent), OMP_NUM_THREADS="1")

#: `score` with one core per run, whose worker for a run named *victim* kills itself and for one
#: named *sleeper* never ends.
SCORE_SCRIPT = """\
import os, signal, sys
from trecvid_fpig.evaluate import score
real = score.score_run
def dying(qrels, path, *args):
    if "victim" in str(path):
        os.kill(os.getpid(), signal.SIGKILL)
    if "sleeper" in str(path):
        signal.pause()
    return real(qrels, path, *args)
score.score_run = dying
os.cpu_count = lambda: 8
from trecvid_fpig.cli import main
sys.argv = ["fpig-trecvid"] + sys.argv[1:]
main()
"""


def session_processes(session: int):
    """Pids of the live processes of session `session` (zombies are already dead)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, _ppid, _group, sid = stat.rsplit(")", 1)[1].split()[:4]
        if int(sid) == session and state != "Z":
            pids.append(int(entry.name))
    return pids


def run_session(args, timeout: float, **kwargs):
    """Run `args` under `timeout` in a new session; its result and the session's leftovers."""
    started = time.monotonic()
    process = subprocess.Popen(["timeout", "-s", "KILL", str(timeout), *args], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, **kwargs)
    out, err = process.communicate()
    return process.returncode, out, err, time.monotonic() - started, session_processes(process.pid)


def score_args(tmp_path, data_dir, names):
    runs = []
    for name in names:
        runs.append(tmp_path / f"{name}.txt.gz")
        runs[-1].write_bytes((data_dir / "tv21.runA.txt.gz").read_bytes())
    script = tmp_path / "score.py"
    script.write_text(SCORE_SCRIPT)
    return [sys.executable, str(script), "score", "--qrels", "tv21", *map(str, runs)], runs


def test_a_killed_scoring_worker_names_its_run_at_once(tmp_path, data_dir):
    args, runs = score_args(tmp_path, data_dir, ("first", "victim", "third"))
    code, out, err, seconds, left = run_session(args, 60)
    assert code == 2, err
    assert err.strip().splitlines() == [
        f"fpig-trecvid: error: {runs[1]}: the process scoring this run was killed by SIGKILL "
        f"(out of memory?)"]
    assert out == "" and "Traceback" not in err
    assert seconds < 30 and left == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_score_while_its_workers_run(tmp_path, data_dir, signum):
    args, _ = score_args(tmp_path, data_dir, ("first", "sleeper", "third"))
    process = subprocess.Popen(["timeout", "-s", "KILL", "60", *args], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    deadline = time.monotonic() + 30
    while len(session_processes(process.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)                # timeout, score and at least its sleeping worker
    time.sleep(0.5)
    os.killpg(process.pid, signum)      # as a terminal or a batch system sends it: to all
    out, err = process.communicate()
    assert process.returncode == 128 + signum, err
    assert err.strip().splitlines() == [f"fpig-trecvid: interrupted ({signum.name}); nothing "
                                f"half-written was left"]
    assert session_processes(process.pid) == []
