"""Files that ship with the toolkit, found in a source checkout or an installed wheel, and the
ones ``fpig-trecvid qrels fetch`` installs in the user's data folder.

A checkout keeps them in top-level folders (``topics/``, ``runs/``); a wheel installs them as
``trecvid_fpig/shipped`` and ``trecvid_fpig/published``. The checkout wins when the code runs
from one: that is also the case when a test run's source tree shadows an installed copy.
Fetched files mirror the ``shipped`` layout in the data folder (``qrels/avs.qrels.tv19``), so a
fetched year is found wherever a shipped one is.
"""
from __future__ import annotations

import os
from pathlib import Path

#: the installed package, trecvid_fpig/ (this module is in its formats/)
PACKAGE = Path(__file__).resolve().parent.parent
#: installed folder -> top-level folder of the checkout
FOLDERS = {"shipped": "topics", "published": "runs"}
#: The environment variable that moves the data folder (tests, shared machines, no home).
DATA_ENV = "FPIG_TRECVID_DATA"


def data_folder() -> Path:
    """Where fetched files go: ``$FPIG_TRECVID_DATA``, else the platform's user data folder
    (``~/.local/share/fpig-trecvid`` on Linux)."""
    override = os.environ.get(DATA_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir
    return Path(user_data_dir("fpig-trecvid", appauthor=False))


def fetched_file(relative: str) -> Path:
    """Where ``qrels fetch`` installs the file that would ship as ``shipped/<relative>``."""
    return data_folder() / relative


def data_file(folder: str, relative: str) -> Path:
    """``folder`` is the installed name (``shipped`` or ``published``); a ``shipped`` file that
    does not ship may have been fetched."""
    checkout = PACKAGE.parent / FOLDERS[folder] / relative
    if checkout.exists():
        return checkout
    installed = PACKAGE / folder / relative
    if folder == "shipped" and not installed.exists() and fetched_file(relative).exists():
        return fetched_file(relative)
    return installed
