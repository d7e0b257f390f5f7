"""`advlab export`: a finished run's model as a file other programs run without advlab.

The graph takes uint8 images (N, C, S, S) at the backbone's input size and channels (bring
other images there with the run's --geometry first, as `advlab predict` does) and gives
class logits: the normalisation is inside it, the batch size is free, and the weights are
those the run evaluates (its weight average or teacher where it has one). Two formats:

- `onnx`, through torch.onnx's exporter (torch.export underneath; needs onnx and onnxscript:
  `pip install advlab[export]`), checked after writing against advlab's own logits with
  onnxruntime where it is installed;
- `torchscript`, a traced module that `torch.jit.load` runs with torch alone. torch marks
  TorchScript deprecated; it is offered because C++ and older deployments still load it.

The file is written beside its final name and moved there at the end: a failed export never
leaves a half-written file, and an existing file is never replaced.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path
from typing import Any

import torch

from advlab.errors import AdvlabError
from advlab.predict import load_model

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
TOLERANCE = 1e-5


def example_images(model, n: int = 4) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    size = model.input_size
    return torch.randint(0, 256, (n, model.input_channels, size, size), dtype=torch.uint8, generator=g)


def _onnx(model, example: torch.Tensor, path: Path) -> None:
    try:
        import onnxscript  # noqa: F401 (the exporter needs it)
    except ImportError:
        raise AdvlabError("--format onnx needs onnx and onnxscript: pip install 'advlab[export]'") from None
    batch = torch.export.Dim("batch", min=1)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's own progress and deprecation notes
        torch.onnx.export(
            model,
            (example,),
            str(path),
            dynamo=True,
            input_names=["images"],
            output_names=["logits"],
            dynamic_shapes={"images": {0: batch}},
        )


def _torchscript(model, example: torch.Tensor, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation note (see the module's docstring)
        torch.jit.trace(model, example).save(str(path))


def run_exported(path: Path, fmt: str, images: torch.Tensor) -> torch.Tensor | None:
    """The exported file's logits for `images` (None: no onnxruntime here to run an ONNX file)."""
    if fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit's deprecation note
            return torch.jit.load(str(path))(images).detach()
    try:
        import onnxruntime
    except ImportError:
        return None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {"images": images.numpy()})[0])


def export(run_dir: str | Path, fmt: str, out: str | Path, checkpoint: str = "reported") -> dict[str, Any]:
    if fmt not in FORMATS:
        raise AdvlabError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    out = Path(out)
    if out.suffix != FORMATS[fmt]:
        raise AdvlabError(f"--out of --format {fmt} must end in {FORMATS[fmt]}, got {out}")
    if out.exists():
        raise AdvlabError(f"--out {out} exists; advlab never overwrites a file (choose a new name)")
    if not out.parent.is_dir():
        raise AdvlabError(f"--out {out}: no folder {out.parent}")
    model = load_model(Path(run_dir), checkpoint).model
    example = example_images(model)
    partial = out.with_name(f".{out.name}.partial")
    try:
        (_onnx if fmt == "onnx" else _torchscript)(model, example, partial)
        check = example_images(model, 7)  # another batch size than the one traced
        theirs = run_exported(partial, fmt, check)
        with torch.no_grad():
            ours = model(check)
        difference = None if theirs is None else float((theirs - ours).abs().max())
        if difference is not None and difference > TOLERANCE:
            raise AdvlabError(
                f"the exported {fmt} model differs from the run's by {difference:.3g} (more than {TOLERANCE}); "
                "nothing was written"
            )
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return {
        "out": str(out),
        "format": fmt,
        "input": f"uint8 images (N, {model.input_channels}, {model.input_size}, {model.input_size})",
        "classes": model.num_classes,
        "backbone": model.name,
        "max_abs_difference": difference,
    }
