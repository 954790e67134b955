"""Thumbnails decoded in JPEG draft mode: the right size, close to a full decode's, the same
bytes on a rebuild; other images as before; and extraction never drafts."""
import io

import numpy as np
import pytest
from PIL import Image

from trecvid_fpig.browse.thumbs import make_thumbs
from trecvid_fpig.extract.reader import read_keyframes
from trecvid_fpig.extract.shots import Shot


def keyframe(path, size=(640, 360), fmt="JPEG", seed=7):
    """A picture with detail every 16 pixels, busier than most video frames: random colours
    upscaled."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(size[1] // 16, size[0] // 16, 3), dtype=np.uint8)
    Image.fromarray(small).resize(size, Image.Resampling.BICUBIC).save(path, fmt, quality=90)
    return Shot(path.stem.split("_RKF")[0], str(path), images=(str(path),))


def full_decode_thumb(path, size):
    """The thumbnail without draft mode, from Pillow alone: every pixel decoded, resized, and
    saved as browse saves it."""
    with Image.open(path) as image:
        image = image.convert("RGB")
    image.thumbnail((size, size), Image.Resampling.BICUBIC)
    saved = io.BytesIO()
    image.save(saved, "JPEG", quality=85)
    return saved.getvalue()


def pixels(jpeg):
    with Image.open(io.BytesIO(jpeg)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


@pytest.mark.parametrize("size,picture", [(160, (640, 360)), (96, (640, 360)), (300, (640, 360)),
                                          (700, (640, 360)), (160, (360, 640))])
def test_a_jpeg_is_decoded_at_the_smallest_dct_scale_that_keeps_the_size(tmp_path, size,
                                                                          picture):
    shot = keyframe(tmp_path / "shot00001_1_RKF.jpg", picture)
    scale = max(s for s in (1, 2, 4, 8) if s == 1 or max(picture) >= size * s)
    drafted = read_keyframes(shot, 1, draft_size=size).images[0]
    assert drafted.size == tuple(-(-side // scale) for side in picture)
    assert max(drafted.size) >= min(size, max(picture))


@pytest.mark.parametrize("size", [96, 160, 300])
def test_a_draft_thumbnail_has_the_size_and_is_close_to_a_full_decode(tmp_path, size):
    shot = keyframe(tmp_path / "shot00001_1_RKF.jpg")
    thumb = make_thumbs([shot], tmp_path / "site", size, 0)[shot.shot_id]
    made = pixels((tmp_path / "site" / thumb.file).read_bytes())
    reference = pixels(full_decode_thumb(shot.images[0], size))
    assert made.shape == reference.shape == (round(size * 360 / 640), size, 3)
    assert np.abs(made - reference).mean() < 3         # of 255; measured 1.4-2.4


def test_a_rebuild_makes_the_same_bytes(tmp_path):
    shots = [keyframe(tmp_path / f"shot00001_{n}_RKF.jpg", seed=n) for n in (1, 2)]
    first = make_thumbs(shots, tmp_path / "one", 160, 0)
    again = make_thumbs(shots, tmp_path / "two", 160, 2)
    assert first == again
    for thumb in first.values():
        assert (tmp_path / "one" / thumb.file).read_bytes() == \
            (tmp_path / "two" / thumb.file).read_bytes()


def test_a_png_keyframe_is_made_as_without_draft_mode(tmp_path):
    shot = keyframe(tmp_path / "shot00001_1_RKF.png", fmt="PNG")
    thumb = make_thumbs([shot], tmp_path / "site", 160, 0)[shot.shot_id]
    assert (tmp_path / "site" / thumb.file).read_bytes() == full_decode_thumb(shot.images[0], 160)


def test_extraction_reads_every_pixel_of_a_jpeg(tmp_path):
    """open_clip's preprocessing must see the full decode: read_keyframes never drafts unless
    asked."""
    shot = keyframe(tmp_path / "shot00001_1_RKF.jpg")
    image = read_keyframes(shot, 1).images[0]
    with Image.open(shot.images[0]) as reference:
        assert image.size == reference.size == (640, 360)
        assert np.array_equal(np.asarray(image), np.asarray(reference))
