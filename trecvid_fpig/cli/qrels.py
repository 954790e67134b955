"""``fpig-trecvid qrels``: NIST's judgments for the TRECVID years that do not ship."""
from __future__ import annotations

from typing import Optional, Tuple

import click

from ..formats.qrels_registry import REGISTRY, fetch


@click.group("qrels")
def command() -> None:
    """NIST's judgments (qrels) of the TRECVID years that do not ship with the toolkit."""


@command.command("fetch")
@click.argument("sets", nargs=-1, required=True, type=click.Choice(list(REGISTRY)), metavar="SET...")
@click.option("--from", "from_file", type=click.Path(dir_okay=False),
              help="Install this file, downloaded by hand, instead of downloading (one SET).")
@click.option("--force", is_flag=True, help="Download and install again even when installed.")
def fetch_command(sets: Tuple[str, ...], from_file: Optional[str], force: bool) -> None:
    """Download, verify and install each SET's qrels (tv19, tv20, tv22, progress.v3c1).

    Each comes from a public copy pinned at a git commit and must have that copy's git blob id;
    it is installed in the data folder ($FPIG_TRECVID_DATA, else the user's data folder).
    Afterwards --qrels SET works wherever --qrels tv21 does. A copy with another blob id, a
    dropped connection or a wrong file installs nothing.
    """
    if from_file is not None and len(sets) != 1:
        raise click.UsageError("--from installs one file: name exactly one SET")
    for name in sets:
        done = fetch(name, from_file=from_file, force=force)
        for note in done.notes:
            click.echo(f"fpig-trecvid: warning: {note}", err=True)
        if done.action == "installed":
            held = f"{len(done.topics)} topics, {done.topics[0]}-{done.topics[-1]}"
            click.echo(f"{name}: installed {done.path} ({held}) from {done.source}, git blob "
                       f"{done.blob[:12]}")
        elif done.action == "already installed":
            click.echo(f"{name}: already installed at {done.path} (from {done.source}); --force "
                       f"installs it again")
        else:
            click.echo(f"{name}: ships with fpig-trecvid; nothing to fetch")
