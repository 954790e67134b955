"""Which frames of a shot to take, and decoding them: PyAV for videos, PIL for keyframes.

No torch here: this runs in the decode worker processes. The sampling rules (docs/extract.md):

- ``clip4clip``: one frame per second from the shot's first frame (frame ``first + int(k*fps)``
  for k = 0, 1, ... while inside the shot), then, when that gives more than F, the F at
  ``numpy.linspace(0, n-1, F, dtype=int)`` of them, as CLIP4Clip's loader does with
  ``slice_framepos=2``. A shot shorter than a second gives its first frame only.
- ``uniform``: F frame numbers evenly spaced from the first to the last frame of the shot,
  rounded half up; a shot of fewer than F frames gives each of its frames once.
- ``keyframes``: the shot's images; more than F are thinned like ``clip4clip``.
"""
from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..base.workers import usable_cores
from ..errors import InputWarning
from .shots import Failure, Shot

SAMPLINGS = ("clip4clip", "uniform", "keyframes")
#: A GOP whose packets pass this size before one is known to be wanted is decoded anyway, so a
#: file without keyframe flags is decoded as it streams instead of held in memory.
GOP_BUFFER_BYTES = 64 << 20

_converters = threading.local()     # this thread's own swscale context: see rgb_image
_inherited: list = []               # contexts a fork copied: kept, never used nor freed


def _forget_converter_in_child() -> None:
    converter = getattr(_converters, "reformatter", None)
    if converter is not None:
        _inherited.append(converter)
        _converters.reformatter = None


os.register_at_fork(after_in_child=_forget_converter_in_child)


