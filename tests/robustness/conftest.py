import numpy as np
import pytest
from support.outputs import D

from trecvid_fpig.formats.store import convert_features


@pytest.fixture
def collection(tmp_path):
    """A 300-shot store, a 3-topic file `t.txt` and two bare query matrices that rank apart."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "shots.npy", rng.standard_normal((300, D)).astype(np.float32))
    (tmp_path / "shots.ids.txt").write_text("".join(f"shot{i:05d}_1\n" for i in range(300)))
    convert_features(tmp_path / "shots.npy", tmp_path / "shots.fpig")
    (tmp_path / "t.txt").write_text("661 a dog\n662 a cat\n663 a bird\n")
    np.save(tmp_path / "q1.npy", rng.standard_normal((3, D)).astype(np.float32))
    np.save(tmp_path / "q2.npy", rng.standard_normal((3, D)).astype(np.float32))
    return tmp_path
