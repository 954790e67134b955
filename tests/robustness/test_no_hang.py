"""Nothing waits on a dead worker or outlives a killed command: a killed scoring worker is an
error naming its run; a `kill -9` of an extraction leaves no decode worker holding its output
lock; a signal ends either command with one line. Every command runs in a subprocess under
`timeout`, so a regression fails the test instead of hanging it."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import TESTS
from support.extraction import keyframe_collection, v3c_collection

from trecvid_fpig.base.locks import output_lock
from trecvid_fpig.formats.store import read_features

pytestmark = pytest.mark.slow

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


#: `features extract` with the fake tower, `FPIG_TEST_DELAY` seconds a batch.
EXTRACT_SCRIPT = f"""\
import os, sys
sys.path.insert(0, {str(TESTS)!r})
from support.extraction import FakeVideoEncoder
from trecvid_fpig.extract import job
delay = float(os.environ.get("FPIG_TEST_DELAY", "0"))
job.open_encoder = lambda checkpoint, device, plugin, tower_config=None: FakeVideoEncoder(delay=delay)
from trecvid_fpig.cli import main
sys.argv = ["fpig-trecvid"] + sys.argv[1:]
main()
"""
#: 8 one-second shots in one video, one shard each.
SHOTS = {"00001": [(25 * n, 25 * n + 24) for n in range(8)]}


#: Forks a child that outlives it while it holds the lock on argv[1], then dies as kill -9 would.
LOCK_SCRIPT = """\
import os, sys, time
from trecvid_fpig.base.locks import output_lock
with output_lock(sys.argv[1]):
    child = os.fork()
    if child == 0:
        time.sleep(300)
        os._exit(0)
    print(child, flush=True)
    os._exit(0)
