"""Options several verbs share, declared once so their names and help cannot drift apart."""
from __future__ import annotations

from typing import Dict, Tuple

import click

from ..errors import InputError

#: ``--qrels``: a year's judgments by name (tv21 and tv23 ship; tv19, tv20, tv22 and
#: progress.v3c1 after ``qrels fetch``) or a file.
QRELS_METAVAR = "YEAR|PATH"
QRELS_HELP = ("A year's qrels (tv21, tv23 ship; tv19, tv20, tv22, progress.v3c1 after "
              "'fpig-trecvid qrels fetch'), or a sample_eval qrels file (plain or .gz).")


def tower_config_option(when: str = ""):
    """``--tower-config FILE`` (encode, run, features extract); `when` prefixes its help."""
    return click.option(
        "--tower-config", type=click.Path(dir_okay=False), default=None, metavar="FILE",
        help=f"{when}The model's config.json (Hugging Face CLIP) or open_clip model config: the "
             "attention heads, which no weight tells, and the activation (default: "
             "docs/extract.md).")


def shot_source_options(command):
    """``--keyframes DIR | --videos DIR --boundaries DIR | --shot-table FILE`` (features extract,
    browse): where a collection's shots and their pixels are."""
    for option in reversed((
            click.option("--keyframes", type=click.Path(), default=None,
                         help="Keyframe tree DIR/VVVVV/shotVVVVV_N_*.png|jpg|jpeg|webp (or a "
                              "flat DIR)."),
            click.option("--videos", type=click.Path(), default=None,
                         help="Videos DIR/VVVVV/VVVVV.* or DIR/VVVVV.* (with --boundaries, or "
                              "the videos a --shot-table names)."),
            click.option("--boundaries", type=click.Path(), default=None,
                         help="Master shot boundaries DIR/VVVVV.tsv (startframe starttime "
                              "endframe endtime; row N is shot N)."),
            click.option("--shot-table", type=click.Path(), default=None,
                         help="CSV/Parquet with columns shot_id, video, start, end (seconds)."))):
        command = option(command)
    return command


def xml_field_values(pairs: Tuple[str, ...]) -> Dict[str, str]:
    """``--xml-field KEY=VALUE`` pairs (run, runs convert) as a dict."""
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--xml-field takes KEY=VALUE, got {pair!r}")
        values[key] = value
    return values
