"""SageMaker processing script: generate a labelled waveform dataset (sine, square, sawtooth).

Writes, under ``--output-dir`` (``/opt/ml/processing/output``, one directory per processing
output):
    ``train/`` and ``validation/``: ``signals.npy`` (float32, N x LENGTH) and ``labels.npy``
    (int64, N), the training job's ``train`` and ``validation`` channels;
    ``test/requests.jsonl``: one JSON array of LENGTH floats per line (the batch transform's
    input); ``test_labels/labels.json``: the test signals' class names, in the same order.

Each signal is one waveform with a random frequency, phase and amplitude plus Gaussian noise,
so the classifier has to learn the shape, not a value.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

CLASSES = ("sine", "square", "sawtooth")


def waveforms(count: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` signals per class, shuffled, and their class indices."""
    t = np.linspace(0.0, 1.0, length, endpoint=False)
    signals, labels = [], []
    for label in range(len(CLASSES)):
        freq = rng.uniform(2.0, 6.0, size=(count, 1))
        phase = rng.uniform(0.0, 1.0, size=(count, 1))
        amplitude = rng.uniform(0.5, 1.5, size=(count, 1))
        cycle = (freq * t + phase) % 1.0
        if CLASSES[label] == "sine":
            wave = np.sin(2 * np.pi * cycle)
        elif CLASSES[label] == "square":
            wave = np.where(cycle < 0.5, 1.0, -1.0)
        else:
            wave = 2.0 * cycle - 1.0
        noisy = amplitude * wave + rng.normal(0.0, 0.2, size=(count, length))
        signals.append(noisy)
        labels.append(np.full(count, label))
    x = np.concatenate(signals).astype(np.float32)
    y = np.concatenate(labels).astype(np.int64)
    order = rng.permutation(len(y))
    return x[order], y[order]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples-per-class", type=int, default=200)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    # A path given as an argument, as SageMaker's processing examples do: the pipeline names
    # the container path, so the script does not depend on where /opt/ml is.
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output"))
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    splits = {"train": 0.7, "validation": 0.15, "test": 0.15}
    x, y = waveforms(args.samples_per_class, args.length, rng)
    start = 0
    for name, fraction in splits.items():
        stop = len(y) if name == "test" else start + int(fraction * len(y))
        out = args.output_dir / name
        out.mkdir(parents=True, exist_ok=True)
        if name == "test":
            lines = [json.dumps([round(float(v), 4) for v in row]) for row in x[start:stop]]
            (out / "requests.jsonl").write_text("\n".join(lines) + "\n")
            # Apart from the requests: the batch transform sends every file of its input.
            labels = args.output_dir / "test_labels"
            labels.mkdir(parents=True, exist_ok=True)
            (labels / "labels.json").write_text(json.dumps([CLASSES[i] for i in y[start:stop]]))
        else:
            np.save(out / "signals.npy", x[start:stop])
            np.save(out / "labels.npy", y[start:stop])
        print(f"{name}: {stop - start} signals of length {args.length}")
        start = stop


if __name__ == "__main__":
    main()
