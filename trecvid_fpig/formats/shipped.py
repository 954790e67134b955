"""Files that ship with the toolkit, found in a source checkout or an installed wheel.

A checkout keeps them in top-level folders (``topics/``, ``runs/``); a wheel installs them as
``trecvid_fpig/shipped`` and ``trecvid_fpig/published``. The checkout wins when the code runs
from one: that is also the case when a test run's source tree shadows an installed copy.
"""
from __future__ import annotations

from pathlib import Path

#: the installed package, trecvid_fpig/ (this module is in its formats/)
PACKAGE = Path(__file__).resolve().parent.parent
#: installed folder -> top-level folder of the checkout
FOLDERS = {"shipped": "topics", "published": "runs"}


def data_file(folder: str, relative: str) -> Path:
    """``folder`` is the installed name (``shipped`` or ``published``)."""
    checkout = PACKAGE.parent / FOLDERS[folder] / relative
    if checkout.exists():
        return checkout
    return PACKAGE / folder / relative
