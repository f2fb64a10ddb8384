"""``ganedge export web``: an ONNX export -> a static folder that samples it in the browser."""

from __future__ import annotations

import json
from pathlib import Path

import click


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


@click.command("web")
@click.argument("model", metavar="MODEL", type=click.Path(path_type=Path))
@click.option("-o", "--output", "site", required=True, metavar="SITE_DIR", type=click.Path(path_type=Path),
              help="Folder to write (must be missing or empty; --force replaces an earlier site).")
@click.option("--precision", type=click.Choice(["fp32", "fp16"]), default=None,
              help="Ship this precision: fp16 converts an fp32 export (gated: PSNR >= 40 dB) and halves the download.  "
                   "[default: the model's own]")
@click.option("--title", default=None, metavar="TEXT", help="Page title.  [default: arch and size from the manifest]")
@click.option("--force", is_flag=True, help="Replace SITE_DIR if it holds a site this command wrote before.")
@click.option("--ort-web", "ort_web", default=None, metavar="DIR", type=click.Path(path_type=Path),
              help="The onnxruntime-web npm package folder to copy the runtime from.  [default: $GANEDGE_ORT_WEB, "
                   "then export/web/node_modules of a ganedge checkout, then ./node_modules]")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object describing what was written.")
def web_cmd(model: Path, site: Path, precision: str | None, title: str | None, force: bool, ort_web: Path | None,
            as_json: bool) -> None:
    """Write a static web page that samples MODEL (a ganedge ONNX export) in the browser.

    The folder holds the model, ganedge.js (seed-exact latents, the same uint8 mapping as the
    Python SDK, reading the manifest from the ONNX metadata), onnxruntime-web's WebAssembly
    files and index.html: seed and random button, truncation, class, interpolation between two
    seeds, a grid, and the ms per image measured in the page. Any static server works offline;
    `python serve.py` in the folder adds the headers WebAssembly threads need.

    \b
    Examples:
      ganedge export web model.onnx -o site
      ganedge export web model.onnx -o site --precision fp16 --title "Scenes GAN" --force
      python -m http.server -d site 8000        # then open http://localhost:8000/
    """
    from ganedge.export.web import WebOptions, build_site

    result = build_site(model, site, WebOptions(precision=precision, title=title, force=force, ort_web=ort_web))
    if as_json:
        click.echo(json.dumps(result.to_dict(), sort_keys=True))
        return
    verb = "replaced" if result.replaced else "wrote"
    c, h, w = result.manifest.image_shape
    click.echo(f"{verb} {result.site}/ ({_size(result.total_bytes)}: model {_size(result.files['model.onnx'])} "
               f"{result.manifest.precision}, onnxruntime-web {result.ort_version} "
               f"{_size(sum(v for k, v in result.files.items() if k.startswith('ort/')))}) for {result.manifest.arch} "
               f"{w}x{h}")
    if result.converted:
        psnr = result.converted["psnr_db"]
        click.echo(f"  fp16: PSNR {'inf' if psnr is None else f'{psnr:.1f}'} dB vs fp32 on seeds {result.converted['seeds']}")
    click.echo(f"  serve:   python -m http.server -d {result.site} 8000   (one WebAssembly thread)")
    click.echo(f"           python {result.site / 'serve.py'} --port 8000   (cross-origin isolated: threads)")
    click.echo("  open:    http://localhost:8000/")
