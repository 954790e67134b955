"""The ``fpig-trecvid`` command: a thin click layer that parses, calls the library, prints.

Each verb lives in its own module here. Heavy libraries (torch, open_clip, pandas, matplotlib)
are imported inside the command functions, never at module level, so that ``score`` and
``topics`` start fast.
"""
from __future__ import annotations

import sys

import click

from ..errors import InputError


class _Group(click.Group):
    """Turns :class:`InputError` into one clear line on stderr and exit code 2, no traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            click.echo(f"fpig-trecvid: error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fpig-trecvid")
def cli() -> None:
    """Evaluate text-to-video retrieval models on TRECVID Ad-hoc Video Search."""


def _register() -> None:
    from . import score, topics
    for module in (score, topics):
        cli.add_command(module.command)


_register()


def main() -> None:
    cli(prog_name="fpig-trecvid")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
