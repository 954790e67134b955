"""The ``fpig-trecvid`` command: a thin click layer that parses, calls the library, prints.

This module is the entry point, and imports nothing but ``signal``: :func:`main` installs the
SIGINT/SIGTERM handlers before click and the verbs load, so a Ctrl-C at any moment of the start
exits 130 quietly instead of printing a traceback from inside an import. The group and its
verbs live in :mod:`.group`; ``cli``, ``COMMANDS`` and the exit codes are re-exported here.
"""
from __future__ import annotations

import importlib
import signal
import sys

from ..base.signals import STOP_SIGNALS, Interrupted, raise_interrupted

#: Names that live in :mod:`.group`, loaded on first use.
_GROUP_NAMES = ("cli", "COMMANDS", "EXIT_INPUT", "MODEL_LIBRARIES")


def main() -> None:
    # Installed for the whole process (not only while a command runs), so that a signal that
    # lands while click loads, or just after the command finished, still exits quietly with
    # 128 + signal. Installed and removed inside the outer try: a signal between two of these
    # lines is caught too.
    try:
        try:
            for signum in STOP_SIGNALS:
                signal.signal(signum, raise_interrupted)
            from .group import cli
            cli(prog_name="fpig-trecvid")
        finally:                        # exiting now: a later signal must not print a traceback
            for signum in STOP_SIGNALS:
                signal.signal(signum, signal.SIG_IGN)
    except Interrupted as exc:          # landed outside the command's own handling
        sys.exit(128 + exc.signum)


def __getattr__(name):
    if name not in _GROUP_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(".group", __name__), name)
