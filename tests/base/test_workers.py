"""How many cores the toolkit's workers may use (trecvid_fpig.base.workers.usable_cores)."""
import os
import subprocess
import sys

import pytest
from support import REPO

CHILD = """
import os, sys
from trecvid_fpig.base.workers import usable_cores
from trecvid_fpig.extract.engines import LocalEngine
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
print(usable_cores(), LocalEngine().workers)
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity")
def test_a_job_given_one_core_starts_one_worker():
    """A batch scheduler's cgroup or taskset limits the cores, not the machine's count."""
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)
    assert done.stdout.split() == ["1", "1"]
