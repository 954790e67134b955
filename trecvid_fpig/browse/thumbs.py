"""Thumbnails of the shots a site shows: a shot's middle keyframe (Pillow) or the middle frame
of a video shot (PyAV), both decoded by extract's reader, saved as JPEGs under ``thumbs/``.
A JPEG keyframe is decoded in draft mode, at the smallest DCT scale that still gives the
thumbnail size (a 640x360 keyframe at 1/4 for 160 pixels): decoding and resizing cost a
quarter of what they did at full size.

A thumbnail's name is a digest of what it is made from (the recipe, the size, and the keyframe's
bytes, or the video file's size, modification time and first bytes with the shot's range), so a
rerun, with other runs or with the same ones, decodes only shots it has not seen. Work goes to
forked worker processes (:func:`~trecvid_fpig.base.workers.fork_map`) in a few chunks each.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import xxhash

from ..base.outputs import atomic_write
from ..base.workers import fork_map
from ..errors import InputError
from ..extract.reader import (decoder_threads, frame_range, read_keyframes, read_video_shots,
                              uniform_frames)
from ..extract.shots import Failure, Shot

#: Part of every thumbnail's digest: changing how thumbnails are made changes every name.
RECIPE = ("fpig-trecvid browse thumbnail 3: middle frame, JPEG drafted to the smallest DCT "
          "scale >= size, RGB, bicubic, JPEG q85")
QUALITY = 85
#: Bytes of a video file that go into its thumbnails' digest, with its size and mtime.
VIDEO_HEAD_BYTES = 1 << 16
#: Chunks per worker: small enough to share the work out evenly, few enough to fork cheaply.
CHUNKS_PER_WORKER = 4


@dataclass(frozen=True)
class Thumb:
    """A shown shot's picture: `file` relative to the site (None: no keyframe or video), and
    for a video shot its span in seconds, for a ``<video>`` media fragment."""
    shot_id: str
    file: Optional[str]
    clip: Optional[Tuple[float, float]] = None
    made: bool = False


def make_thumbs(shots: Sequence[Shot], site: Path, size: int, workers: int) -> Dict[str, Thumb]:
    """A :class:`Thumb` for each of `shots`, made in `workers` processes (0 or 1: here) into
    ``site/thumbs/``, where those already made are reused."""
    groups: Dict[str, List[Shot]] = {}
    for shot in shots:      # a video's shots go together: its file is opened once
        groups.setdefault(shot.source if shot.is_video else shot.shot_id, []).append(shot)
    units = _chunks(list(groups.values()), max(1, workers) * CHUNKS_PER_WORKER)
    forked = workers > 1 and len(units) > 1
    work = partial(_make_unit, site, size, decoder_threads(workers if forked else 0))
    done = fork_map(work, units, workers) if forked else map(work, units)
    return {thumb.shot_id: thumb for unit in done for thumb in unit}


def _chunks(groups: List[List[Shot]], count: int) -> List[List[List[Shot]]]:
    step = -(-len(groups) // count) if groups else 1
    return [groups[i:i + step] for i in range(0, len(groups), step)]


def _make_unit(site: Path, size: int, threads: int, unit: List[List[Shot]]) -> List[Thumb]:
    thumbs: List[Thumb] = []
    for group in unit:
        thumbs += _video_thumbs(site, size, group, threads) if group[0].is_video else \
            [_keyframe_thumb(site, size, group[0])]
    return thumbs


def _relative(digest: str) -> str:
    return f"thumbs/{digest[:2]}/{digest}.jpg"


def _keyframe_thumb(site: Path, size: int, shot: Shot) -> Thumb:
    """The shot's middle keyframe, by the natural order of its images' names."""
    middle = shot.images[len(shot.images) // 2]
    try:
        content = Path(middle).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read keyframe: {exc.strerror or exc}", middle) from None
    name = _relative(xxhash.xxh3_128(f"{RECIPE}\n{size}\n".encode() + content).hexdigest())
    if (site / name).is_file():
        return Thumb(shot.shot_id, name)
    pixels = read_keyframes(replace(shot, images=(middle,)), frames=1, draft_size=size)
    _save(_decoded(pixels), size, site / name)
    return Thumb(shot.shot_id, name, made=True)


def _video_thumbs(site: Path, size: int, shots: List[Shot], threads: int) -> List[Thumb]:
    """The middle frame of each shot of one video file; a missing file gives placeholders."""
    path = Path(shots[0].source)
    if not path.is_file():
        return [Thumb(s.shot_id, None) for s in shots]
    import av

    try:
        stat = path.stat()
        with path.open("rb") as fh:
            head = fh.read(VIDEO_HEAD_BYTES)
        with av.open(str(path)) as container:
            stream = container.streams.video[0] if container.streams.video else None
            rate = stream and (stream.average_rate or stream.guessed_rate or stream.base_rate)
    except (OSError, av.error.FFmpegError) as exc:
        raise InputError(f"cannot open video: {exc}", path) from None
    if not rate:
        raise InputError("the video has no video stream with a frame rate", path)
    identity = f"{RECIPE}\n{size}\n{stat.st_size} {stat.st_mtime_ns}\n".encode() + head
    thumbs, wanted = {}, []
    for shot in shots:
        span = shot.seconds or (shot.frames[0] / rate, (shot.frames[1] + 1) / rate)
        name = _relative(xxhash.xxh3_128(identity + f"\n{shot.frames} {shot.seconds}".encode())
                         .hexdigest())
        clip = (round(float(span[0]), 3), round(float(span[1]), 3))
        thumbs[shot.shot_id] = Thumb(shot.shot_id, name, clip)
        if not (site / name).is_file():
            wanted.append(shot)
    # the middle of uniform thirds (first, middle, last frame), decoded alone: one GOP a shot
    middles = []
    for shot in wanted:
        thirds = uniform_frames(*frame_range(shot, float(rate)), 3)
        middle = thirds[len(thirds) // 2]
        middles.append(replace(shot, frames=(middle, middle), seconds=None))
    for shot, pixels in zip(wanted, read_video_shots(middles, "uniform", 1, threads) if wanted else []):
        thumb = thumbs[shot.shot_id]
        _save(_decoded(pixels), size, site / thumb.file)
        thumbs[shot.shot_id] = replace(thumb, made=True)
    return [thumbs[s.shot_id] for s in shots]


def _decoded(pixels):
    """The one image the reader was asked for, or its failure as one line naming the file."""
    if isinstance(pixels, Failure):
        raise InputError(f"shot {pixels.shot_id}: {pixels.reason}", pixels.source)
    return pixels.images[0]


def _save(image, size: int, target: Path) -> None:
    from PIL import Image, ImageOps

    ImageOps.exif_transpose(image, in_place=True)
    if image.mode != "RGB":             # convert() copies even an RGB image
        image = image.convert("RGB")
    image.thumbnail((size, size), Image.Resampling.BICUBIC)
    with atomic_write(target, "wb") as fh:
        image.save(fh, "JPEG", quality=QUALITY)
