"""The extraction tests' fake tower and keyframe collection, defined once."""
import pytest
from support.extraction import KEYFRAME_SHOTS, FakeVideoEncoder, keyframe_collection

from trecvid_fpig.extract import job


@pytest.fixture
def fake_tower(monkeypatch):
    encoder = FakeVideoEncoder()
    monkeypatch.setattr(job, "open_encoder", lambda checkpoint, device, plugin, tower_config=None: encoder)
    return encoder


@pytest.fixture(scope="module")
def keyframes(tmp_path_factory):
    return keyframe_collection(tmp_path_factory.mktemp("kf"), KEYFRAME_SHOTS)
