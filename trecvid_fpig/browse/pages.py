"""The site's HTML pages, rendered from the Jinja2 templates shipped beside this module.

The pages hold the structure and what needs no script (the run means, the topics table); the
thumbnail grids are drawn by ``static/browse.js`` from ``data/topic-ID.js``.
"""
from __future__ import annotations

from pathlib import Path

from ..formats.topics import REGISTRY

#: Judgment classes as the legend shows them: class, letter, name, what it means.
LEGEND = (
    ("relevant", "R", "relevant", "NIST judged it relevant"),
    ("not-relevant", "N", "not relevant", "NIST judged it not relevant"),
    ("unsampled", "P", "pooled, not judged", "in NIST's pool but not sampled for judging (−1)"),
    ("unpooled", "U", "unpooled", "never in NIST's pool: no one judged it"),
)


def render_pages(stage: Path, site: dict) -> None:
    """``index.html`` and one ``topic-ID.html`` per topic, into `stage`."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader(__package__, "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["fixed4"] = lambda v: "—" if v is None else f"{v:.4f}"
    env.filters["signed4"] = lambda v: "—" if v is None else f"{v:+.4f}"
    qrels_name = next((i.name for i in REGISTRY.values() if i.qrels and
                       site["qrels"].endswith(i.qrels)), Path(site["qrels"]).name)
    common = {"site": site, "legend": LEGEND, "qrels_name": qrels_name,
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
