"""Options shared by the commands that load a PyTorch source: what a module reference cannot say itself."""

from __future__ import annotations

import click

from ganedge.click_types import OutputRange
from ganedge.errors import BadInputError


def read_class_names(path: str) -> tuple[str, ...]:
    """Class names from a text file (one per line, blank lines skipped) or a JSON list; the manifest checks them."""
    import json
    from pathlib import Path

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"--class-names: cannot read {path} ({exc})") from None
    if not text.lstrip().startswith("["):
        return tuple(line.strip() for line in text.splitlines() if line.strip())
    try:
        names = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"--class-names: {path} is not a JSON list of names ({exc})") from None
    if not isinstance(names, list):
        raise BadInputError(f"--class-names: {path} is not a JSON list of names")
    return tuple(names)


def module_options(command):
    """Options that describe a module reference (FILE.py:NAME / package.module:NAME), for any command that loads one."""
    options = [
        click.option("--latent-dim", type=click.IntRange(min=1), default=None, metavar="N",
                     help="Module references: latent size of z (default: the module's z_dim/nz/latent_dim attribute)."),
        click.option("--weights", type=click.Path(dir_okay=False, path_type=str), default=None, metavar="FILE",
                     help="Module references: a .safetensors state dict, loaded strictly (pickles are refused)."),
        click.option("--num-classes", type=click.IntRange(min=0), default=0, metavar="K",
                     help="Module references: classes of a conditional model, forward(z, label).  [default: 0]"),
        click.option("--output-range", type=OutputRange(), default=None, metavar="LO,HI",
                     help="Module references and adopted ONNX: the float range of the images.  [default: -1,1]"),
        click.option("--class-names", "class_names_file", type=click.Path(dir_okay=False, path_type=str), default=None,
                     metavar="FILE", help="Class names, one per line (or a JSON list)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def module_load_options(latent_dim, weights, num_classes, output_range, class_names_file) -> dict:
    """The given module-reference options as ``sdk.load`` keywords (unset ones left out)."""
    given = {"latent_dim": latent_dim, "weights": weights, "num_classes": num_classes or None,
             "output_range": output_range,
             "class_names": read_class_names(class_names_file) if class_names_file else None}
    return {k: v for k, v in given.items() if v is not None}
