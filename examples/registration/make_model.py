"""Write the small pre-trained model this example registers: ``model.tar.gz`` holding a
TorchScript classifier over the numeric fields ``x1``, ``x2``, ``x3`` (``model.pt``, at the top
level, as SageMaker expects; no ``code/``: the packaging step adds it).

    python examples/registration/make_model.py /tmp/model.tar.gz

The archive has no ``hyperparameters.json``, so the payload step takes the field lists from the
config's ``payload.hyperparameters``.
"""

from __future__ import annotations

import argparse
import io
import tarfile
from pathlib import Path

import torch

FEATURES = 3
CLASSES = 2


def build_model(seed: int) -> torch.jit.ScriptModule:
    """A seeded linear classifier, scripted so that serving needs no Python class."""
    torch.manual_seed(seed)
    network = torch.nn.Sequential(torch.nn.Linear(FEATURES, CLASSES))
    network.eval()
    scripted: torch.jit.ScriptModule = torch.jit.script(network)
    return scripted


def write_archive(model: torch.jit.ScriptModule, output: Path) -> None:
    buffer = io.BytesIO()
    torch.jit.save(model, buffer)
    data = buffer.getvalue()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(output, "w:gz") as archive:
        info = tarfile.TarInfo("model.pt")
        info.size = len(data)
        info.mode = 0o644
        archive.addfile(info, io.BytesIO(data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="where to write model.tar.gz")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    write_archive(build_model(args.seed), args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
