"""Entry point of the ``ganedge`` command.

``LazyGroup`` imports a subcommand's module only when that subcommand runs, so
``ganedge --help`` and light commands never pay for torch. ``main`` turns a
GanEdgeError into one line on stderr and its exit code (2 bad input, 1 a failed
check); ``--debug`` keeps the traceback. A missing optional package is one such
error for every command at once: ``LazyGroup`` turns the ModuleNotFoundError into
``error: ganedge train needs torch (pip install 'ganedge[train]')`` (``ganedge.extras``
holds the package -> extra table); a missing module of ganedge's own keeps its traceback.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from typing import Callable, Iterator, NoReturn

import click

from ganedge import __version__
from ganedge.errors import GanEdgeError
from ganedge.extras import missing_extra

# name -> "module:attribute"; the help line is repeated here so --help needs no import.
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("ganedge.cli.train:train", "Train a GAN on scenes, digits or a folder of images."),
    "eval": ("ganedge.cli.eval:eval_cmd", "Score a run or model: FD, KID, precision/recall."),
    "export": ("ganedge.cli.export:export", "Export a generator: onnx, trt (TensorRT), triton, web."),
    "sample": ("ganedge.cli.sample:sample", "Generate images for seeds to a grid or a folder."),
    "generate": ("ganedge.cli.generate:generate", "Bulk generation: resumable shards, local processes or Ray."),
    "verify": ("ganedge.cli.verify:verify", "Compare two artifacts on the same seeds."),
    "inspect": ("ganedge.cli.inspect:inspect_cmd", "Show an artifact's manifest, graph and lint."),
    "bench": ("ganedge.cli.bench:bench", "Benchmark backends, precisions and batch sizes."),
}

_debug = False


class LazyGroup(click.Group):
    """A click group whose subcommands live in modules imported on first use."""

    def __init__(self, *args, lazy_commands: dict[str, tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy_commands:
            target, _ = self.lazy_commands[name]
            module_name, attr = target.split(":")
            with missing_extras_as_errors(lambda: f"{ctx.command_path} {name}"):
                module = importlib.import_module(module_name)
            command = getattr(module, attr)
            assert isinstance(command, click.Command), f"{target} is not a click command"
            return command
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):
        # The innermost group names the command ("ganedge export trt"); outer groups see a GanEdgeError.
        with missing_extras_as_errors(lambda: " ".join(filter(None, (ctx.command_path, ctx.invoked_subcommand)))):
            return super().invoke(ctx)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help from the table above, so `ganedge --help` imports no subcommand module.
        rows = [(name, self.lazy_commands[name][1]) for name in sorted(self.lazy_commands)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="ganedge")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
def cli(debug: bool) -> None:
    """ganedge: train a GAN, export its generator, sample it fast.

    \b
    Examples:
      ganedge train --dataset scenes --minutes 5 -o runs/scenes
      ganedge export onnx runs/scenes -o model.onnx --precision int8
      ganedge sample model.onnx --seeds 0-63 -o grid.png
      ganedge bench model.onnx --batch-sizes 1,8,64
    """
    global _debug
    _debug = debug


@contextlib.contextmanager
def missing_extras_as_errors(command: Callable[[], str]) -> Iterator[None]:
    """Turn a ModuleNotFoundError of an optional package into the MissingExtraError naming its extra
    (``command()`` says who needs it); any other ModuleNotFoundError is a bug and goes on unchanged."""
    try:
        yield
    except ModuleNotFoundError as exc:
        error = missing_extra(exc, command())
        if error is None:
            raise
        raise error from exc


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def run_command(command: click.Command, args: list[str], prog_name: str,
                reraise: Callable[[], bool] = lambda: False) -> NoReturn:
    """Run a click command with ganedge's error contract and exit: a GanEdgeError (a missing
    optional package included) is one line on stderr and its exit code (2 bad input, 1 failed
    check), Ctrl-C exits 130, no traceback unless ``reraise()`` says so. The CLI and the example
    scripts share it."""
    try:
        with missing_extras_as_errors(lambda: prog_name):  # plain commands too (the example scripts)
            result = command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except GanEdgeError as exc:
        if reraise():
            raise
        click.echo(f"error: {_one_line(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    run_command(cli, args, "ganedge", reraise=lambda: _debug or "--debug" in args)
