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
    """Raises on its `fail_at`-th batch, as a tower that runs out of memory would."""

    def __init__(self, fail_at: int):
        super().__init__()
        self.fail_at, self.calls = fail_at, 0

    def encode(self, frames, mask):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("CUDA out of memory (simulated)")
        return super().encode(frames, mask)
