"""A zero vector where an L2-normalised one is written (topic, shot, frame features) is an error
naming the id, from every writer (trecvid_fpig.base.vectors.unit_row_norms), never a file with exit 0."""
import numpy as np
import pytest
from support.cli import invoke
from support.extraction import FakeVideoEncoder, keyframe_collection

from trecvid_fpig.errors import InputError
from trecvid_fpig.extract import job
from trecvid_fpig.formats.query_features import save_query_features
from trecvid_fpig.formats.topics import TopicSet

TOPICS = TopicSet("mini", (611, 612, 613), ("a dog", "a cat", "a car"), "mini.txt")


def test_topic_features_with_a_zero_row_are_not_written(tmp_path):
    rows = np.eye(3, 4, dtype=np.float32)
    rows[1] = 0
    with pytest.raises(InputError, match="topic 612 has an all-zero"):
        save_query_features(tmp_path / "q.npy", rows, TOPICS, {})
    rows[1, 0] = np.nan
    with pytest.raises(InputError, match="topic 612 has a NaN"):
        save_query_features(tmp_path / "q.npy", rows, TOPICS, {})
    assert list(tmp_path.iterdir()) == []


def test_encode_with_a_zero_text_projection_fails_naming_a_topic(tmp_path):
    torch = pytest.importorskip("torch")
    from trecvid_fpig.demo.checkpoints import save_random_checkpoint
    from trecvid_fpig.encode.checkpoints import HF_PROJECTION

    checkpoint = save_random_checkpoint(tmp_path / "m.pt", "hf-clip", width=32, layers=1,
                                        embed_dim=8, vision=False)
    state = torch.load(checkpoint)
    projection = next(k for k in state if k.endswith(HF_PROJECTION))
    state[projection] = torch.zeros_like(state[projection])
    torch.save(state, checkpoint)
    (tmp_path / "t.txt").write_text("661 a dog\n662 a cat\n")
    result = invoke("encode", "--checkpoint", checkpoint, "--topics", tmp_path / "t.txt",
                    "--out", tmp_path / "q.npy", "--quiet", ok=False)
    assert result.exit_code == 2, result.output
    assert "topic 661 has an all-zero feature vector" in result.stderr
    assert not (tmp_path / "q.npy").exists() and not (tmp_path / "q.json").exists()


class ZeroTower(FakeVideoEncoder):
    """The fake tower, with its shot vectors or its frame vectors all zero."""

    def __init__(self, zero: str):
        super().__init__()
        self.zero = zero

    def encode(self, frames, mask):
        shots, frame_rows = super().encode(frames, mask)
        return (shots * 0, frame_rows) if self.zero == "shot" else (shots, frame_rows * 0)


@pytest.fixture(scope="module")
def keyframes(tmp_path_factory):
    return keyframe_collection(tmp_path_factory.mktemp("kf"), {"shot00001_1": 2, "shot00001_2": 2})


@pytest.mark.parametrize("zero, named", [("shot", "shot shot00001_1 has an all-zero"),
                                         ("frame", "frame 1 of shot shot00001_1 has an all-zero")])
def test_extract_with_a_zero_tower_output_fails_naming_it(tmp_path, keyframes, monkeypatch,
                                                          zero, named):
    monkeypatch.setattr(job, "open_encoder",
                        lambda checkpoint, device, plugin, tower_config=None: ZeroTower(zero))
    out = tmp_path / "s.fpig"
    result = invoke("features", "extract", "--checkpoint", "x.pt", "--keyframes", keyframes,
                    "--frames", 2, "--workers", 0, "--keep-frames", "--quiet", out, ok=False)
    assert result.exit_code == 2, result.output
    assert named in result.stderr and not out.exists()


def test_pooled_frames_that_cancel_out_are_named_by_shot(tmp_path):
    np.save(tmp_path / "f.npy", np.array([[1, 2], [-1, -2], [1, 0]], dtype=np.float32))
    (tmp_path / "f.ids.txt").write_text("shot00001_1_1\nshot00001_1_2\nshot00002_1_1\n")
    result = invoke("features", "convert", tmp_path / "f.npy", tmp_path / "s.fpig", "--pool",
                    "mean", ok=False)
    assert result.exit_code == 2
    assert "frames of shot shot00001_1 has an all-zero" in result.stderr
