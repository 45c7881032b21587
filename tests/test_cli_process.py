"""``python -m dashboard`` as a real process: what the in-process CLI tests cannot see.

``import`` and ``review`` (without ``--csv``) work on Arrow and numpy only; the entry
point lets pyarrow's one-time look-up for pandas find none (``dashboard/__main__.py``),
which is only safe because those commands never import pandas.  These tests hold that
over every input format, and check that the commands that do need pandas still work.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

#: One file (or set) per input format the readers know.
FORMATS = {
    "long csv + doses + patients": ["sample_data/labs.csv", "sample_data/doses.csv", "sample_data/patients.csv"],
    "wide csv": ["sample_data/labs_europe_wide.csv"],
    "xlsx workbook": ["sample_data/clinic_workbook.xlsx"],
    "fhir bundle": ["sample_data/fhir_bundle.json"],
    "fhir stu3 report": ["tests/fixtures/fhir/diagnosticreport-101-cbc.STU3.json"],
    "synthea csv": [
        "tests/fixtures/synthea/patients.csv",
        "tests/fixtures/synthea/observations.csv",
        "tests/fixtures/synthea/medications.csv",
    ],
    "synthea bundle": ["tests/fixtures/synthea/Victoria535_Rubio813_subset_bundle.json"],
    "mimic-iii": [
        "tests/fixtures/mimic3/D_LABITEMS_cbc.csv",
        "tests/fixtures/mimic3/LABEVENTS_cbc_3admissions.csv",
        "tests/fixtures/mimic3/PRESCRIPTIONS_immunosuppressants.csv",
    ],
    "mimic-iv": ["tests/fixtures/mimic4/labevents_excerpt.csv"],
    "smart": ["tests/fixtures/smart/labs_cbc_excerpt.tsv", "tests/fixtures/smart/meds_rheum_excerpt.tsv"],
    "cdisc": ["tests/fixtures/cdisc/adlbh_hematology_3subjects.csv", "tests/fixtures/cdisc/ex_3subjects.csv"],
}

_WATCH = (
    "import atexit, runpy, sys\n"
    "atexit.register(lambda: print('PANDAS=' + str(sys.modules.get('pandas') is not None), file=sys.stderr))\n"
    "sys.argv = ['dashboard', *sys.argv[1:]]\n"
    "runpy.run_module('dashboard', run_name='__main__', alter_sys=True)\n"
)


def _watched(watch: str, *args: str) -> subprocess.CompletedProcess:
    """``python -m dashboard`` with ``args``, run by ``watch`` (a script that says on stderr,
    at exit, what the process did)."""
    return subprocess.run(
        [sys.executable, "-c", watch, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def _run(*args: str) -> subprocess.CompletedProcess:
    return _watched(_WATCH, *args)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_import_and_review_never_import_pandas(fmt):
    files = FORMATS[fmt]
    for args in (["import", *files], ["review", *files, "--as-of", "2026-11-25"], ["review", *files, "--json"]):
        p = _run(*args)
        assert p.returncode in (0, 2), (args, p.stderr[-2000:])
        assert "Traceback" not in p.stderr and "PANDAS=False" in p.stderr, (args, p.stderr[-2000:])


def test_review_csv_works_as_a_process(tmp_path):
    """``review --csv`` needs pandas: it is imported as usual (the old import hook refused
    it, so the command failed when run as ``python -m dashboard``)."""
    out = tmp_path / "flags.csv"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "dashboard",
            "review",
            "sample_data/labs.csv",
            "sample_data/doses.csv",
            "--csv",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    assert out.read_text(encoding="utf-8-sig").startswith("Patient,Name,Birth date,Date,Analyte")
    assert "open flag" in p.stderr


def test_an_import_of_lab_files_loads_no_dose_excel_or_export_reader():
    """The dose pipeline (dose, frequency and instruction parsers), the Excel reader and
    the MIMIC, Synthea and SMART readers are loaded when a table of theirs comes; a lab
    CSV import starts without them (issue 20: start-up time).  The formats above hold
    that they load when needed."""
    watch = (
        "import atexit, runpy, sys\n"
        "names = ('dashboard.ingest.doses', 'dashboard.ingest.sig', 'dashboard.ingest.amounts',"
        " 'dashboard.ingest.frequency', 'dashboard.ingest.xlsx', 'dashboard.ingest.mimic',"
        " 'dashboard.ingest.synthea', 'dashboard.ingest.smart', 'dashboard.ingest.interop')\n"
        "atexit.register(lambda: print('LOADED=' + ','.join(n for n in names if n in sys.modules), file=sys.stderr))\n"
        "sys.argv = ['dashboard', *sys.argv[1:]]\n"
        "runpy.run_module('dashboard', run_name='__main__', alter_sys=True)\n"
    )
    p = _watched(watch, "import", "sample_data/labs.csv")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "LOADED=\n" in p.stderr, p.stderr[-2000:]


def test_a_command_takes_arrow_memory_from_the_heap_numpy_uses():
    """The command-line process gives Arrow the C library's heap (one heap for Arrow and
    numpy, one arena for every thread: ``dashboard/__main__.py``), so what the reader frees
    serves the rules' arrays, and marks that heap for huge pages; the app and the tests
    keep pyarrow's own pool."""
    watch = (
        "import atexit, runpy, sys\n"
        "import pyarrow as pa\n"
        "atexit.register(lambda: print('POOL=' + pa.default_memory_pool().backend_name, file=sys.stderr))\n"
        "def heap_flags():\n"
        "    lines = open('/proc/self/smaps').read().split('\\n')\n"
        "    at = [i for i, x in enumerate(lines) if x.endswith('[heap]')]\n"
        "    flags = [x for i in at for x in lines[i:i + 40] if x.startswith('VmFlags')][:len(at)]\n"
        "    return ';'.join(flags)\n"
        "atexit.register(lambda: print('HEAP=' + heap_flags(), file=sys.stderr))\n"
        "sys.argv = ['dashboard', *sys.argv[1:]]\n"
        "runpy.run_module('dashboard', run_name='__main__', alter_sys=True)\n"
    )
    p = _watched(watch, "review", "sample_data/labs.csv", "sample_data/doses.csv", "--compact")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "POOL=system" in p.stderr, p.stderr[-2000:]
    if Path("/sys/kernel/mm/transparent_hugepage/enabled").exists():  # Linux with huge pages
        heap = next(x for x in p.stderr.splitlines() if x.startswith("HEAP="))
        assert " hg" in heap, heap  # the heap marked for 2 MB pages
    assert p.stdout.count("\n") > 1  # the header line and the patients' lines
    assert pa.default_memory_pool().backend_name != "system"  # this (test) process: untouched
