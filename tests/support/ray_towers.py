"""Towers that misbehave once, for the Ray fault tests (importable by Ray's worker processes)."""
from __future__ import annotations

import os
import signal
from pathlib import Path

from support.extraction import FakeVideoEncoder


class KillOnceEncoder(FakeVideoEncoder):
    """SIGKILLs its own process on the first batch it ever sees (across restarts: a marker)."""

    def __init__(self, marker: str):
        super().__init__()
        self.marker = Path(marker)

    def encode(self, frames, mask):
        if not self.marker.exists():
            self.marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return super().encode(frames, mask)


class FailingEncoder(FakeVideoEncoder):
    """Raises on any batch of `shots` shots, as a tower that runs out of memory would: which
    shard fails depends on the data (the keyframes fixture's last shard holds one shot), not on
    how many batches this actor, or a restarted one, has seen."""

    def __init__(self, shots: int = 1):
        super().__init__()
        self.shots = shots

    def encode(self, frames, mask):
        if mask.shape[0] == self.shots:
            raise RuntimeError("CUDA out of memory (simulated)")
        return super().encode(frames, mask)
