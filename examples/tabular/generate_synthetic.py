"""Write a larger synthetic dataset with the raw Palmer penguins schema, for benchmarks.

The output has the columns of palmerpenguins' ``penguins.csv`` (``species, island,
bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, sex, year``), so it can be the
``raw`` input of ``code/preprocess.py`` in place of the shipped data. Records are drawn from
per-species-and-sex normal distributions whose means and standard deviations are those of the
real data (rounded), with a shared "size" factor that correlates the measurements within a
group as in the real data; islands follow each species' real distribution. A small fraction
of records get one missing value (``NA``) to exercise the cleaning. Seeded: the same arguments
give the same file.

Usage:
    python examples/tabular/generate_synthetic.py --rows 100000 --output /tmp/raw/penguins.csv
"""

from __future__ import annotations

import argparse
import csv
import math
import random
from pathlib import Path

FIELDS = (
    "species",
    "island",
    "bill_length_mm",
    "bill_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
    "sex",
    "year",
)
MEASUREMENTS = FIELDS[2:6]
# (species, sex) -> (mean, std) of each measurement, from the real data.
STATISTICS = {
    ("Adelie", "female"): ((37.3, 2.0), (17.6, 0.9), (187.8, 5.6), (3368.8, 269.4)),
    ("Adelie", "male"): ((40.4, 2.3), (19.1, 1.0), (192.4, 6.6), (4043.5, 346.8)),
    ("Chinstrap", "female"): ((46.6, 3.1), (17.6, 0.8), (191.7, 5.8), (3527.2, 285.3)),
    ("Chinstrap", "male"): ((51.1, 1.6), (19.3, 0.8), (199.9, 6.0), (3939.0, 362.1)),
    ("Gentoo", "female"): ((45.6, 2.1), (14.2, 0.5), (212.7, 3.9), (4679.7, 281.6)),
    ("Gentoo", "male"): ((49.5, 2.7), (15.7, 0.7), (221.5, 5.7), (5484.8, 313.2)),
}
SPECIES_WEIGHTS = {"Adelie": 146, "Chinstrap": 68, "Gentoo": 119}
ISLAND_WEIGHTS = {
    "Adelie": {"Biscoe": 44, "Dream": 55, "Torgersen": 47},
    "Chinstrap": {"Dream": 68},
    "Gentoo": {"Biscoe": 119},
}
YEARS = (2007, 2008, 2009)
SIZE_CORRELATION = 0.5  # loading of each measurement on the shared size factor


def record(rng: random.Random, missing_fraction: float) -> list[str]:
    species = rng.choices(list(SPECIES_WEIGHTS), weights=list(SPECIES_WEIGHTS.values()))[0]
    islands = ISLAND_WEIGHTS[species]
    island = rng.choices(list(islands), weights=list(islands.values()))[0]
    sex = rng.choice(("female", "male"))
    size = rng.gauss(0.0, 1.0)
    own = math.sqrt(1 - SIZE_CORRELATION**2)
    values = []
    for name, (mean, std) in zip(MEASUREMENTS, STATISTICS[(species, sex)], strict=True):
        value = mean + std * (SIZE_CORRELATION * size + own * rng.gauss(0.0, 1.0))
        # The real data has bills to 0.1 mm and integer flippers and masses.
        values.append(f"{value:.1f}" if name.startswith("bill") else str(round(value)))
    row = [species, island, *values, sex, str(rng.choice(YEARS))]
    if rng.random() < missing_fraction:
        row[rng.randrange(1, len(row) - 1)] = "NA"
    return row


def generate(path: Path, rows: int, seed: int, missing_fraction: float) -> None:
    """Write ``rows`` records to ``path`` (CSV with a header)."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FIELDS)
        writer.writerows(record(rng, missing_fraction) for _ in range(rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="number of records")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--missing-fraction", type=float, default=0.02)
    parser.add_argument("--output", type=Path, required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    if not 0 <= args.missing_fraction < 1:
        parser.error("--missing-fraction must be in [0, 1)")
    generate(args.output, args.rows, args.seed, args.missing_fraction)
    print(f"Wrote {args.rows} records to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
