"""Full-size frames from the decode workers to the tower's process through shared memory.

With ``--preprocess device`` a worker sends 640x360 frames (691 kB each) instead of 224x224
ones (150 kB). Pickled through the pool's pipe, receiving them costs the tower's process about
0.8 ms of CPU a frame (measured on the 2-core VM), which would bound it near 1,200 frames/s.
Here a worker writes a unit's frames into one file in ``/dev/shm`` and sends its name and
layout; the tower's process maps it, unlinks the name at once (so nothing outlives the
process that holds it), and reads the frames in place until they are copied to the device.

A unit whose frames do not fit in ``/dev/shm`` (``posix_fallocate`` refuses: a container's
64 MB default) is sent through the pipe as before. Files a run leaves behind when it stops
between a worker's write and its receipt (an error, a kill) are named after the tower's
process and removed by :func:`remove_leftovers`.
"""
from __future__ import annotations

import glob
import mmap
import os
import uuid
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

SHM = "/dev/shm"
PREFIX = "fpig-frames"


def available() -> bool:
    return os.path.isdir(SHM) and os.access(SHM, os.W_OK)


@dataclass(frozen=True)
class SharedPixels:
    """One shot's frames inside a shared block: their shapes and byte offsets."""
    block: str
    size: int
    frames: Tuple[Tuple[Tuple[int, ...], int], ...]


def _path(name: str) -> str:
    return os.path.join(SHM, name)


def _reserve(fd: int, size: int) -> None:
    """Allocate the block's pages now: ENOSPC here, not SIGBUS when a frame is written."""
    os.posix_fallocate(fd, 0, size)


def put(shots: Sequence[Sequence[np.ndarray]], owner: int) -> Optional[List[SharedPixels]]:
    """Write the shots' frames into one new shared block; None when it does not fit."""
    size = sum(frame.nbytes for shot in shots for frame in shot)
    name = f"{PREFIX}-{owner}-{uuid.uuid4().hex}"
    fd = os.open(_path(name), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        try:
            _reserve(fd, max(size, 1))
        except OSError:
            os.unlink(_path(name))
            return None
        refs, offset = [], 0
        with mmap.mmap(fd, max(size, 1)) as block:
            for shot in shots:
                layout = []
                for frame in shot:
                    view = np.ndarray(frame.shape, np.uint8, buffer=block, offset=offset)
                    view[...] = frame
                    del view                          # no export left when the map closes
                    layout.append((tuple(frame.shape), offset))
                    offset += frame.nbytes
                refs.append(SharedPixels(name, max(size, 1), tuple(layout)))
        return refs
    finally:
        os.close(fd)


def take(items: list) -> list:
    """`items` with each :class:`SharedPixels` replaced by its frames (a ``[T,H,W,C]`` array
    when they share a shape, else a tuple), read in place; the blocks' names are unlinked."""
    maps: Dict[str, mmap.mmap] = {}
    out = []
    for item in items:
        pixels = getattr(item, "pixels", None)
        if not isinstance(pixels, SharedPixels):
            out.append(item)
            continue
        if pixels.block not in maps:
            path = _path(pixels.block)
            fd = os.open(path, os.O_RDWR)
            try:
                maps[pixels.block] = mmap.mmap(fd, pixels.size)
            finally:
                os.close(fd)
                os.unlink(path)
        block = maps[pixels.block]
        frames = tuple(np.ndarray(shape, np.uint8, buffer=block, offset=offset)
                       for shape, offset in pixels.frames)
        if len({f.shape for f in frames}) == 1:     # written one after another: one array
            frames = np.ndarray((len(frames), *frames[0].shape), np.uint8, buffer=block,
                                offset=pixels.frames[0][1])
        out.append(replace(item, pixels=frames))
    return out


def remove_leftovers(owner: int) -> None:
    """Remove the blocks written for `owner` that nobody took (a run stopped midway)."""
    for path in glob.glob(_path(f"{PREFIX}-{owner}-*")):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
