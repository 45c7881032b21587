"""``python -m dashboard``: see :mod:`dashboard.cli`."""

import ctypes
import gc
import importlib.abc
import sys

import pyarrow as pa

from dashboard.cli import main


class _PandasNotHere(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname == "pandas" or fullname.startswith("pandas."):
            raise ModuleNotFoundError("pandas is not looked for here", name=fullname)
        return None


def _pandas_probe_finds_none() -> None:
    """Let pyarrow's one-time look-up for pandas find none, in a command that never uses it.

    pyarrow looks for pandas on its first conversion of Python or numpy data (to tell a
    pandas Series from other input) and imports it when it is installed: a quarter to
    half a second of start-up.  ``import`` and ``review`` (without ``--csv``) work on
    Arrow and numpy only and never import pandas (``tests/test_cli_process.py`` checks
    it over every input format), so for them that one look-up finds none.  Every other
    command (``review --csv``, ``workspace``, ``sample``) uses pandas and is left alone.
    """
    argv = sys.argv[1:]
    command = argv[0] if argv else ""
    if command not in ("import", "review") or any(a == "--csv" or a.startswith("--csv=") for a in argv):
        return
    if "pandas" in sys.modules:
        return
    finder = _PandasNotHere()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(finder)


#: glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -2, -4, -8


def _keep_freed_memory_for_reuse() -> None:
    """Let glibc's malloc keep the memory a command frees, for the command's next arrays.

    An import or review makes and drops many arrays of a few megabytes (one value per
    result).  By default glibc gives each back to the system as soon as it is freed
    (blocks over its mmap threshold, and the top of the heap above 128 kB), so the next
    array of the same size starts on fresh pages, and the kernel fills every page again.
    On this project's 2-core virtual machine that page filling was a quarter of an
    import's wall time (1M results, bench_import.py: median 1.63 s -> 1.24-1.41 s).
    Every block now comes from the heap (none is mapped on its own: the file's bytes and
    the largest arrays too, on the heap's huge pages below), and the heap keeps up to
    1 GB of free space; the process gives it all back when it exits a moment later.
    Only for the short command-line process; without glibc's mallopt (e.g. macOS)
    nothing is changed, Arrow's pool included.
    """
    try:
        libc = ctypes.CDLL(None)  # the C library the interpreter runs on
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_MAX, 0)  # blocks of any size from the heap (glibc maps large ones on their own by default)
    mallopt(_M_TRIM_THRESHOLD, 1 << 30)
    mallopt(_M_TOP_PAD, 64 << 20)
    # one heap for every thread: Arrow's reader threads and the command's own (the dates,
    # the output batches) then free into the heap the next arrays come from, instead of
    # into an arena of their own that no other thread draws on
    mallopt(_M_ARENA_MAX, 1)
    _huge_pages_for_the_heap(libc)
    # and Arrow's arrays from that heap too, not from its own pool (mimalloc), which
    # keeps what Arrow frees for Arrow alone: what the CSV reader frees then serves
    # numpy's arrays.  With the settings above: the peak of ``import`` of 1M results
    # 592 -> 514 MB, of ``review --compact`` 696 -> 525 MB (bench_import.py,
    # bench_review.py, A/B), in less time.  Set before Arrow's first allocation.
    pa.set_memory_pool(pa.system_memory_pool())


#: How much of the heap is made ready for huge pages, the size of a huge page, and madvise's flag.
_HEAP_AHEAD, _HUGE_PAGE, _MADV_HUGEPAGE = 480 << 20, 2 << 20, 14


def _huge_pages_for_the_heap(libc: ctypes.CDLL) -> None:
    """Ask the kernel to back the heap with 2 MB pages (transparent huge pages).

    What glibc's ``glibc.malloc.hugetlb=1`` tunable does, which can only be set before
    the process starts: the heap is grown by :data:`_HEAP_AHEAD` (one block, address
    space only: nothing is touched, so nothing is counted in memory), marked
    ``MADV_HUGEPAGE`` and given back to malloc, which keeps it (trim threshold above).
    The arrays of the command then fill 2 MB pages, one fault each, instead of 512
    faults of 4 kB: on this project's 2-core virtual machine, ``import`` of 1M results
    took 0.414 -> 0.390 s (bench_import.py), with 91,000 -> 36,000 page faults and the
    same peak (28,000 once every block comes from the heap).  A kernel without transparent huge pages (or with them off) ignores the
    advice."""
    try:
        malloc, free, madvise = libc.malloc, libc.free, libc.madvise
    except AttributeError:
        return
    malloc.restype, malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    free.restype, free.argtypes = None, [ctypes.c_void_p]
    madvise.restype, madvise.argtypes = ctypes.c_int, [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    block = malloc(_HEAP_AHEAD)
    if not block:
        return
    start = -(-block // _HUGE_PAGE) * _HUGE_PAGE  # the first whole huge page inside the block
    madvise(start, (block + _HEAP_AHEAD - start) // _HUGE_PAGE * _HUGE_PAGE, _MADV_HUGEPAGE)
    free(block)


def _run_without_collector_passes() -> int:
    """Run the command with Python's cyclic garbage collector off, and skip its last pass at exit.

    The collector walks every container object Python tracks: on its passes during the
    command (tens of thousands of objects of the loaded modules, most of them on each full
    pass) and once more when the interpreter shuts down.  A command is one short process
    whose data lives in Arrow buffers and numpy arrays, freed by reference counting as soon
    as they are dropped, so those passes find next to nothing; on this project's 2-core
    machine they were 25-40 ms of a 0.45 s import of 1M results (bench_import.py).
    ``gc.freeze()`` at the end moves what is left into the permanent generation, which the
    shutdown pass leaves alone; unlike ``os._exit`` the exit handlers still run and the
    output is still flushed.  Only for the command-line process: the app and the tests
    keep the collector as it is.
    """
    gc.disable()
    try:
        return main()
    finally:
        gc.freeze()


_keep_freed_memory_for_reuse()
_pandas_probe_finds_none()
sys.exit(_run_without_collector_passes())