"""


def session_processes(session: int):
    """{pid: parent pid} of the live processes of session `session` (zombies are dead)."""
    pids = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid, _group, sid = stat.rsplit(")", 1)[1].split()[:4]
        if int(sid) == session and state != "Z":
            pids[int(entry.name)] = int(ppid)
    return pids


def kill_session(session: int):
    left = session_processes(session)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def finish(process: subprocess.Popen, seconds: float):
    """`process`'s output once it, and any process holding its pipes, has ended; after `seconds`
    a failure, with every process of its session killed."""
    try:
        return process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        left = kill_session(process.pid)
        process.communicate()
        pytest.fail(f"still running after {seconds} s: pids {left}")


def run_session(args, timeout: float):
    """Run `args` under `timeout` in a new session; its result and the session's leftovers."""
    process = subprocess.Popen(["timeout", "-s", "KILL", str(timeout), *args], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    out, err = finish(process, timeout + 30)
    return process.returncode, out, err, session_processes(process.pid)


def score_args(tmp_path, data_dir, names):
    runs = []
    for name in names:
        runs.append(tmp_path / f"{name}.txt.gz")
        runs[-1].write_bytes((data_dir / "tv21.runA.txt.gz").read_bytes())
    script = tmp_path / "score.py"
    script.write_text(SCORE_SCRIPT)
    return [sys.executable, str(script), "score", "--qrels", "tv21", *map(str, runs)], runs


def test_a_killed_scoring_worker_is_an_error_naming_its_run(tmp_path, data_dir):
    args, runs = score_args(tmp_path, data_dir, ("first", "victim", "third"))
    code, out, err, left = run_session(args, 120)
    assert code == 2, err
    assert err.strip().splitlines() == [
        f"fpig-trecvid: error: {runs[1]}: the process scoring this run was killed by SIGKILL "
        f"(out of memory?)"]
    assert out == "" and "Traceback" not in err
    assert left == {}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_score_while_its_workers_run(tmp_path, data_dir, signum):
    args, _ = score_args(tmp_path, data_dir, ("first", "sleeper", "third"))
    process = subprocess.Popen(["timeout", "-s", "KILL", "300", *args], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    deadline = time.monotonic() + 240   # start-up takes long on a loaded machine
    while len(session_processes(process.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)                # timeout, score and at least its sleeping worker
    assert len(session_processes(process.pid)) >= 3, finish(process, 1)
    time.sleep(0.5)
    os.killpg(process.pid, signum)      # as a terminal or a batch system sends it: to all
    out, err = finish(process, 60)
    assert process.returncode == 128 + signum, err
    assert err.splitlines() == [f"fpig-trecvid: interrupted ({signum.name}); nothing "
                                f"half-written was left"]
    assert session_processes(process.pid) == {}


@pytest.fixture(scope="module")
def extract_args(tmp_path_factory):
    root = tmp_path_factory.mktemp("v3c")
    videos, boundaries = v3c_collection(root, SHOTS)
    script = root / "extract.py"
    script.write_text(EXTRACT_SCRIPT)
    return [sys.executable, str(script), "features", "extract", "--checkpoint", "x.pt",
            "--videos", str(videos), "--boundaries", str(boundaries), "--shard-size", "1",
            "--batch-size", "1", "--workers", "1"]


def start_slow_extraction(args, out: Path) -> subprocess.Popen:
    """The extraction at half a second a shot, once it has finished its first shard."""
    process = subprocess.Popen(["timeout", "-s", "KILL", "300", *args, "--quiet", str(out)],
                               env=dict(ENV, FPIG_TEST_DELAY="0.5"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 240
    while (not list(Path(f"{out}.shards").glob("shard-*")) and time.monotonic() < deadline
           and process.poll() is None):
        time.sleep(0.05)
    assert list(Path(f"{out}.shards").glob("shard-*")), finish(process, 330)
    return process


def command_pid(process: subprocess.Popen) -> int:
    """The command's own process, not its workers: the child of `timeout`."""
    (pid,) = [pid for pid, parent in session_processes(process.pid).items()
              if parent == process.pid]
    return pid


def wait_until_gone(session: int, seconds: float):
    deadline = time.monotonic() + seconds
    while session_processes(session) and time.monotonic() < deadline:
        time.sleep(0.05)
    return session_processes(session)


def resumed(args, out: Path):
    """The rerun: it is not refused, and reuses the shards the first run finished."""
    code, stdout, err, left = run_session([*args, str(out)], 300)
    assert code == 0, err
    assert left == {}
    run, reused = (int(n) for n in re.search(r"(\d+) shard\(s\) run, (\d+) reused",
                                              stdout).groups())
    assert run + reused == len(SHOTS["00001"]) and reused >= 1
    return read_features(out).ids


def test_a_forked_child_does_not_keep_the_output_lock_of_a_dead_parent(tmp_path):
    process = subprocess.Popen(["timeout", "-s", "KILL", "300", sys.executable, "-c", LOCK_SCRIPT,
                                str(tmp_path / "o.fpig")], env=ENV, stdout=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        child = int(process.stdout.readline())
        process.wait(60)
        assert child in session_processes(process.pid)      # alive, with the parent gone
        with output_lock(tmp_path / "o.fpig"):
            pass
    finally:
        kill_session(process.pid)
        process.stdout.close()


def test_kill_9_of_an_extraction_leaves_no_worker_and_no_lock(tmp_path, extract_args):
    out = tmp_path / "o.fpig"
    process = start_slow_extraction(extract_args, out)
    try:
        os.kill(command_pid(process), signal.SIGKILL)
        finish(process, 30)
        assert wait_until_gone(process.pid, 20) == {}
    finally:
        kill_session(process.pid)
    assert len(resumed(extract_args, out)) == len(SHOTS["00001"])


@pytest.mark.parametrize("signum, to_all", [(signal.SIGTERM, True), (signal.SIGINT, True),
                                             (signal.SIGTERM, False)])
def test_a_signal_ends_an_extraction_with_one_line_and_it_resumes(tmp_path, extract_args, signum,
                                                                  to_all):
    """To every process (a terminal, `timeout`, a batch system) or to the command alone."""
    out = tmp_path / "o.fpig"
    process = start_slow_extraction(extract_args, out)
    if to_all:
        os.killpg(process.pid, signum)
    else:
        os.kill(command_pid(process), signum)
    _, err = finish(process, 60)
    assert process.returncode == 128 + signum, err
    assert err.splitlines() == [f"fpig-trecvid: interrupted ({signum.name}); nothing "
                                        f"half-written was left"]
    assert wait_until_gone(process.pid, 20) == {}
    assert len(resumed(extract_args, out)) == len(SHOTS["00001"])


def test_fork_map_keeps_the_order_and_raises_a_child_error_here():
    import multiprocessing

    from trecvid_fpig.base.workers import fork_map

    assert fork_map(abs, [-3, 2, -1, 0], 2) == [3, 2, 1, 0]
    with pytest.raises(ZeroDivisionError) as raised:
        fork_map(lambda x: 1 // x, [1, 0, 2, 3], 2)
    assert "1 // x" in str(raised.value.__cause__)          # the child's traceback
    assert multiprocessing.active_children() == []


#: A researcher's session: their model ran on this thread (so OpenMP keeps a thread pool for it),
#: then they extract with decode workers, whose open_clip transform runs torch ops big enough to
#: be parallel (a 224-pixel frame).
SESSION_SCRIPT = """\
import sys
import torch
sys.path.insert(0, {tests!r})
from support.extraction import FakeVideoEncoder
from trecvid_fpig.extract import job
torch.set_num_threads(2)
(torch.randn(3, 1000, 1000) * 2).sum()
result = job.extract_features(job.ExtractRequest(
    checkpoint="x.pt", out=sys.argv[2], keyframes=sys.argv[1], frames=2, workers=2,
    progress=False), encoder=FakeVideoEncoder(224))
print(len(result.failures))
"""


def test_workers_forked_from_a_session_that_ran_torch_still_decode(tmp_path):
    """libgomp's pool does not survive fork: a worker's first parallel torch op would wait
    forever for threads it does not have. Workers run only PIL and PyAV (ToTensor and Normalize
    run here), so this holds; it fails if torch ever moves into them."""
    keyframe_collection(tmp_path / "kf", {"shot00001_1": 2, "shot00001_2": 1}, size=(320, 180))
    env = {k: v for k, v in ENV.items() if k != "OMP_NUM_THREADS"}
    result = subprocess.run(["timeout", "-s", "KILL", "60", sys.executable, "-c",
                             SESSION_SCRIPT.format(tests=str(TESTS)), str(tmp_path / "kf"),
                             str(tmp_path / "o.fpig")], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["0"]
    assert list(read_features(tmp_path / "o.fpig").ids) == ["shot00001_1", "shot00001_2"]