def decoder_threads(processes: int) -> int:
    """FFmpeg threads for each of `processes` decoding side by side (0: decoding here alone).

    Left to itself, each decoder and each RGB conversion starts a thread per core: 16 decode
    workers on 16 cores would run 16 x 17 of them, each waiting on the others. Shared out,
    the cores are not oversubscribed; the threads never change a pixel.
    """
    return max(1, usable_cores() // processes) if processes > 0 else 0


def rgb_image(frame, threads: int = 0):
    """`frame` as an RGB PIL image, converted by this process's own swscale context, with
    `threads` slice threads (0: one per core).

    ``frame.to_image()`` converts through PyAV's per-thread context, which a forked decode
    worker inherits without the slice threads it owns: reconfiguring it for a frame of another
    size waits forever to join them (extracting with --workers 0, then --workers 2, in one
    Python session hung). Each process makes its own: the one a fork copies is set aside, never
    used nor freed, and the RGB frame needs no second conversion in ``to_image``.
    """
    from av.video.reformatter import VideoReformatter

    converter = getattr(_converters, "reformatter", None)
    if converter is None:
        converter = _converters.reformatter = VideoReformatter()
    return converter.reformat(frame, format="rgb24", threads=threads).to_image()


def thin(count: int, frames: int) -> List[int]:
    """Positions kept of `count` items: all of them, or `frames` spread like CLIP4Clip's
    ``np.linspace(0, count-1, num=frames, dtype=int)`` (first and last always kept)."""
    if count <= frames:
        return list(range(count))
    return np.linspace(0, count - 1, num=frames, dtype=int).tolist()


def clip4clip_frames(first: int, last: int, fps: float, frames: int) -> List[int]:
    """One frame a second inside ``[first, last]``, thinned to `frames`.

    The seconds are counted, not listed, so a shot's length costs nothing: second k is frame
    ``first + int(k * fps)``, and it lies inside the shot while ``int(k * fps) <= last - first``.
    """
    span = last - first
    seconds = int((span + 1) / fps)          # a guess; corrected on the exact float test
    while seconds > 0 and int(seconds * fps) > span:
        seconds -= 1
    while int((seconds + 1) * fps) <= span:
        seconds += 1
    return [first + int(k * fps) for k in thin(seconds + 1, frames)]


def uniform_frames(first: int, last: int, frames: int) -> List[int]:
    """`frames` evenly spaced frame numbers from `first` to `last` inclusive, each once."""
    if frames == 1:
        return [first]
    spaced = np.floor(np.linspace(first, last, num=frames) + 0.5).astype(np.int64).tolist()
    return sorted(set(spaced))


def frame_range(shot: Shot, fps: float) -> Tuple[int, int]:
    """Inclusive frame numbers of a shot; a shot-table shot ``[start, end)`` seconds maps to
    ``round(start*fps) .. max(first, round(end*fps) - 1)``."""
    if shot.frames is not None:
        return shot.frames
    start, end = shot.seconds
    first = int(round(start * fps))
    return first, max(first, int(round(end * fps)) - 1)


def sample_frames(shot: Shot, sampling: str, frames: int, fps: float) -> List[int]:
    first, last = frame_range(shot, fps)
    if sampling == "uniform":
        return uniform_frames(first, last, frames)
    return clip4clip_frames(first, last, fps, frames)


@dataclass(frozen=True)
class ShotPixels:
    """The sampled frames of one shot, as PIL images, and which frames they are."""
    shot_id: str
    images: list
    taken: Tuple[Union[int, str], ...]


ReadResult = Union[ShotPixels, Failure]


def read_keyframes(shot: Shot, frames: int, draft_size: Optional[int] = None) -> ReadResult:
    """The shot's thinned images as opened (mode, palette, EXIF untouched): open_clip's
    transform resizes and crops first and converts to RGB last, so converting here first
    would resample palette, alpha, CMYK and 16-bit images differently from it.

    `draft_size` is for browse's thumbnails only, never extraction (its pixels must be
    open_clip's): a JPEG is decoded at the smallest of libjpeg's DCT scales (1/8, 1/4, 1/2,
    1) whose longer side is still at least `draft_size` (Pillow's draft mode); other images
    as without it."""
    from PIL import Image, UnidentifiedImageError

    chosen = [shot.images[i] for i in thin(len(shot.images), frames)]
    images = []
    for path in chosen:
        try:
            with warnings.catch_warnings():     # said once, in our words, below
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img = Image.open(path)
            with img:
                _warn_if_huge(img, path)
                if draft_size:      # at least draft_size on the longer side, the other free
                    img.draft(None, (draft_size, 1) if img.width >= img.height
                              else (1, draft_size))
                img.load()      # the pixels stay in memory once the file is closed
                images.append(img)
        except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
            return Failure(shot.shot_id, path, f"cannot decode image: {exc}")
    return ShotPixels(shot.shot_id, images, tuple(chosen))


#: Whether a keyframe larger than Pillow's decompression-bomb limit was reported (once a run).
_huge_image_reported = []


def _warn_if_huge(img, path: str) -> None:
    """Pillow warns, with a multi-line warning, for each image over ``Image.MAX_IMAGE_PIXELS``;
    one line for the first is enough: the rest are decoded the same way."""
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    if limit and img.width * img.height > limit and not _huge_image_reported:
        _huge_image_reported.append(path)
        warnings.warn(InputWarning(
            f"{path}: a {img.width}x{img.height} keyframe ({img.width * img.height / 1e6:.0f} "
            f"Mpx, more than {limit / 1e6:.0f} Mpx) takes much memory to decode; larger "
            f"keyframes are not reported again"), stacklevel=2)


def read_video_shots(shots: Sequence[Shot], sampling: str, frames: int,
                     threads: int = 0) -> List[ReadResult]:
    """The shots of one video file, in one forward pass over it (skipping GOPs none needs),
    decoded and converted with `threads` FFmpeg threads (0: FFmpeg's choice; see
    :func:`decoder_threads`).

    Frame n is the n-th frame a sequential decode of the whole file gives. Its timestamps
    number the frames of most files (then GOPs no shot needs are skipped undecoded); a file
    whose timestamps do not (:class:`_Irregular`) is decoded again from the start, counting.
    Every shot fails with the reason when the file is missing or cannot be decoded; a shot
    whose sampled frames all lie beyond the end of the video fails alone.
    """
    import av

    path = shots[0].source
    plans: List[List[int]] = []
    try:
        with av.open(path) as container:
            stream = _video_stream(container, threads)
            if stream is None:
                return [Failure(s.shot_id, path, "the file has no video stream") for s in shots]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            if not rate:
                return [Failure(s.shot_id, path, "the video stream has no frame rate")
                        for s in shots]
            fps = Fraction(rate)
            plans = [sample_frames(s, sampling, frames, float(fps)) for s in shots]
            wanted = sorted({i for plan in plans for i in plan})
            try:
                decoded = _frames_by_timestamp(container, stream, fps, wanted, threads)
            except _Irregular:
                decoded = None
        if decoded is None:
            with av.open(path) as container:
                decoded = _frames_by_count(container, _video_stream(container, threads),
                                           wanted, threads)
    except (OSError, av.error.FFmpegError) as exc:
        reason = "no such video file" if isinstance(exc, FileNotFoundError) else \
            f"cannot {'decode' if plans else 'open'} video: {exc}"
        return [Failure(s.shot_id, path, reason) for s in shots]
    out: List[ReadResult] = []
    for shot, plan in zip(shots, plans):
        taken = [i for i in plan if i in decoded]
        if not taken:
            out.append(Failure(shot.shot_id, path, f"the video has no frame {plan[0]} "
                                                   f"(it ends before the shot)"))
        else:
            out.append(ShotPixels(shot.shot_id, [decoded[i] for i in taken], tuple(taken)))
    return out


def _video_stream(container, threads: int):
    """The file's first video stream, set to decode with `threads` (None: it has none)."""
    if not container.streams.video:
        return None
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    if threads:
        stream.codec_context.thread_count = threads
    return stream


class _Irregular(Exception):
    """The file's timestamps do not number its frames one by one from 0: B-frames in an AVI
    (which stores no presentation times), a variable frame rate, a stream cut before its first
    keyframe, frames without timestamps (a raw .h264 stream)."""


def _frames_by_count(container, stream, wanted: Sequence[int], threads: int) -> Dict[int, object]:
    """Frames numbered `wanted` as PIL images, numbered by their place in a sequential decode
    from the start: every frame is decoded, up to the last one wanted."""
    missing = set(wanted)
    found: Dict[int, object] = {}
    for number, frame in enumerate(container.decode(stream)):
        if number in missing:
            missing.discard(number)
            found[number] = rgb_image(frame, threads)
            if not missing:
                break
    return found


def _frames_by_timestamp(container, stream, fps: Fraction, wanted: Sequence[int],
                         threads: int) -> Dict[int, object]:
    """Frames numbered `wanted` as PIL images; a frame's number comes from its pts.

    One forward pass over the packets, without seeking, so decoding always advances and ends
    at the end of the file (frames past it are simply not found). Packets are grouped into
    GOPs (keyframe to keyframe); a GOP is decoded once one of its packets carries a wanted
    frame (or it grows past :data:`GOP_BUFFER_BYTES`), otherwise it is dropped undecoded. After
    a drop the decoder is drained and reset, and restarts at the dropped GOP before the needed
    one, so frames that an open GOP's first pictures take from the GOP before are decoded too.

    The pts must number the frames as a sequential decode does, or :class:`_Irregular` is
    raised: each GOP's packets carry the numbers that follow the GOP before's, and the frames
    decoded in a row come out numbered one after another. Frame 0 is at the stream's start
    time, or at its first packet's pts when that is a keyframe shown later (AVI's demuxer
    starts the stream at the first dts, one tick before an x264 AVI's first frame).
    """
    frames_per_tick = stream.time_base * fps
    start_pts = stream.start_time or 0
    codec = stream.codec_context
    missing = set(wanted)
    found: Dict[int, object] = {}
    following: List[Optional[int]] = [None]      # the number the next frame decoded must have

    def number(pts: Optional[int]) -> int:
        if pts is None:
            raise _Irregular
        return int(round((pts - start_pts) * frames_per_tick))

    def take(frames) -> None:
        for frame in frames:
            taken = number(frame.pts)
            if following[0] is not None and taken != following[0]:
                raise _Irregular
            following[0] = taken + 1
            if taken in missing:
                missing.discard(taken)
                found[taken] = rgb_image(frame, threads)

    dropped: list = []                # the last GOP dropped, while the decoder is reset
    gop: list = []                    # packets of the current GOP not yet decoded
    numbers: List[int] = []           # the numbers of the current GOP's packets
    next_gop = 0                      # the first number the current GOP must hold
    gop_bytes, live, streaming, first = 0, False, False, True
    for packet in container.demux(stream):
        if not missing:
            break
        if packet.size == 0:          # the demuxer's end-of-stream marker
            continue
        if first:
            first = False
            if not packet.is_keyframe:
                raise _Irregular      # the pictures before the first keyframe never decode
            if packet.pts is not None and packet.pts > start_pts:
                start_pts = packet.pts
        if packet.is_keyframe:
            next_gop = _gop_follows(numbers, next_gop)
            numbers = []
            if gop:                   # the GOP before held no wanted frame: drop it
                if live:
                    take(codec.decode(None))
                    codec.flush_buffers()
                    following[0] = None
                dropped, live = gop, False
            gop, gop_bytes, streaming = [], 0, False
        numbers.append(number(packet.pts))
        if streaming:
            take(codec.decode(packet))
            continue
        gop.append(packet)
        gop_bytes += packet.size
        if numbers[-1] in missing or gop_bytes > GOP_BUFFER_BYTES:
            for queued in (gop if live else dropped + gop):
                take(codec.decode(queued))
            dropped, gop, live, streaming = [], [], True, True
    if live:
        take(codec.decode(None))
    return found


def _gop_follows(numbers: List[int], first: int) -> int:
    """The first number of the GOP after one whose packets carry `numbers`, which must be
    ``first, first + 1, …`` in some order (B-frames come after the pictures they lie between)."""
    if numbers and (min(numbers) != first or max(numbers) != first + len(numbers) - 1
                    or len(set(numbers)) != len(numbers)):
        raise _Irregular
    return first + len(numbers)


def read_shots(shots: Sequence[Shot], sampling: str, frames: int,
               threads: int = 0) -> List[ReadResult]:
    """One work unit: keyframe shots, or the shots of one video file (`threads`: as
    :func:`read_video_shots`; PIL decodes a keyframe in one thread)."""
    if not shots:
        return []
    if shots[0].is_video:
        return read_video_shots(shots, sampling, frames, threads)
    return [read_keyframes(s, frames) for s in shots]


def decoder_versions() -> Dict[str, Optional[str]]:
    """PyAV, the libavcodec it bundles, and Pillow, for the manifest."""
    import av
    import PIL

    codec = ".".join(map(str, av.library_versions.get("libavcodec", ())))
    return {"av": av.__version__, "libavcodec": codec or None, "pillow": PIL.__version__}
