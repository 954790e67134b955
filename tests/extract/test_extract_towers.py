"""`features extract` with the real video towers (trecvid_fpig.encode.video_encoder): the store
holds what the tower gives for the same frames through its own preprocessing, and `run` reads it.
Skipped until the towers are in this checkout."""
import numpy as np
import pytest
from support.cli import invoke
from support.extraction import keyframe_collection

torch = pytest.importorskip("torch")
video_encoder = pytest.importorskip("trecvid_fpig.encode.video_encoder")
if not hasattr(video_encoder, "load_video_encoder"):
    pytest.skip("video towers not in this checkout yet", allow_module_level=True)

from PIL import Image  # noqa: E402

from trecvid_fpig.demo.checkpoints import save_random_checkpoint  # noqa: E402
from trecvid_fpig.extract.reader import thin  # noqa: E402
from trecvid_fpig.formats.store import read_features  # noqa: E402


@pytest.mark.parametrize("layout,temporal", [("clip4clip", "seqTransf"), ("hf-clip", "meanP"),
                                             ("open_clip", "meanP")])
def test_store_rows_are_the_towers_own_output(tmp_path, layout, temporal):
    checkpoint = save_random_checkpoint(tmp_path / "model.pt", layout, width=32, layers=1,
                                        embed_dim=16, vision_width=64, vision_layers=1,
                                        image_size=32, patch_size=16, temporal=temporal)
    counts = {"shot00001_1": 3, "shot00001_2": 1, "shot00002_1": 5}
    root = keyframe_collection(tmp_path / "kf", counts, size=(48, 40))
    out = tmp_path / "kf.fpig"
    invoke("features", "extract", "--checkpoint", checkpoint, "--keyframes", root,
           "--frames", "4", "--device", "cpu", "--workers", "1", "--batch-size", "2",
           "--quiet", out)
    store = read_features(out)
    encoder = video_encoder.load_video_encoder(checkpoint, device="cpu")
    transform = encoder.preprocess()
    for row, shot in enumerate(store.ids):
        paths = sorted((root / shot[4:9]).glob(f"{shot}_*"),
                       key=lambda p: int(p.name.split("_")[2]))
        paths = [paths[i] for i in thin(len(paths), 4)]
        frames = torch.stack([transform(Image.open(p)) for p in paths])[None]
        expected, _ = encoder.encode(frames, torch.ones(1, len(paths), dtype=torch.bool))
        np.testing.assert_allclose(store.matrix[row], expected[0].numpy(), rtol=0, atol=1e-6)
    tower = store.manifest["extract"]["tower"]
    assert tower["kind"] == encoder.kind and len(tower["checkpoint_sha256"]) == 64


def test_unknown_checkpoint_is_one_line(tmp_path):
    bad = tmp_path / "bad.pt"
    torch.save({"foo.weight": torch.zeros(2)}, bad)
    root = keyframe_collection(tmp_path / "kf", {"shot00001_1": 1})
    result = invoke("features", "extract", "--checkpoint", bad, "--keyframes", root,
                    "--device", "cpu", tmp_path / "o.fpig", ok=False)
    assert result.exit_code == 2 and "--video-encoder" in result.stderr
