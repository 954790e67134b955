"""``--engine ray``: the same bytes as the local engine (test_extract_parts proves parts + merge
give them too); a killed worker is retried; a failed or killed run resumes from its done
shards; a node that cannot see the output is refused at the start. Ray and its actors start in
seconds, so these tests are few and small."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from support import REPO, TESTS
from support.cli import invoke
from support.extraction import FakeVideoEncoder
from support.ray_towers import FailingEncoder, KillOnceEncoder

from trecvid_fpig.errors import InputError
from trecvid_fpig.extract import job

ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.slow, pytest.mark.ray]

STORE = ("features.npy", "ids.npy")


@pytest.fixture(scope="module")
def local_store(keyframes, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "local.fpig"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(job, "open_encoder", lambda checkpoint, device, plugin, tower_config=None: FakeVideoEncoder())
        extract(keyframes, out, "--workers", 2)
    return out


def extract(root, out, *extra, ok=True):
    return invoke("features", "extract", "--checkpoint", "x.pt", "--keyframes", root,
                  "--frames", 2, "--shard-size", 2, "--batch-size", 3, "--quiet", *extra, out,
                  ok=ok)


def same_bytes(a, b):
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in STORE)


def test_ray_starts_its_own_cluster_and_writes_the_local_bytes(tmp_path, keyframes,
                                                               local_store, monkeypatch):
    monkeypatch.setattr(job, "open_encoder", lambda c, d, p, t=None: FakeVideoEncoder())
    assert not ray.is_initialized()
    out = tmp_path / "ray.fpig"
    result = invoke("features", "extract", "--checkpoint", "x.pt", "--keyframes", keyframes,
                    "--frames", 2, "--shard-size", 2, "--batch-size", 3, "--workers", 2,
                    "--engine", "ray", "--actors", 2, "--preprocess", "device", out)
    assert not ray.is_initialized()                 # the Ray it started is stopped
    assert same_bytes(out, local_store)             # the local store resized with PIL
    record = json.loads((out / "manifest.json").read_text())["extract"]
    actors = record["timings"]["actors"]
    assert sorted(a["actor"] for a in actors) == [0, 1]
    assert sum(a["shards"] for a in actors) == 8 and sum(a["shots"] for a in actors) == 15
    assert record["timings"]["gpu_hours"] == 0.0 and record["engine"] == "ray"
    assert record["preprocess"] == "device"
    assert "actor 0 on " in result.stdout and "shots/s" in result.stdout


@pytest.fixture(scope="module")
def cluster():
    """One local Ray for the remaining tests (the command joins it and leaves it running)."""
    from trecvid_fpig.extract.ray_engine import RaySettings, connect

    assert connect(RaySettings(workers=2))
    yield
    ray.shutdown()


def test_a_killed_actor_is_restarted_and_its_shard_redone(tmp_path, keyframes, local_store,
                                                          cluster, monkeypatch):
    marker = tmp_path / "killed-once"
    monkeypatch.setattr(job, "open_encoder", lambda c, d, p, t=None: KillOnceEncoder(str(marker)))
    out = tmp_path / "ray.fpig"
    extract(keyframes, out, "--engine", "ray")
    assert marker.exists()                           # a worker process did die
    assert same_bytes(out, local_store)


def test_relative_paths_name_the_drivers_files_on_a_joined_cluster(tmp_path, keyframes,
                                                                  local_store, cluster,
                                                                  monkeypatch):
    """The cluster's workers started in another directory (as `ray start` does on each node):
    the relative collection, checkpoint and output must still be the driver's."""
    import shutil

    monkeypatch.setattr(job, "open_encoder", lambda c, d, p, t=None: FakeVideoEncoder())
    shutil.copytree(keyframes, tmp_path / "kf")
    monkeypatch.chdir(tmp_path)
    extract("kf", "ray.fpig", "--engine", "ray")
    assert same_bytes(tmp_path / "ray.fpig", local_store)


def shards_on_disk(out):
    return {int(p.name.split("-")[1]) for p in out.parent.glob(f"{out.name}.shards/shard-*")}


