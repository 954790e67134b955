"""The site's HTML pages, rendered from the Jinja2 templates shipped beside this module.

The pages hold the structure and what needs no script (the run means, the topics table); the
thumbnail grids are drawn by ``static/browse.js`` from ``data/topic-ID.js``.
"""
from __future__ import annotations

from pathlib import Path

from .site import CLASSES, LEGEND


def chip_text(run: dict) -> str:
    """A run's name on its chips: its key letter (what the marks on thumbnails use) and label."""
    return run["key"] if run["label"] == run["key"] else f"{run['key']} · {run['label']}"


def render_pages(stage: Path, site: dict) -> None:
    """``index.html`` and one ``topic-ID.html`` per topic, into `stage`."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader(__package__, "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["fixed4"] = lambda v: "—" if v is None else f"{v:.4f}"
    env.filters["signed4"] = lambda v: "—" if v is None else f"{v:+.4f}"
    env.filters["chip"] = chip_text
    common = {"site": site, "legend": [(cls, *LEGEND[cls]) for cls in CLASSES],
              "picture": "video" if site["videos"] else "keyframe"}
    (stage / "index.html").write_text(env.get_template("index.html").render(**common),
                                      encoding="utf-8")
    topics = site["topics"]
    template = env.get_template("topic.html")
    for i, row in enumerate(topics):
        before = topics[i - 1]["topic"] if i > 0 else None
        after = topics[i + 1]["topic"] if i + 1 < len(topics) else None
        (stage / f"topic-{row['topic']}.html").write_text(
            template.render(row=row, before=before, after=after, **common), encoding="utf-8")
