"""Keyframes reach the tower exactly as ``preprocess(Image.open(p))`` gives them, whatever the
image's mode: open_clip resizes and crops the image as opened and converts to RGB last."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("open_clip")
from PIL import Image  # noqa: E402

from trecvid_fpig.demo.checkpoints import save_random_checkpoint  # noqa: E402
from trecvid_fpig.encode.video_encoder import load_video_encoder  # noqa: E402
from trecvid_fpig.extract.mapper import split_transform  # noqa: E402
from trecvid_fpig.extract.reader import ShotPixels, read_keyframes  # noqa: E402
from trecvid_fpig.extract.shots import Shot  # noqa: E402

EXIF_ORIENTATION = 0x0112


def _images(folder):
    """One file per mode, noisy, with an alpha that varies; not square, so the crop counts."""
    rng = np.random.default_rng(3)
    rgb = Image.fromarray(rng.integers(0, 256, (45, 70, 3), dtype=np.uint8))
    alpha = Image.fromarray(rng.integers(0, 256, (45, 70), dtype=np.uint8))
    palette = rgb.quantize(64)
    pa = palette.convert("PA")
    pa.putalpha(alpha)
    rgba, la = rgb.copy(), rgb.convert("L")
    rgba.putalpha(alpha)
    la.putalpha(alpha)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6          # "rotate 90° clockwise to display"
    files = {
        "RGB": (rgb, "rgb.png", {}), "L": (rgb.convert("L"), "l.png", {}),
        "P": (palette, "p.png", {}), "PA": (pa, "pa.tif", {}), "RGBA": (rgba, "rgba.png", {}),
        "LA": (la, "la.png", {}), "CMYK": (rgb.convert("CMYK"), "cmyk.jpg", {"quality": 95}),
        "I;16": (Image.fromarray(rng.integers(0, 65536, (45, 70)).astype(np.uint16)),
                 "i16.png", {}),
        "EXIF": (rgb, "exif.jpg", {"exif": exif, "quality": 95}),
    }
    paths = {}
    for mode, (image, name, options) in files.items():
        image.save(folder / name, **options)
        paths[mode] = str(folder / name)
    return paths


@pytest.fixture(scope="module")
def preprocess(tmp_path_factory):
    path = save_random_checkpoint(tmp_path_factory.mktemp("ckpt") / "m.pt", "open_clip",
                                  image_size=32, patch_size=16)
    return load_video_encoder(path, device="cpu").preprocess()


@pytest.fixture(scope="module")
def keyframes(tmp_path_factory):
    return _images(tmp_path_factory.mktemp("kf"))


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "PA", "RGBA", "LA", "CMYK", "I;16", "EXIF"])
def test_keyframe_inputs_are_bit_identical_to_preprocess_of_the_opened_file(
        preprocess, keyframes, mode):
    path = keyframes[mode]
    with Image.open(path) as opened:
        assert opened.mode == ("RGB" if mode == "EXIF" else mode)
    expected = preprocess(Image.open(path))
    result = read_keyframes(Shot("shot00001_1", path, images=(path,)), frames=4)
    assert isinstance(result, ShotPixels)
    assert torch.equal(preprocess(result.images[0]), expected)
    # The extraction route: PIL steps in the decode worker, tensor steps before the tower.
    split = split_transform(preprocess)
    pixels = np.stack([split.to_pixels(image) for image in result.images])
    assert torch.equal(split.to_tensor([pixels])[0], expected)


def test_exif_rotation_is_not_applied_as_in_open_clip(preprocess, keyframes):
    """open_clip never reads EXIF: the stored pixels go in unrotated (a 70x45 image stays
    landscape although its EXIF says to show it portrait)."""
    result = read_keyframes(Shot("shot00001_1", keyframes["EXIF"],
                                 images=(keyframes["EXIF"],)), frames=1)
    assert result.images[0].size == (70, 45)
