"""The ``fpig-trecvid`` command: a thin click layer that parses, calls the library, prints.

Each verb lives in its own module here. Heavy libraries (torch, open_clip, pandas, matplotlib)
are imported inside the command functions, never at module level, so that ``score`` and
``topics`` start fast.
"""
from __future__ import annotations

import importlib

import click

from ..errors import InputError


#: Verb -> module in this package that defines ``command``; loaded only when the verb runs.
COMMANDS = {
    "score": "score",
    "topics": "topics",
    "encode": "encode",
    "features": "features",
    "run": "run",
    "demo": "demo",
    "recall": "recall",
    "tables": "tables",
    "compare": "compare",
    "plot": "plot",
    "fuse": "fuse",
    "runs": "runs",
}

#: What the ``[models]`` extra installs: only model verbs (encode, run --checkpoint, demo) import them.
MODEL_LIBRARIES = ("torch", "open_clip", "torchvision", "av")


class _Group(click.Group):
    """Loads each verb's module on demand, and turns :class:`InputError` into one clear line on
    stderr and exit code 2, with no traceback."""

    def list_commands(self, ctx: click.Context):
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str):
        if name not in COMMANDS:
            return None
        return importlib.import_module(f"{__name__}.{COMMANDS[name]}").command

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            click.echo(f"fpig-trecvid: error: {exc}", err=True)
            ctx.exit(2)
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in MODEL_LIBRARIES:
                raise
            click.echo(f"fpig-trecvid: error: {ctx.invoked_subcommand} needs {exc.name}, which the "
                       f'light install leaves out: pip install "fpig-trecvid[models]"', err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fpig-trecvid")
def cli() -> None:
    """Evaluate text-to-video retrieval models on TRECVID Ad-hoc Video Search."""


def main() -> None:
    cli(prog_name="fpig-trecvid")
