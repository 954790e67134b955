"""A cache of computed cells keyed by content: sha256 of every input file and of the code.

Renaming or touching a run leaves its key unchanged; editing one byte of the run, the qrels or
the evaluator's source makes a new key. Entries are small JSON files written atomically, so a
crash or two concurrent calls can never leave a half-written entry that a later call trusts.
A cache that cannot be written (a read-only directory, a full disk) is only a lost speed-up:
the command goes on without it and says so once.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Iterable, List, Optional, Union

from .._version import __version__
from ..base.outputs import atomic_write
from ..errors import InputError


def code_digest(modules: Iterable[ModuleType]) -> str:
    """sha256 of the package version and of the source of the modules a result depends on."""
    digest = hashlib.sha256(__version__.encode())
    for module in modules:
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def cache_key(kind: str, *parts: str) -> str:
    return hashlib.sha256("\0".join((kind,) + parts).encode()).hexdigest()


class ResultCache:
    """JSON entries under `directory`; with no directory it stores nothing and never hits.

    :attr:`notes` says, for the user, why the cache was turned off part-way (if it was).
    """

    def __init__(self, directory: Optional[Union[str, Path]]):
        self.directory = None if directory is None else Path(directory)
        self.notes: List[str] = []

    def _path(self, kind: str, key: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{kind}-{key}.json"

    def get(self, kind: str, key: str) -> Optional[Dict[str, Any]]:
        """The stored entry, or None when absent or unreadable (it is then recomputed)."""
        if self.directory is None:
            return None
        try:
            value = json.loads(self._path(kind, key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def put(self, kind: str, key: str, value: Dict[str, Any]) -> None:
        if self.directory is None:
            return
        try:
            with atomic_write(self._path(kind, key)) as fh:
                json.dump(value, fh, indent=1, sort_keys=True)
                fh.write("\n")
        except InputError as exc:
            self.notes.append(f"note: not caching results ({exc}); they are recomputed next time")
            self.directory = None
