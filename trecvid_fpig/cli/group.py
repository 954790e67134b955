"""The ``fpig-trecvid`` click group: verbs loaded on demand, errors as one line, exit codes.

Each verb lives in its own module here. Heavy libraries (torch, open_clip, pandas, matplotlib)
are imported inside the command functions, never at module level, so that ``score`` and
``topics`` start fast.
"""
from __future__ import annotations

import errno
import importlib
import signal
import sys
import warnings
from functools import partial

import click

from ..base.signals import STOP_SIGNALS, Interrupted, raise_interrupted
from ..errors import InputError, InputWarning, one_line

#: Exit codes: 0 done, 1 done but a check failed (``score --strict``), 2 refused input or an
#: error writing, 128 + signal when interrupted (130 Ctrl-C, 143 SIGTERM).
EXIT_INPUT = 2


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
    "qrels": "qrels",
    "browse": "browse",
}

#: What the ``[models]`` extra installs: only model verbs (encode, run --checkpoint, demo) import them.
MODEL_LIBRARIES = ("torch", "open_clip", "torchvision", "av")


def _show_warning(held: list, message, category, filename, lineno, file=None, line=None) -> None:
    """The toolkit's own warnings as one line on stderr at once; a library's (numpy's
    RuntimeWarning, a UserWarning) held in `held` until the command ends (:func:`_show_held`)."""
    if issubclass(category, InputWarning):
        click.echo(f"fpig-trecvid: warning: {one_line(str(message))}", err=True)
    else:
        held.append(f"fpig-trecvid: warning: {one_line(str(message))} ({category.__name__})")


def _show_held(held: list) -> None:
    """A library's warnings, one line each, once the command succeeded; when it fails, its one
    error line says what went wrong, and the warnings that led there would only bury it."""
    for text in dict.fromkeys(held):
        click.echo(text, err=True)


class _Group(click.Group):
    """Loads each verb's module on demand, and turns :class:`InputError` into one clear line on
    stderr and exit code 2, with no traceback."""

    def list_commands(self, ctx: click.Context):
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str):
        if name not in COMMANDS:
            return None
        return importlib.import_module(f"{__package__}.{COMMANDS[name]}").command

    def invoke(self, ctx: click.Context):
        held: list = []
        try:
            with warnings.catch_warnings():
                warnings.showwarning = partial(_show_warning, held)
                result = super().invoke(ctx)
            _show_held(held)
            return result
        except InputError as exc:
            click.echo(f"fpig-trecvid: error: {exc}", err=True)
            ctx.exit(EXIT_INPUT)
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in MODEL_LIBRARIES:
                raise
            click.echo(f"fpig-trecvid: error: {ctx.invoked_subcommand} needs {exc.name}, which the "
                       f'light install leaves out: pip install "fpig-trecvid[models]"', err=True)
            ctx.exit(EXIT_INPUT)
        except EOFError as exc:         # a reader that did not say which input: still one line,
            # and not click's Abort, which would exit 130 as if Ctrl-C had been pressed
            cause = one_line(str(exc)) or "end of file"
            click.echo(f"fpig-trecvid: error: input ended early ({cause})", err=True)
            ctx.exit(EXIT_INPUT)
        except OSError as exc:          # a writer that did not say which output: still one line
            if exc.errno == errno.EPIPE:
                raise                   # `| head`: click leaves quietly
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"fpig-trecvid: error: {one_line(where + str(exc.strerror or exc))}",
                       err=True)
            ctx.exit(EXIT_INPUT)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Click's usage errors in our one-line style, and 130/143 when interrupted."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        handlers = {s: signal.getsignal(s) for s in STOP_SIGNALS}
        try:
            for signum in handlers:
                signal.signal(signum, raise_interrupted)
        except ValueError:              # not the main thread: leave signals alone
            handlers = {}
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"fpig-trecvid: error: {exc.format_message()}{hint}", err=True)
            code = exc.exit_code
        except click.ClickException as exc:
            click.echo(f"fpig-trecvid: error: {exc.format_message()}", err=True)
            code = exc.exit_code
        except click.Abort as exc:      # click's wrapper for KeyboardInterrupt and EOFError
            cause = exc.__context__
            if isinstance(cause, (KeyboardInterrupt, Interrupted)):
                code = _interrupted(cause)
            else:                       # only a real signal exits 128 + signal
                click.echo(f"fpig-trecvid: error: input ended early ({cause or 'aborted'})",
                           err=True)
                code = EXIT_INPUT
        except (KeyboardInterrupt, Interrupted) as exc:
            code = _interrupted(exc)
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
        sys.exit(code if isinstance(code, int) else 0)


def _interrupted(exc: BaseException) -> int:
    """Say that a signal stopped the command; its exit code, 128 + signal."""
    signum = getattr(exc, "signum", signal.SIGINT)
    if signum == signal.SIGINT and isinstance(exc, Interrupted) and sys.stderr.isatty():
        click.echo(err=True)            # closes the terminal's ^C echo, as click does
    click.echo(f"fpig-trecvid: interrupted ({signal.Signals(signum).name}); "
               f"nothing half-written was left", err=True)
    return 128 + signum


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fpig-trecvid")
def cli() -> None:
    """Evaluate text-to-video retrieval models on TRECVID Ad-hoc Video Search."""
