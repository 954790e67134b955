"""fpig-trecvid: evaluate text-to-video retrieval models on TRECVID Ad-hoc Video Search.

The Python API (docs/python.md) is loaded on first use, so ``import trecvid_fpig`` stays light:
no pandas, torch or open_clip until a function needs them.
"""
import importlib

from ._version import __version__

__all__ = ["Qrels", "Run", "load_qrels", "read_run", "score", "compare", "fuse", "recall", "search",
           "fused_search", "topics", "browse", "InputError"]

#: Public name -> module that defines it.
_HOMES = {"Qrels": ".formats.qrels", "Run": ".formats.runs", "InputError": ".errors", "load_qrels": ".api",
          "read_run": ".api", "score": ".api", "compare": ".api", "fuse": ".api", "recall": ".api",
          "fused_search": ".api"}

# `search` and `browse` are also subpackages. They are imported first (they are light): importing
# one later would replace the function below with the package, as the import system sets that
# attribute when a submodule is first loaded.
importlib.import_module(".search", __name__)
importlib.import_module(".browse", __name__)


def topics(name):
    """A shipped topic set or a topic file as a DataFrame (see :func:`trecvid_fpig.api.topics`)."""
    from .api import topics as topic_frame
    return topic_frame(name)


def search(queries, store, k=1000, tag="run"):
    """Rank a feature store's shots for ``{topic: vector}`` (see :func:`trecvid_fpig.api.search`)."""
    from .api import search as search_store
    return search_store(queries, store, k, tag)


def browse(runs, qrels, out, **options):
    """Write the static run browser (see :func:`trecvid_fpig.api.browse`)."""
    from .api import browse as build_site
    return build_site(runs, qrels, out, **options)


def __getattr__(name):
    if name not in _HOMES:
        raise AttributeError(f"module 'trecvid_fpig' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name], __name__), name)


def __dir__():
    return sorted(list(globals()) + __all__)
