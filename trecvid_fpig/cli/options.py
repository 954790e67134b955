"""Options several verbs share, declared once so their names and help cannot drift apart."""
from __future__ import annotations

import click


def tower_config_option(when: str = ""):
    """``--tower-config FILE`` (encode, run, features extract); `when` prefixes its help."""
    return click.option(
        "--tower-config", type=click.Path(dir_okay=False), default=None, metavar="FILE",
        help=f"{when}The model's config.json (Hugging Face CLIP) or open_clip model config: the "
             "attention heads, which no weight tells, and the activation (default: "
             "docs/extract.md).")
