"""One answer to "which device?" for ``encode``, ``run`` and ``features extract``.

``auto`` takes the GPU when there is one. The check for a GPU reads the driver's files first,
so the CPU-only path (and ``--help``) never pays for importing torch.
"""
from __future__ import annotations

import glob
import os
import re

from ..errors import InputError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def gpu_present() -> bool:
    """An NVIDIA driver on this machine, checked without importing torch (≈1 s)."""
    return os.path.exists("/proc/driver/nvidia/version") or bool(glob.glob("/dev/nvidia[0-9]*"))


def pick_device(requested: str = "auto") -> str:
    """``cpu``, or a torch CUDA device (``cuda``, ``cuda:1``); ``auto`` takes the GPU when
    there is one; a requested GPU that torch cannot see is refused."""
    if requested == "cpu" or (requested == "auto" and not gpu_present()):
        return "cpu"
    if requested != "auto" and not re.fullmatch(r"cuda(:[0-9]+)?", requested):
        raise InputError(f"unknown device {requested!r}: expected {', '.join(DEVICE_CHOICES)}")
    import torch

    if torch.cuda.is_available():
        return "cuda" if requested == "auto" else requested
    if requested == "auto":
        return "cpu"
    raise InputError(f"--device {requested}: torch sees no CUDA GPU on this machine")