def resumed(keyframes, out, *extra):
    """Rerun the extraction with a good tower; (shards run, shards reused, shards the actors did)."""
    result = invoke("features", "extract", "--checkpoint", "x.pt", "--keyframes", keyframes,
                    "--frames", 2, "--shard-size", 2, "--batch-size", 3, "--engine", "ray",
                    *extra, out)
    run, reused = map(int, re.search(r"(\d+) shard\(s\) run, (\d+) reused",
                                     result.stdout).groups())
    actors = json.loads((out / "manifest.json").read_text())["extract"]["timings"]["actors"]
    return run, reused, sum(a["shards"] for a in actors)


def test_a_failed_ray_run_resumes_from_its_done_shards(tmp_path, keyframes, local_store,
                                                       cluster, monkeypatch):
    # The tower fails on the last shard (its one shot) whatever the order or timing; how many
    # other shards are done by then is not asserted, only that each is done exactly once.
    monkeypatch.setattr(job, "open_encoder", lambda c, d, p, t=None: FailingEncoder(shots=1))
    out = tmp_path / "ray.fpig"
    result = extract(keyframes, out, "--engine", "ray", ok=False)
    assert result.exit_code == 2 and "CUDA out of memory (simulated)" in result.stderr
    assert "rerun the same command" in result.stderr and not out.exists()
    done = shards_on_disk(out)
    assert done and 7 not in done
    monkeypatch.setattr(job, "open_encoder", lambda c, d, p, t=None: FakeVideoEncoder())
    run, reused, by_actors = resumed(keyframes, out)
    assert (run, reused) == (8 - len(done), len(done)) and by_actors == run
    assert same_bytes(out, local_store)


DRIVER = """\
import sys
sys.path.insert(0, {tests!r})
from support.extraction import FakeVideoEncoder
from trecvid_fpig.extract import job
job.open_encoder = lambda checkpoint, device, plugin, tower_config=None: FakeVideoEncoder(delay=1.0)
from trecvid_fpig.cli import main
sys.argv = ["fpig-trecvid"] + sys.argv[1:]
main()
"""


def test_a_killed_driver_resumes_from_the_shards_its_actors_wrote(tmp_path, keyframes,
                                                                  local_store, cluster,
                                                                  monkeypatch):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(tests=str(TESTS)))
    out = tmp_path / "ray.fpig"
    args = ["features", "extract", "--checkpoint", "x.pt", "--keyframes", str(keyframes),
            "--frames", "2", "--shard-size", "2", "--batch-size", "3", "--engine", "ray",
            "--workers", "2", "--quiet", str(out)]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    driver = subprocess.Popen([sys.executable, str(script), *args], env=env)
    shards = tmp_path / "ray.fpig.shards"
    deadline = time.time() + 180
    while len(list(shards.glob("shard-*"))) < 2 and time.time() < deadline:
        time.sleep(0.1)
    os.kill(driver.pid, signal.SIGKILL)             # its local Ray goes down with it
    driver.wait()
    seen = len(shards_on_disk(out))                  # an actor may finish one as it dies
    assert seen >= 2 and not out.exists()
    monkeypatch.setattr(job, "open_encoder", lambda c, d, p, t=None: FakeVideoEncoder())
    run, reused, by_actors = resumed(keyframes, out, "--workers", 2)
    assert run + reused == 8 and reused >= seen and by_actors == run
    assert same_bytes(out, local_store)


def test_a_node_that_cannot_see_the_output_is_refused_at_the_start(tmp_path, cluster):
    from trecvid_fpig.extract.ray_engine import check_nodes_see

    check_nodes_see(tmp_path)                        # this node sees it
    with pytest.raises(InputError, match=r"1 Ray node\(s\) cannot see the output"):
        check_nodes_see(tmp_path, token="written on another filesystem")


def test_core_commands_and_help_never_import_ray(tmp_path):
    import subprocess
    import sys

    code = ("import sys\nfrom click.testing import CliRunner\nfrom trecvid_fpig.cli import cli\n"
            "for args in (['--help'], ['features', 'extract', '--help'], "
            "['features', 'merge', '--help']):\n"
            "    assert CliRunner().invoke(cli, args).exit_code == 0\n"
            "import trecvid_fpig.extract.job, trecvid_fpig.extract.ray_engine\n"
            "print('ray' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
