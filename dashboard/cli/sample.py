"""``python -m dashboard sample [--seed N] [--patients N] [--years N] [--out DIR]``: write
the synthetic sample panel (exit codes: :mod:`dashboard.cli.common`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dashboard.cli.common import EXIT_CHOICE, EXIT_OK, CliError
from dashboard.sample import (
    DEFAULT_PATIENTS,
    DEFAULT_SEED,
    DEFAULT_YEARS,
    SAMPLE_DIR,
    SampleError,
    generate,
    write_files,
)
from dashboard.sample.docs import MANIFEST


def cmd_sample(args: argparse.Namespace) -> int:
    seed = DEFAULT_SEED if args.seed is None else args.seed
    patients = DEFAULT_PATIENTS if args.patients is None else args.patients
    years = DEFAULT_YEARS if args.years is None else args.years
    out = Path(args.out) if args.out else SAMPLE_DIR
    try:
        files = generate(seed, patients, years)
    except SampleError as exc:
        raise CliError(str(exc), EXIT_CHOICE) from None
    write_files(files, out)
    info = json.loads(files[MANIFEST])
    print(
        f"Synthetic sample panel: {info['patients_count']} patients, seed {seed}, extract date {info['extract_date']}"
    )
    for name, data in files.items():
        print(f"  {out / name}  ({len(data) / 1024:,.0f} KB)")
    print("All of it is synthetic: no real patient data.")
    return EXIT_OK
