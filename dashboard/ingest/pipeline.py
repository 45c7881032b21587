"""The import: files in, canonical tables and a report out.

``import_sources`` is the one entry point used by the CLI, the upload page and the
workspace.  It reads each file by content, lets the format readers listed in
``readers.py`` claim the tables they know, maps everything else with the generic column mapping, and
combines all files: % differentials become absolute counts, duplicates are counted once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard import model
from dashboard.identity import (
    IDENTITY_FIELDS,
    LINK_KIND,
    RULE_FIELDS,
    IdentityConflict,
    alias_matches,
    carries,
    differs,
    id_key,
    identity_value,
    leading_zero_groups,
    name_tokens,
    person_name,
    shared_identifiers,
    unknown_where_conflicting,
)
from dashboard.ingest import dates as dates_mod
from dashboard.ingest import identity, readers
from dashboard.ingest.context import (
    WITHDRAWN_ELSEWHERE,
    Context,
    FormatError,
    ImportOptions,
    NeedsChoice,
    Parsed,
    decide_dates,
    mapped_cells,
    parse_date_columns,
    set_table_kind,
)
from dashboard.ingest.context import mapped_column as _col
from dashboard.ingest.context import parse_date_column as _parse_date_column
from dashboard.ingest.dose_records import DoseBatch, DoseRecord
from dashboard.ingest.dose_repeats import (
    basis_of,
    dose_key,
    dose_words,
    overlaps_at_start,
    repeat_of,
    same_start_note,
    start_key,
)
from dashboard.ingest.failures import log_failure, plain_reason
from dashboard.ingest.labs import LabInput, combine_labs, normalise_labs, per_sex_limits, resolve_sex_ranges
from dashboard.ingest.mapping import (
    ColumnMapping,
    header_info,
    map_columns,
    mapped_twice,
    match_field,
    normalize,
    recognise_test,
    split_brackets,
)
from dashboard.ingest.patients import parse_sex, patients_from_table, settle_birth_centuries
from dashboard.ingest.report import FileReport, ImportReport, Problem
from dashboard.ingest.tabular import (
    HL7_V2_REFUSAL,
    MAX_LINE,
    RawTable,
    UnreadableFile,
    compound_file_reason,
    decode,
    hl7_segments,
    read_delimited,
    refusal_from_head,
    sniff_container,
    zip_reason,
)
from dashboard.patient_merge import is_blank, merge_details
from dashboard.units import is_unit

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


@dataclass(frozen=True)
class Source:
    """A file to import: its name (shown in the report) and its bytes."""

    name: str
    data: bytes


@dataclass
class ImportResult:
    """The canonical tables of one import and its report."""

    labs: pa.Table
    doses: pa.Table
    patients: pa.Table
    report: ImportReport
    #: the corrected results kept (patient_id, analyte, collected_at, value, comparator,
    #: source_value, source_unit, _corr, source_file, source_row): a store replaces with them
    #: a different result of the same draw kept from an earlier import (H132)
    corrections: pa.Table | None = None
    #: the other identifiers files give their patients: (patient id, what the identifier
    #: is, its value, file); see :func:`warn_about_aliases`
    aliases: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: the limits of each result's range given per sex, row for row with ``labs``
    #: (:data:`dashboard.ingest.labs.SEX_LIMITS`), or None: a store reads them again when it
    #: learns the patient's sex after this import (H172)
    sex_limits: pa.Table | None = None
    #: the results a status withdraws (``entered-in-error``, "Deleted", HL7 ``W`` ...) with
    #: the result they name (:data:`dashboard.ingest.labs.WITHDRAWAL_COLUMNS`): a store no
    #: longer grades the same result kept from an earlier import (H530)
    withdrawals: pa.Table | None = None

    def labs_df(self) -> pd.DataFrame:
        return model.to_pandas("labs", self.labs)

    def doses_df(self) -> pd.DataFrame:
        return model.to_pandas("doses", self.doses)

    def patients_df(self) -> pd.DataFrame:
        return model.to_pandas("patients", self.patients)


# --------------------------------------------------------------------------- entry points


@dataclass
class ReadPaths:
    """The files a command's paths stand for (a folder: the files directly inside it), and
    what was not read, each said: paths not found or refused from their first bytes
    (``missing``), documentation beside the exports (``skipped``: README, licence ...) and
    sub-folders (``folders``: never walked into, named so that none is passed over in silence)."""

    sources: list[Source] = field(default_factory=list)
    missing: list[FileReport] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)

    def said_in(self, report: ImportReport) -> None:
        """Put what was not read into an import's report."""
        report.files = self.missing + report.files
        report.skipped = list(self.skipped)
        report.folders = list(self.folders)


def read_paths(paths: Iterable[str | Path]) -> ReadPaths:
    """The one walk of a command's paths (``import``, ``review``, ``workspace import``)."""
    out = ReadPaths()
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.name.startswith("."):
                    continue
                if child.is_dir():
                    out.folders.append(f"{path.name}/{child.name}")
                    continue
                if not child.is_file():
                    continue
                if is_documentation(child.name):
                    out.skipped.append(child.name)
                    continue
                out.sources.append(Source(str(child), child.read_bytes()))
        elif path.is_file():
            refused = _refused_unread(path)
            if refused:
                out.missing.append(FileReport(path.name, format="unreadable", error=refused))
                continue
            out.sources.append(Source(str(path), path.read_bytes()))
        else:
            out.missing.append(FileReport(str(path), error="file not found"))
    return out


def import_paths(paths: Iterable[str | Path], options: ImportOptions | None = None) -> ImportResult:
    """Import files from disk; a directory stands for the files directly inside it."""
    read = read_paths(paths)
    result = import_sources(read.sources, options)
    read.said_in(result.report)
    return result


#: How much of a large file is read first to see its first line end (most do within
#: a few hundred bytes; only a file whose first line runs on is read up to the limit).
_FIRST_BLOCK = 1 << 16


def _refused_unread(path: Path) -> str:
    """A large file refused from its first bytes (a first line of gigabytes is never read whole)."""
    try:
        size = path.stat().st_size
        if size <= MAX_LINE:
            return ""
        with path.open("rb") as f:
            head = f.read(_FIRST_BLOCK)
            if b"\n" in head or b"\r" in head:
                return ""  # the first line ends in the first block: far from the limit
            return refusal_from_head(head + f.read(MAX_LINE + 1 - len(head)), size)
    except OSError:
        return ""


#: Files in an imported folder that are documentation, not exports (a folder of
#: exports often carries a README or the licence of the data).
DOC_SUFFIXES = (".md", ".rst", ".pdf", ".html", ".htm", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".docx")
DOC_NAMES = ("readme", "license", "licence", "sources", "copying", "notice", "manifest")


def is_documentation(name: str) -> bool:
    """True for a file in a folder that is documentation, judged by its name.

    Only used to skip such files when a whole folder is imported (each is listed in
    the report); a file named explicitly is always read, by its content.
    """
    lower = name.lower()
    stem = lower.rsplit(".", 1)[0]
    return lower.endswith(DOC_SUFFIXES) or stem.split("_")[0] in DOC_NAMES


def import_sources(
    sources: Sequence[Source], options: ImportOptions | None = None, known_sex: Mapping[str, str] | None = None
) -> ImportResult:
    """Import files given as bytes.  Never raises for bad content: the report says.

    ``known_sex``: the sex already held for patients (a workspace's stored patients: "F"
    or "M" by id), for a reference range given per sex where these files give no sex."""
    options = options or ImportOptions()
    ctx = Context(options)
    raws: list[tuple[FileReport, RawTable | None, Any]] = []
    withdrawn = _withdrawn_by_file(sources)
    shown = _shown_names(sources)
    for i, src in enumerate(sources):
        if withdrawn:  # what the other FHIR files withdraw (H469)
            ctx.extra[WITHDRAWN_ELSEWHERE] = _withdrawn_elsewhere(withdrawn, i)
        raws.extend(_read_source_isolated(src, ctx, shown[i]))
    ctx.extra.pop(WITHDRAWN_ELSEWHERE, None)

    # dictionaries and other context files first, then the data
    raws.sort(key=lambda t: _priority(t[1], ctx))
    parsed: list[Parsed] = []
    for rep, raw, payload in raws:
        if raw is None:
            parsed.append(payload if isinstance(payload, Parsed) else Parsed(rep))
            continue
        parsed.append(_process_isolated(raw, rep, ctx))
        _name_patients_of_rejections(raw, rep)

    used_overrides = {k for p in parsed for k in p.report.mapping.values()} | {
        c for p in parsed for c in p.report.columns_found
    }
    unknown = sorted(set(options.mapping) - used_overrides)
    lab_cands = [p.labs for p in parsed if p.labs is not None]
    corrected: list[pa.Table] = []
    pulled: list[pa.Table] = []  # the results a status withdraws (H530)
    labs = combine_labs(lab_cands, corrected, pulled)
    doses = _combine_doses([p for p in parsed if p.doses is not None])
    patients, conflicts = _combine_patients([p for p in parsed if p.patients is not None], labs, doses, ctx)
    patients = _with_identities(patients, [p for p in parsed if p.identities], conflicts)
    if known_sex:  # a sex this import's own sources disagree on stays unknown
        torn = {c.patient_id for c in conflicts if c.field == "sex"}
        known_sex = {p: s for p, s in known_sex.items() if p not in torn}
    labs = resolve_sex_ranges(labs, lab_cands, patients, known_sex)  # a range per sex needs the patient's sex

    report = ImportReport(files=[p.report for p in parsed], identity_conflicts=conflicts)
    # every id of the labs and doses has its patients row (_combine_patients): the distinct
    # ids are the patients table's, not a second hashing of a million lab rows
    warn_about_ids(report, [labs, doses, patients], {x for x in patients.column("patient_id").to_pylist() if x})
    aliases = [(pid, kind, value, p.report.path) for p in parsed for pid, kind, value in p.aliases]
    warn_about_aliases(report, [labs, doses, patients], aliases)
    if unknown and report.files:
        report.files[0].warn(f"--map names column(s) not found in any file: {', '.join(unknown)}")
    report.labs = labs.num_rows
    report.doses = doses.num_rows
    report.patients = patients.num_rows
    report.check_rows()
    return ImportResult(
        labs,
        doses,
        patients,
        report,
        pa.concat_tables(corrected) if corrected else None,
        aliases,
        per_sex_limits(labs.num_rows, lab_cands),
        pa.concat_tables(pulled) if pulled else None,
    )


def _withdrawn_by_file(sources: Sequence[Source]) -> dict[int, dict[str, list[Any]]]:
    """Per FHIR file of an import of several, the resources it marks entered-in-error:
    a copy of one of them in another file (a bulk export and its ``_since`` export) is
    then not read (H469).  Empty for one FHIR file (its reader settles its own copies)."""
    jsons = [i for i, src in enumerate(sources) if sniff_container(src.data) == "json"]
    marked = [i for i in jsons if b"entered-in-error" in sources[i].data]
    if len(jsons) < 2 or not marked:
        return {}
    # loaded only for several FHIR files, one marking a withdrawal: as readers.read_json,
    # an import of delimited or Excel exports never loads the FHIR reader
    from dashboard.ingest.fhir import withdrawn_in

    found = {i: withdrawn_in(_base_name(sources[i].name), sources[i].data) for i in marked}
    return {i: w for i, w in found.items() if w}


def _withdrawn_elsewhere(withdrawn: dict[int, dict[str, list[Any]]], here: int) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for i, refs in withdrawn.items():
        if i != here:
            for ref, copies in refs.items():
                out.setdefault(ref, []).extend(copies)
    return out


def _name_patients_of_rejections(raw: RawTable, rep: FileReport) -> None:
    """Give each rejected row of a table the patient id its patient column holds, so that
    the patient's page can say which of their rows were not read.  Looked up for the
    rejected rows only (a handful, whatever the file's size)."""
    header = rep.mapping.get("patient_id")
    wanted = {p.row for p in rep.problems if p.row is not None and not p.patient_id}
    if not header or header not in raw.columns or not wanted or not raw.num_rows:
        return
    numbers = raw.row_numbers.to_numpy(zero_copy_only=False)
    rows = np.array(sorted(wanted), dtype=np.int64)
    if bool(np.all(numbers[1:] > numbers[:-1])):  # spreadsheet order, as every reader keeps it
        at = np.clip(np.searchsorted(numbers, rows), 0, len(numbers) - 1)
        at = at[numbers[at] == rows]
    else:
        at = np.flatnonzero(np.isin(numbers, rows))
    if not len(at):
        return
    ids = raw.columns[header].take(pa.array(at)).to_pylist()
    pid_of = {int(numbers[i]): (v or "").strip() for i, v in zip(at, ids, strict=True)}
    for p in rep.problems:
        if p.row in pid_of and not p.patient_id:
            p.patient_id = pid_of[p.row]


def _patient_ids(tables: list[pa.Table]) -> set[str]:
    """The distinct non-empty patient ids of the parsed tables."""
    ids: set[str] = set()
    for t in tables:
        if t.num_rows:
            ids.update(x for x in pc.unique(t.column("patient_id")).to_pylist() if x)
    return ids


def _first_files(tables: list[pa.Table], wanted: set[str]) -> dict[str, str]:
    """For each wanted patient id, the source file of its first row (in table order)."""
    value_set = pa.array(sorted(wanted), pa.string())
    first_file: dict[str, str] = {}
    for t in tables:
        if not t.num_rows:
            continue
        sub = t.filter(pc.is_in(t.column("patient_id"), value_set=value_set))
        for pid, src in zip(sub.column("patient_id").to_pylist(), sub.column("source_file").to_pylist(), strict=True):
            first_file.setdefault(pid, src or "")
    return first_file


def warn_about_ids(report: ImportReport, tables: list[pa.Table], ids: set[str] | None = None) -> None:
    """The warnings about patient ids of the whole import (leading zeros, look-alikes),
    from one list of the distinct ids (``ids`` when the caller has it already)."""
    ids = _patient_ids(tables) if ids is None else ids
    _warn_zero_stripped_ids(report, tables, ids)
    _warn_lookalike_ids(report, tables, ids)
    _warn_same_person_ids(report, tables)


#: How the patients already kept are named beside a new import's files.
STORED = "the workspace"


def warn_about_aliases(
    report: ImportReport,
    tables: list[pa.Table],
    aliases: Sequence[tuple[str, str, str, str]],
    kept: set[str] | None = None,
) -> None:
    """Name each patient whose other identifier is the patient id of another patient: a
    FHIR export files Carol under the server's id "f3c9a1" with her MRN 0012345 as an
    identifier, and the clinic's dose sheet files her methotrexate under 0012345.

    Never merged (an identifier of one system can be another system's id for someone
    else): the clinician is told, because the doses under one id never meet the results
    under the other and no dose check fires.  ``kept`` (workspace ids) are compared
    instead of the import's own ids, and named as :data:`STORED`."""
    if not aliases or not report.files:
        return
    if kept is None:
        _warn_shared_identifiers(report, aliases)
    found = alias_matches(aliases, kept if kept is not None else _patient_ids(tables))
    if not found:
        return
    where = {} if kept is not None else _first_files(tables, {f[4] for f in found})
    by_name = {f.path: f for f in report.files}
    if kept is None:  # a link inside one import is named by the reader's own note (Patient.link)
        found = [f for f in found if not f[1].startswith(LINK_KIND)]
    for pid, kind, value, file, other in found[:10]:
        if other == value:
            match = "which is"
        elif id_key(other) == id_key(value):
            match = "which matches (leading zeros aside)"
        else:
            match = "which looks like (case, spaces, dashes or another script's letters aside)"
        by_name.get(file, report.files[0]).warn(
            f"patient {pid} ({file}) {carries(kind, value)}, {match} the patient id {other} "
            f"({where.get(other, STORED)}): kept apart, never merged; check whether they are one patient "
            "(doses under one id never meet the results under the other)"
        )
    if len(found) > 10:
        report.files[0].warn(f"{len(found) - 10} more patients carry an identifier that is another patient's id")


def _warn_shared_identifiers(report: ImportReport, aliases: Sequence[tuple[str, str, str, str]]) -> None:
    """Name the patients of the import that carry the same identifier (two FHIR Patients
    with one MRN): one person under two records, or one identifier given to two people.
    Kept apart, never merged (H552)."""
    shared = shared_identifiers(aliases)
    by_name = {f.path: f for f in report.files}
    for value, carriers in shared[:10]:
        who = "; ".join(f"patient {pid} ({kind}, {file})" for pid, kind, file in carriers)
        by_name.get(carriers[0][2], report.files[0]).warn(
            f"the identifier {value} is carried by more than one patient: {who}. Kept apart, never merged: "
            "one person under two records, or one identifier given to two people; check which "
            "(doses under one id never meet the results under the other)"
        )
    if len(shared) > 10:
        report.files[0].warn(f"{len(shared) - 10} more identifiers are carried by more than one patient")


def warn_about_stored_ids(
    report: ImportReport,
    tables: list[pa.Table],
    stored: pa.Table,
    aliases: Sequence[tuple[str, str, str, str]] = (),
) -> None:
    """The same warnings between a new import's patient ids and the patients already kept
    (``stored``: patient_id, name, birth_date): "0012" imported tonight beside "12" kept
    last week, or the same name and date of birth under two numbers.  Only groups that
    join a new id with a kept one are named (a group inside the import was named by
    :func:`warn_about_ids`); the kept ids are named as in :data:`STORED`."""
    new = _patient_ids(tables)
    kept = {x for x in stored.column("patient_id").to_pylist() if x} - new
    if not new or not kept or not report.files:
        return
    warn_about_aliases(report, tables, aliases, kept)

    def joins(group: list[str]) -> bool:
        return any(i in new for i in group) and any(i in kept for i in group)

    both = [*tables, pa.table({"patient_id": sorted(kept), "source_file": [STORED] * len(kept)})]
    ids = new | kept
    _warn_id_groups(report, both, [g for g in leading_zero_groups(ids) if joins(g)], _LEADING_ZEROS)
    _warn_id_groups(report, both, [g for g in identity.lookalike_groups(ids) if joins(g)], _LOOK_ALIKE)
    people = next((t for t in tables if {"name", "birth_date"} <= set(t.column_names)), None)
    details = [stored.select(["patient_id", "name", "birth_date"])]
    if people is not None:
        details.insert(0, people.select(["patient_id", "name", "birth_date"]).cast(details[0].schema))
    groups = [g for g in _same_person_groups(pa.concat_tables(details)) if joins(g)]
    _warn_id_groups(report, both, groups, _SAME_PERSON)


@dataclass(frozen=True)
class _IdWarning:
    """The wording of one warning about a group of patient ids."""

    #: The warning, with ``{ids}`` where the group's ids stand.
    text: str
    #: How one id of the group is named, given the file it first appears in.
    each: Callable[[str, str], str]
    #: What joins the named ids.
    sep: str = ", "
    #: The line that counts the groups beyond the first ten ("" for none).
    more: str = ""


_LEADING_ZEROS = _IdWarning(
    "patient ids {ids} differ only by leading zeros: kept apart; check they are not the same "
    "patient (a spreadsheet drops the zeros of an id typed as a number)",
    lambda pid, file: f"{pid} ({file})",
    more="more patient ids differ from another only by leading zeros",
)
_LOOK_ALIKE = _IdWarning(
    "patient ids that look alike: {ids}. Kept apart; check they are not the same patient "
    '(case, letters of another alphabet, spaces, dashes, a spreadsheet\'s ".0" or its text formula ="..." differ)',
    lambda pid, file: f"{identity.describe(pid)} in {file}",
    sep="; ",
    more="more groups of patient ids look alike",
)
_SAME_PERSON = _IdWarning(
    "patient ids {ids} have the same name and date of birth: kept apart; check whether they are one "
    "patient under two numbers (doses under one id never meet the results under the other)",
    lambda pid, file: f"{pid} ({file})",
    more="more groups of patient ids share a name and a date of birth",
)
_MIXED_ALPHABETS = _IdWarning(
    "patient id {ids} mixes letters of two alphabets: check it is typed as the hospital writes it",
    lambda pid, _file: identity.describe(pid),
)


def _warn_id_groups(report: ImportReport, tables: list[pa.Table], groups: list[list[str]], warning: _IdWarning) -> None:
    """One warning per group of patient ids (the first ten), on the file where the group's
    first id first appears, naming each id with that file; with ``warning.more``, one line
    counts the groups beyond ten."""
    if not groups:
        return
    first_file = _first_files(tables, {i for g in groups for i in g})
    by_name = {f.path: f for f in report.files}
    for group in groups[:10]:
        ids = warning.sep.join(warning.each(i, first_file[i]) for i in group)
        by_name.get(first_file[group[0]], report.files[0]).warn(warning.text.format(ids=ids))
    if warning.more and len(groups) > 10:
        report.files[0].warn(f"{len(groups) - 10} {warning.more}")


def _warn_zero_stripped_ids(report: ImportReport, tables: list[pa.Table], all_ids: set[str]) -> None:
    """Warn when two patient ids differ only by leading zeros ("0012" and "12").

    A spreadsheet program drops the zeros of an MRN typed as a number; the doses of "12"
    would then never meet the results of "0012" and no dose check would fire.  The ids
    are kept apart (guessing could merge two patients); the clinician is told.
    """
    clashes = leading_zero_groups(all_ids)
    if not clashes or not report.files:
        return
    _warn_id_groups(report, tables, clashes, _LEADING_ZEROS)


def _warn_lookalike_ids(report: ImportReport, tables: list[pa.Table], ids: set[str]) -> None:
    """Name the patient ids that look alike: the same but for case, letters of another
    alphabet that look Latin ("RА-001" with a Cyrillic А), spaces or dashes.

    They are kept apart (guessing could merge two patients); the clinician is told which
    ids, in which file, and what differs.  Ids that mix alphabets are named even alone.
    """
    if not report.files:
        return
    groups = identity.lookalike_groups(ids)
    grouped = {i for g in groups for i in g}
    mixed = sorted(pid for pid in ids if not pid.isascii() and pid not in grouped and identity.mixes_alphabets(pid))
    if not groups and not mixed:
        return
    _warn_id_groups(report, tables, groups, _LOOK_ALIKE)
    _warn_id_groups(report, tables, [[pid] for pid in mixed], _MIXED_ALPHABETS)


def _warn_same_person_ids(report: ImportReport, tables: list[pa.Table]) -> None:
    """Name the patient ids that share a name and a date of birth ("5001" and "MRN5001",
    both DOE, Jane born 12-Mar-1980): one person under two numbers, or two people.

    They are kept apart (merging could join two patients: twins share a birth date, names
    repeat); the clinician is told, because one person's doses would never meet their
    results under the other number.
    """
    patients = next((t for t in tables if {"name", "birth_date"} <= set(t.column_names)), None)
    if patients is None or not patients.num_rows or not report.files:
        return
    groups = _same_person_groups(patients)
    _warn_id_groups(report, [patients], groups, _SAME_PERSON)  # named with the file that gave the details


def _same_person_groups(patients: pa.Table) -> list[list[str]]:
    """The groups of patient ids that share a name and a date of birth."""
    people: dict[tuple[frozenset[str], str], set[str]] = {}
    for pid, name, born in zip(
        *(patients.column(c).to_pylist() for c in ("patient_id", "name", "birth_date")), strict=True
    ):
        if not (pid and name and born):  # most lab exports: no name, nothing to compare
            continue
        day = identity_value("birth_date", born)
        words = name_tokens(name)
        if words and day:
            people.setdefault((words, day), set()).add(pid)
    return sorted(sorted(g) for g in people.values() if len(g) > 1)


def _priority(raw: RawTable | None, ctx: Context) -> int:
    if raw is None:
        return 1
    try:
        return readers.priority(raw)
    except Exception:  # an odd table is judged (and refused) by its reader, not here
        return 1


# --------------------------------------------------------------------------- isolation


def _read_source_isolated(
    src: Source, ctx: Context, name: str | None = None
) -> list[tuple[FileReport, RawTable | None, Any]]:
    """:func:`_read_source`, with any failure ending as this file's rejection (never the import's)."""
    try:
        return _read_source(src, ctx, name)
    except Exception as exc:  # every failure (RecursionError and MemoryError too) becomes the file's reason
        log_failure(exc, "a file")
        rep = FileReport(path=name or _base_name(src.name), format="unreadable", error=plain_reason(exc))
        return [(rep, None, Parsed(rep))]


def _process_isolated(raw: RawTable, rep: FileReport, ctx: Context) -> Parsed:
    """:func:`_process_table`, with any failure ending as this table's rejection.

    The rows of the table are counted as read and rejected with the plain reason, so the
    report stays balanced; whatever the reader had half-built is dropped.
    """
    try:
        return _process_table(raw, rep, ctx)
    except Exception as exc:  # every failure becomes the table's reason
        fresh = FileReport(path=rep.path, sheet=rep.sheet, encoding=rep.encoding, delimiter=rep.delimiter)
        fresh.columns_found = list(raw.header)
        fresh.warnings.extend(raw.warnings)
        log_failure(exc, "a table")
        return _not_imported(raw, fresh, "", plain_reason(exc))


def _base_name(name: str) -> str:
    return Path(name).name if "/" in name or "\\" in name else name


def _shown_names(sources: Sequence[Source]) -> list[str]:
    """The name each file is reported and kept under: its own name, or, where two files of
    one import share it ("jan/labs.csv", "feb/labs.csv"), as much of its folder as tells
    them apart, so that a rejected row's file is never in doubt (probe34 F3)."""
    names = [_base_name(s.name) for s in sources]
    clash = {n for n in names if names.count(n) > 1}
    out = []
    for src, name in zip(sources, names, strict=True):
        if name in clash:
            parts = Path(src.name.replace("\\", "/")).parts
            name = "/".join(parts[-2:]) if len(parts) > 1 else name
        out.append(name)
    return [n if out.count(n) == 1 else s.name for n, s in zip(out, sources, strict=True)]


# --------------------------------------------------------------------------- reading


def _read_source(src: Source, ctx: Context, name: str | None = None) -> list[tuple[FileReport, RawTable | None, Any]]:
    name = name or _base_name(src.name)
    container = sniff_container(src.data)
    rep = FileReport(path=name)
    try:
        if not re.search(rb"\S", src.data[:65536]) and not src.data.strip():
            raise UnreadableFile("the file is empty")
        if container == "xlsx":
            # loaded when a workbook comes: a delimited import never needs the Excel reader
            from dashboard.ingest.xlsx import read_excel

            tables = read_excel(name, src.data)
            if not tables:
                raise UnreadableFile("the workbook has no sheet with data")
            out: list[tuple[FileReport, RawTable | None, Any]] = []
            for t in tables:
                r = FileReport(path=name, sheet=t.sheet, encoding="xlsx", decimal="point")
                if t.refused:  # a sheet too large to read: the others are read
                    r.error, r.format = t.refused, "unreadable"
                    out.append((r, None, Parsed(r)))
                    continue
                out.append((r, t, None))
            if Path(src.name).suffix.lower() in (".csv", ".tsv", ".txt"):
                out[0][0].warn("the file name says text but the content is an Excel workbook; read as Excel")
            return out
        if container == "xls":
            raise UnreadableFile(compound_file_reason(src.data))
        if container == "zip":
            raise UnreadableFile(zip_reason(src.data))
        if container == "zip-bomb":
            raise UnreadableFile(
                "the archive declares thousands of parts (a workbook has a few dozen); refused as a possible zip bomb"
            )
        if container == "damaged-zip":
            raise UnreadableFile("this looks like a damaged Excel (.xlsx) or zip file: it cannot be opened")
        if container == "binary":
            raise UnreadableFile("this is a binary file, not a text, Excel or FHIR JSON export")
        if container == "json":
            return [(rep, None, readers.read_json(name, src.data, rep, ctx))]
        if container == "hl7v2":
            return [(rep, None, _hl7_v2_refused(src.data, rep))]
        table = read_delimited(name, src.data)
        if Path(src.name).suffix.lower() in (".xlsx", ".xlsm"):
            table.warnings.append(Problem(None, None, "the file name says Excel but the content is text; read as text"))
        rep.encoding = table.encoding
        rep.delimiter = table.delimiter
        return [(rep, table, None)]
    except UnreadableFile as exc:
        rep.error = str(exc)
        rep.format = "unreadable"
        return [(rep, None, Parsed(rep))]


def _hl7_v2_refused(data: bytes, rep: FileReport) -> Parsed:
    """An HL7 v2 message (MSH, PID, OBR, OBX ... segments) is refused whole with the reason,
    never read as a pipe-delimited table whose columns the user is asked to map: each
    segment is a row, counted and rejected."""
    text, rep.encoding, _notes = decode(data)
    segments = hl7_segments(text)
    rep.format = "HL7 v2 (not supported)"
    rep.error = HL7_V2_REFUSAL
    why = f"not imported: {HL7_V2_REFUSAL}"
    rep.reject_all(len(segments), [Problem(i, None, why, seg[:3]) for i, seg in enumerate(segments, 1)])
    return Parsed(rep)


def _process_table(raw: RawTable, rep: FileReport, ctx: Context) -> Parsed:
    rep.columns_found = list(raw.header)
    rep.warnings.extend(raw.warnings)
    if raw.num_rows == 0 and not raw.rejected:
        rep.warn("the file has a header but no data rows")
    try:
        for reader in readers.candidates(raw):
            result = reader(raw, rep, ctx)
            if result is not None:
                return result
        return _generic(raw, rep, ctx)
    except NeedsChoice as choice:
        return _not_imported(raw, rep, choice.needs, choice.message)
    except FormatError as exc:
        return _not_imported(raw, rep, "", str(exc))


def _not_imported(raw: RawTable, rep: FileReport, needs: str, message: str) -> Parsed:
    """A file that needs a choice: its rows are counted, none is imported."""
    rep.needs = needs
    rep.error = message
    not_imported = [Problem(None, None, f"not imported: {message}")] if raw.num_rows else []
    rep.reject_all(raw.num_rows + len(raw.rejected), [*not_imported, *raw.rejected])
    return Parsed(rep)


# --------------------------------------------------------------------------- generic tables


def _generic(raw: RawTable, rep: FileReport, ctx: Context) -> Parsed:
    twice = mapped_twice(raw.header, ctx.options.mapping)
    if twice:  # which column holds the field (the draw date, the patient) is never guessed
        which = "; ".join(f"the columns {', '.join(cols)} are all mapped to {f}" for f, cols in twice.items())
        raise NeedsChoice("mapping", f"{which}: keep one and set the others to 'ignore' (--map COLUMN=FIELD).")
    mapping = map_columns(raw.header, ctx.options.mapping)
    if not mapping.ok:
        found = ", ".join(raw.header[:30]) + (" ..." if len(raw.header) > 30 else "")
        flowsheet = _labs_flowsheet(raw, rep, ctx)
        if flowsheet is not None:
            return flowsheet
        if not mapping.kind and raw.sheet and (raw.num_rows == 0 or len(raw.header) < 3):
            return _sheet_skipped(raw, rep, found)
        if mapping.kind:
            what = f"a {('lab' if mapping.kind in ('labs', 'wide') else mapping.kind.rstrip('s'))} file, but no column for: {', '.join(mapping.missing)}"
        else:
            what = "no lab, dose or patient columns recognised"
        if mapping.explain and "collected_at" in mapping.missing:
            what += f" ({mapping.explain})"
        raise NeedsChoice("mapping", f"{what}. Columns found: {found}. Map them (--map COLUMN=FIELD).")
    if mapping.report_dates:
        _check_order_date(raw, mapping)
    if raw.date1904:
        _day_numbers_from_1904(raw, rep, mapping.fields)
    for note in mapping.notes:
        rep.warn(note, column=mapping.fields.get("collected_at"))
    rep.mapping = dict(mapping.fields)
    for col, m in mapping.analyte_columns.items():
        rep.mapping[m.analyte + (" %" if m.percent else "")] = col
    rep.unmapped_columns = mapping.unmapped
    if mapping.kind == "labs":
        parsed = labs_from_long(raw, rep, ctx, mapping.fields, fmt="labs (long)", date_checks=mapping.date_checks)
    elif mapping.kind == "wide":
        parsed = _labs_wide(raw, rep, ctx, mapping)
    elif mapping.kind == "doses":
        parsed = doses_from_table(raw, rep, ctx, mapping.fields, fmt="doses")
    else:
        parsed = patients_from_table(raw, rep, ctx, mapping.fields, fmt="patients")
    _keep_other_id_columns(raw, rep, mapping, parsed)
    return parsed


def _keep_other_id_columns(raw: RawTable, rep: FileReport, mapping: ColumnMapping, parsed: Parsed) -> None:
    """Keep each value of a second id column ("NHS Number" beside "MRN") as another
    identifier of the row's patient (``Parsed.aliases``), as the FHIR reader keeps a
    Patient's identifiers: the file's own row says the two ids are one person, so a dose
    sheet keyed by the NHS number is named beside the MRN in every output (H554), never
    merged and never dropped as "not used".  Said in the report."""
    id_col = mapping.fields.get("patient_id")
    if not mapping.other_ids or not id_col or id_col not in raw.columns:
        return
    pairs: dict[tuple[str, str, str], None] = {}
    for col in mapping.other_ids:
        if col not in raw.columns:
            continue
        # the distinct pairs only (a large export repeats each patient's pair on every row)
        both = pa.table({"a": pc.cast(raw.columns[id_col], pa.string()), "b": pc.cast(raw.columns[col], pa.string())})
        distinct = both.group_by(["a", "b"], use_threads=False).aggregate([])
        for pid_text, value in zip(distinct.column("a").to_pylist(), distinct.column("b").to_pylist(), strict=True):
            pid = identity.read_id((pid_text or "").strip())[0]
            other = identity.read_id((value or "").strip())[0]
            if pid and other and other != pid and not identity.id_problem(other):
                pairs.setdefault((pid, col, other), None)
        rep.unmapped_columns = [c for c in rep.unmapped_columns if c != col]
        rep.warn(
            f"column '{col}' holds another patient id beside '{id_col}': kept as each patient's other identifier "
            "(never merged), so a file keyed by it is named beside the patient"
        )
    parsed.aliases.extend(pairs)


#: The date fields a table maps.
_DATE_FIELDS = ("collected_at", "birth_date", "start", "end", "weight_date")
#: Day 0 of Excel's 1904 date system (day 0 of the 1900 system is 1899-12-30).
_EPOCH_1904 = dt.datetime(1904, 1, 1)


def _day_numbers_from_1904(raw: RawTable, rep: FileReport, fields: dict[str, str]) -> None:
    """In a workbook of the 1904 date system, a date cell is read by the workbook's
    reader, but a date written as a plain day number ("44834") counts from 1904-01-01:
    such cells of the date columns are rewritten as the date they stand for (read as
    a 1900-system number, every one would be 4 years and 1 day early)."""
    converted: dict[str, str] = {}
    for f in _DATE_FIELDS:
        src = fields.get(f)
        if not src:
            continue
        col = raw.columns[src]
        texts = col.to_pylist()
        out = []
        for t in texts:
            m = re.fullmatch(dates_mod.SERIAL, t.strip()) if t else None
            if m is None:
                out.append(t)
                continue
            when = _EPOCH_1904 + dt.timedelta(days=int(m.group("serial")) + float("0." + (m.group("frac") or "0")))
            when = when.replace(microsecond=0)
            shown = when.isoformat(" ") if when.time() != dt.time() else when.date().isoformat()
            converted.setdefault(t.strip(), shown)
            out.append(shown)
        raw.columns[src] = pa.array(out, pa.string())
    if converted:
        first = next(iter(converted.items()))
        rep.warn(
            f"the workbook uses Excel's 1904 date system: {len(converted)} date(s) written as day numbers were "
            f"counted from 1 January 1904 (e.g. {first[0]} = {first[1]})"
        )


def _check_order_date(raw: RawTable, mapping: ColumnMapping) -> None:
    """An order date stands for the draw date only if it is one per draw: when one
    patient's test has a single order date for results reported on different days
    (a standing order), it cannot, and the user must map the draw date."""
    fields = mapping.fields
    order_col = fields["collected_at"]
    keys = [c for c in (fields.get("patient_id"), fields.get("analyte"), fields.get("code")) if c]
    if not keys:
        return
    cols = {f"k{i}": raw.columns[c] for i, c in enumerate(keys)}
    cols["order"] = raw.columns[order_col]
    if fields.get("collection_time"):
        cols["order_time"] = raw.columns[fields["collection_time"]]
    # the report's day: a repeat on the same sample reported minutes later is one draw
    report = pc.utf8_trim_whitespace(raw.columns[mapping.report_dates[0]])
    cols["report"] = pc.replace_substring_regex(report, r"(?i)[ T]\d{1,2}:\d{2}(:\d{2})?(\.\d+)?\s*([ap]\.?m\.?)?$", "")
    table = pa.table(cols)
    by = [c for c in table.column_names if c != "report"]
    counts = table.group_by(by, use_threads=False).aggregate([("report", "count_distinct")])
    if pc.max(counts.column("report_count_distinct")).as_py() > 1:
        raise NeedsChoice(
            "mapping",
            f"no collection (draw) date column, and the order date column '{order_col}' repeats for results "
            f"reported on different dates ('{mapping.report_dates[0]}'): a standing order, so it cannot stand for "
            "the draw date. Map the draw-date column (--map COLUMN=collected_at), or knowingly "
            f"--map '{mapping.report_dates[0]}=collected_at'.",
        )


def _sheet_skipped(raw: RawTable, rep: FileReport, found: str) -> Parsed:
    """A workbook's cover or notes sheet: too few columns for results; its rows are counted, not imported.

    A sheet with three or more columns could hold results under headers we do not know,
    so it still asks for a mapping; a sheet of one or two columns of text cannot (a
    result needs a patient, a date and a value) and should not hold up the workbook.
    """
    why = (
        f"sheet '{raw.sheet}' has no lab, dose or patient columns and too few columns to hold results (found: {found})"
    )
    rep.format = "not a data table"
    rep.warn(f"{why}; skipped")
    rows = raw.row_numbers.to_pylist()
    not_imported = [Problem(int(r), None, f"not imported: {why}", "") for r in rows]
    rep.reject_all(len(rows) + len(raw.rejected), [*not_imported, *raw.rejected])
    return Parsed(rep)


def _when(raw: RawTable, fields: dict[str, str]) -> pa.Array:
    date = _col(raw, fields, "collected_at")
    time = _col(raw, fields, "collection_time")
    if date is None and time is not None:
        return time
    if time is not None:
        return dates_mod.combine_date_time(date, time)
    return date


def labs_from_long(
    raw: RawTable,
    rep: FileReport,
    ctx: Context,
    fields: dict[str, str],
    fmt: str,
    analyte_hint: pa.Array | None = None,
    allow_future: bool = False,
    value_fallback: pa.Array | None = None,
    decision: dates_mod.OrderDecision | None = None,
    date_checks: Sequence[tuple[str, str]] = (),
) -> Parsed:
    """A long table: one result per row.  ``decision``: the file's date order when it was
    decided on the whole file already (a streamed import reads it block by block).
    ``date_checks``: the other date columns each draw date is checked against
    (:attr:`dashboard.ingest.mapping.ColumnMapping.date_checks`)."""
    set_table_kind(rep, raw, fmt, "labs")
    n = raw.num_rows
    when = _when(raw, fields)
    birth = _col(raw, fields, "birth_date")
    if decision is None:
        decision = decide_dates(rep, [when, birth], ctx)
    else:
        rep.date_order, rep.date_order_reason = decision.order, decision.reason
    empty = pa.repeat(pa.scalar("", pa.string()), n)
    value = _col(raw, fields, "value")
    if value_fallback is not None:
        value = pc.if_else(pc.equal(value, ""), value_fallback, value) if value is not None else value_fallback
    inp = LabInput(
        file=raw.name,
        rows=raw.row_numbers,
        patient_id=_col(raw, fields, "patient_id"),
        when=when,
        test_name=_col(raw, fields, "analyte") if "analyte" in fields else empty,
        test_code=_col(raw, fields, "code"),
        value=value,
        unit=_col(raw, fields, "unit"),
        ref_range=_col(raw, fields, "ref_range"),
        ref_low=_col(raw, fields, "ref_low"),
        ref_high=_col(raw, fields, "ref_high"),
        flag=_col(raw, fields, "flag"),
        status=_col(raw, fields, "result_status"),
        specimen=_col(raw, fields, "specimen"),
        analyte_hint=analyte_hint,
        columns=dict(fields),
        value_unit=_value_header_unit(fields.get("value")),
        date_checks=[(kind, h, raw.columns[h]) for kind, h in date_checks if h in raw.columns],
        allow_future=allow_future,
        decimal="." if raw.container == "xlsx" else None,
        delimiter=raw.delimiter,
    )
    cands = normalise_labs(inp, rep, decision, ctx.options.as_of)
    cands.extra_rejected = list(raw.rejected)
    return Parsed(rep, labs=cands, identities=_lab_identities(raw, rep, ctx, fields, decision))


_IDENTITY_COLUMNS = ("name", "family_name", "given_name", "birth_date", "sex")


def _lab_identities(
    raw: RawTable, rep: FileReport, ctx: Context, fields: dict[str, str], decision: dates_mod.OrderDecision
) -> list[dict[str, Any]]:
    """The distinct (patient, name, date of birth, sex) of a lab file's rows, first row of each.

    An Epic-style export repeats the patient's name and date of birth on every row; they
    travel into the patients table (and two different ones for one MRN are reported as an
    identity conflict when the files are combined).
    """
    if "patient_id" not in fields or not any(f in fields for f in _IDENTITY_COLUMNS):
        return []
    n = raw.num_rows
    get = {f: raw.columns[fields[f]].to_pylist() if f in fields else [""] * n for f in _IDENTITY_COLUMNS}
    births, reasons = _parse_date_column(_col(raw, fields, "birth_date"), decision, ctx)
    pids = raw.columns[fields["patient_id"]].to_pylist()
    rows = raw.row_numbers.to_pylist()
    if births:  # a two-digit birth year is given no century silently (H470)
        births = settle_birth_centuries(
            rep, get["birth_date"], births, rows, fields.get("birth_date"), ctx.options.as_of
        )
    seen: dict[tuple, dict[str, Any]] = {}
    unreadable: dict[str, int] = {}
    for i in range(n):
        pid = (pids[i] or "").strip()
        if not pid:
            continue
        born = births[i] if births else None
        if births and born is None and reasons[i] not in ("", "no date"):  # "": left unknown, said (H470)
            unreadable.setdefault(get["birth_date"][i], int(rows[i]))
        name = person_name(get["name"][i], get["family_name"][i], get["given_name"][i])
        key = (pid, identity_value("name", name).casefold(), identity_value("birth_date", born))
        if key not in seen:
            seen[key] = {
                "patient_id": pid,
                "name": name,
                "birth_date": born,
                "sex": parse_sex(get["sex"][i] or "") or "",
                "source_file": rep.path,
                "source_row": int(rows[i]),
            }
    for text, row in list(unreadable.items())[:5]:
        rep.warn(f"date of birth '{text}' not understood; not used", row, fields.get("birth_date"), text)
    return list(seen.values())


def _melt(
    raw: RawTable,
    value_cols: list[str],
    per_row: dict[str, pa.Array],
    per_column: Callable[[str], dict[str, str]],
    empty_row: str,
    unread: Sequence[str] = (),
) -> tuple[dict[str, pa.Array], list[Problem]]:
    """One lab record per non-empty cell of ``value_cols`` (wide tables and flowsheets).

    Each record takes the ``per_row`` fields from its cell's row and the ``per_column``
    texts from its column; ``rows``, ``value`` and ``value_column`` are always set.
    Returns the LabInput arrays and a problem for each row whose value cells are all empty
    (naming the ``unread`` columns, those the mapping did not read, that hold something in
    that row: the value may stand there).
    """
    const_keys = list(per_column(value_cols[0])) if value_cols else []
    parts: dict[str, list[pa.Array]] = {k: [] for k in ("rows", "value", "value_column", *per_row, *const_keys)}
    any_value = None
    for col in value_cols:
        vals = raw.columns[col]
        present = pc.greater(pc.utf8_length(vals), 0)
        any_value = present if any_value is None else pc.or_(any_value, present)
        k = int(pc.sum(present).as_py() or 0)
        if not k:
            continue
        parts["rows"].append(pc.filter(raw.row_numbers, present))
        parts["value"].append(pc.filter(vals, present))
        for key, arr in per_row.items():
            parts[key].append(pc.filter(arr, present))
        for key, text in {**per_column(col), "value_column": col}.items():
            parts[key].append(pa.repeat(pa.scalar(text, pa.string()), k))
    extra = list(raw.rejected)
    if any_value is not None:
        empty = pc.invert(any_value)
        empty_rows = pc.filter(raw.row_numbers, empty).to_pylist()
        held = (
            {c: pc.filter(pc.greater(pc.utf8_length(raw.columns[c]), 0), empty).to_pylist() for c in unread}
            if empty_rows
            else {}
        )
        for i, r in enumerate(empty_rows):
            elsewhere = [c for c in unread if held[c][i]]
            why = empty_row + (
                f"; something stands in column(s) not read: {', '.join(elsewhere[:5])} (map them to read them)"
                if elsewhere
                else ""
            )
            extra.append(Problem(r, None, why))
    cells = {
        k: pa.concat_arrays(v) if v else pa.array([], pa.int64() if k == "rows" else pa.string())
        for k, v in parts.items()
    }
    return cells, extra


def _labs_wide(raw: RawTable, rep: FileReport, ctx: Context, mapping: ColumnMapping) -> Parsed:
    """A wide table: one draw per row, one column per analyte."""
    rep.format = "labs (wide)" + (" xlsx" if raw.container == "xlsx" else "")
    rep.kind = "labs"
    fields = mapping.fields
    when = _when(raw, fields)
    decision = decide_dates(rep, [when], ctx)
    analyte_of = mapping.analyte_columns
    cells, extra = _melt(
        raw,
        list(analyte_of),
        per_row={"patient_id": _col(raw, fields, "patient_id"), "when": when},
        per_column=lambda col: {
            "test_name": col,
            "unit": analyte_of[col].unit,
            "analyte_hint": analyte_of[col].analyte + ("%" if analyte_of[col].percent else ""),
        },
        empty_row="no results in this row (every analyte column is empty)",
        unread=[h for h in raw.header if h not in analyte_of and h not in set(fields.values())],
    )
    inp = LabInput(
        file=raw.name,
        **cells,
        columns=dict(fields),
        decimal="." if raw.container == "xlsx" else None,
        delimiter=raw.delimiter,
    )
    cands = normalise_labs(inp, rep, decision, ctx.options.as_of)
    cands.extra_rejected = extra
    return Parsed(rep, labs=cands)


_DATE_LIKE = re.compile(r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{2,4}|\d{1,2}[ \-][A-Za-z]{3}|[A-Za-z]{3}[a-z]* \d{1,2}")
_PATIENT_IN_PREAMBLE = re.compile(
    r"\b(?:MRN|patient id|patient number|hospital (?:no|number)|nhs (?:no|number)|unit number|pid)\b\s*[:#=]?\s*"
    r"(\d{3} \d{3} \d{4}\b|[A-Za-z0-9][A-Za-z0-9\-/]*)",  # an NHS number keeps its spaces; nothing else does
    re.IGNORECASE,
)


def _header_dates(raw: RawTable) -> list[str]:
    """Headers that are dates ("11/03/2026", "2026-11-03 08:15", "03-Nov-2026")."""
    candidates = [h for h in raw.header if _DATE_LIKE.search(h)]
    if not candidates:
        return []
    arr = pa.array(candidates, pa.string())
    ok = np.zeros(len(candidates), dtype=bool)
    for order in (dates_mod.DAYFIRST, dates_mod.MONTHFIRST):
        ok |= np.asarray(pc.is_valid(dates_mod.parse_dates(arr, order).values).to_numpy(zero_copy_only=False))
    return [h for h, good in zip(candidates, ok, strict=True) if good]


def _labs_flowsheet(raw: RawTable, rep: FileReport, ctx: Context) -> Parsed | None:
    """An EHR flowsheet: one row per test, one column per date (the transpose of a wide table).

    Recognised when at least one header is a date and another column holds test names.
    The patient comes from a patient column, else from a line above the table
    ("MRN: 00012345"); without one, the rows are rejected with the reason, never given
    a made-up patient.
    """
    date_cols = _header_dates(raw)
    others = [h for h in raw.header if h not in date_cols]
    if not date_cols or not others or not raw.num_rows:
        return None
    test_col = None
    for h in others:
        names = [v for v in raw.columns[h].to_pylist()[:200] if v]
        if names and sum(recognise_test(v) is not None for v in names) * 2 >= len(names):
            test_col = h
            break
    if test_col is None:
        return None
    field_of = {}
    for f in ("patient_id", "unit", "ref_range", "flag"):
        hits = [h for h in others if h != test_col and match_field(header_info(h), f) is not None]
        if hits:
            field_of[f] = hits[0]
    rep.format = "labs (flowsheet: one column per date)" + (" xlsx" if raw.container == "xlsx" else "")
    rep.kind = "labs"
    rep.mapping = {"analyte": test_col, **field_of, "collected_at": ", ".join(date_cols)}
    rep.unmapped_columns = [h for h in others if h != test_col and h not in field_of.values()]
    n = raw.num_rows
    if "patient_id" in field_of:
        pid = raw.columns[field_of["patient_id"]]
    else:
        found = [m.group(1).strip() for line in raw.preamble for m in [_PATIENT_IN_PREAMBLE.search(line)] if m]
        if len(set(found)) != 1:
            why = (
                "a flowsheet (one column per date) with no patient id: add a patient id column, or a line "
                "such as 'MRN: 00012345' above the table"
                if not found
                else f"a flowsheet whose lines above the table name several patients ({', '.join(sorted(set(found)))})"
            )
            return _not_imported(raw, rep, "", why)
        pid = pa.repeat(pa.scalar(found[0], pa.string()), n)
        rep.warn(f"patient id {found[0]} read from the line above the table")
    decision = decide_dates(rep, [pa.array(date_cols, pa.string())], ctx)
    per_row = {"patient_id": pid, "test_name": raw.columns[test_col]}
    per_row |= {f: raw.columns[field_of[f]] for f in ("unit", "ref_range") if f in field_of}
    cells, extra = _melt(
        raw,
        date_cols,
        per_row=per_row,
        per_column=lambda col: {"when": col},
        empty_row="no results in this row (every date column is empty)",
    )
    inp = LabInput(
        file=raw.name,
        **cells,
        columns={"patient_id": field_of.get("patient_id", "(line above the table)"), "analyte": test_col},
        decimal="." if raw.container == "xlsx" else None,
        delimiter=raw.delimiter,
    )
    cands = normalise_labs(inp, rep, decision, ctx.options.as_of)
    cands.extra_rejected = extra
    return Parsed(rep, labs=cands)


def _value_header_unit(header: str | None) -> str:
    """The unit a long table's value column names in brackets ("Result (x10^9/L)": "x10^9/L"),
    "" when none (H582)."""
    return next((p for p in split_brackets(header or "")[1] if is_unit(p)), "")


def _header_bracket_unit(header: str | None) -> str:
    if not header:
        return ""
    h = header_info(header)
    for part in h.brackets:
        return part
    tokens = h.norm.split()
    return tokens[-1] if len(tokens) > 1 else ""


def doses_from_table(
    raw: RawTable, rep: FileReport, ctx: Context, fields: dict[str, str], fmt: str, **record_defaults: Any
) -> Parsed:
    """A table of doses (intervals, or a change log when there is no end column)."""
    set_table_kind(rep, raw, fmt, "doses")
    (starts, start_err), (ends, end_err) = parse_date_columns(rep, raw, fields, ctx, ("start", "end"))
    n = raw.num_rows
    cell = mapped_cells(raw, fields)

    dose_header = fields.get("dose", "")
    dose_hdr_unit = _header_bracket_unit(dose_header)
    hdr_norm = normalize(dose_header + " " + dose_hdr_unit)
    daily_dose = any(
        w in hdr_norm.split() or w in hdr_norm for w in ("mg day", "per day", "daily", "mg d", "tagesdosis")
    )
    unit_from_header = ""
    if dose_hdr_unit:
        u = normalize(dose_hdr_unit).split()
        unit_from_header = u[0] if u and u[0] in ("mg", "g", "mcg", "ug") else ""
    records = []
    for i in range(n):
        freq = cell("frequency", i)
        freq_unit = cell("frequency_unit", i)
        if freq_unit:
            freq = f"{freq} {freq_unit}".strip()
        records.append(
            DoseRecord(
                row=int(raw.row_numbers[i].as_py()),
                patient_id=cell("patient_id", i),
                drug_text=cell("drug", i),
                start=starts[i] if starts else None,
                end=(ends[i] if ends and not end_err[i] else None),
                start_error=start_err[i] if start_err else "no start date",
                end_error=(end_err[i] if ends and end_err[i] and end_err[i] != "no date" else ""),
                dose=cell("dose", i),
                dose_unit=cell("dose_unit", i) or unit_from_header,
                frequency=freq,
                route=cell("route", i),
                status=cell("dose_status", i),
                daily_dose=daily_dose,
                columns=dict(fields),
                **record_defaults,
            )
        )
    # an end column with no date in any row says no more than no end column: both are a
    # change log, so an all-blank column never turns changes into overlapping doses
    blank_end = bool(fields.get("end")) and not any(cell("end", i) for i in range(n))
    return _dose_parsed(
        rep,
        records,
        change_log=not fields.get("end") or blank_end,
        extra=raw.rejected,
        delimiter=raw.delimiter,
        blank_end=blank_end,
        per_pair=bool(fields.get("end")) and not blank_end,
    )


def _dose_parsed(
    rep: FileReport,
    records: list[DoseRecord],
    change_log: bool,
    extra: list[Problem],
    delimiter: str = "",
    blank_end: bool = False,
    per_pair: bool = False,
) -> Parsed:
    # The dose pipeline, with its dose, frequency and instruction parsers, is loaded when
    # a dose table comes: an import of lab files alone never needs it (start-up time).
    from dashboard.ingest.doses import normalise_doses

    table, accepted = normalise_doses(DoseBatch(rep, records, change_log, delimiter, blank_end, per_pair))
    rep.settle_rows(accepted=len(accepted), rejected=len(records) - len(accepted) + len(extra))
    rep.problems.extend(extra)
    if change_log and records and blank_end:
        rep.warn(
            "the end-date column is empty in every row: read as a change log, each dose taken to last until the "
            "next change of the same drug (never as doses of one drug that overlap); give end dates if both were taken"
        )
    elif change_log and records:
        rep.warn("no end-date column: each dose is taken to last until the next change of the same drug")
    return Parsed(rep, doses=table, dose_accepted=len(accepted))


# --------------------------------------------------------------------------- combining


def _combine_doses(parts: list[Parsed]) -> pa.Table:
    """The dose rows of every file of the import, each dose once.

    The same dose given twice (:data:`~dashboard.ingest.dose_repeats.DOSE_KEY`, in one
    file or in two) is one row, as the workspace merges it: an end given by the later
    row is recorded on the row kept first, and two different ends are said, the first
    kept (:func:`~dashboard.ingest.dose_repeats.repeat_of`).  A dose of another amount
    from the same start as a dose of an earlier file is kept and said (the rows of one
    file are said by ``doses._say_overlaps``)."""
    if not parts:
        return model.empty_table("doses")
    kept: dict[tuple, tuple[int, int, dict]] = {}  # dose key -> (part, row index, row)
    by_start: dict[tuple, list[tuple[int, dict]]] = {}  # start key -> (part, row) kept
    masks: list[list[bool]] = []
    ends: list[dict[int, dt.datetime]] = []  # per part: row index -> the end recorded on it
    bases: list[dict[int, str]] = []  # per part: row index -> the start basis recorded on it (H623)
    logs: list[list[bool]] = []  # per part: each row read as part of a change log
    for n, p in enumerate(parts):
        t = p.doses
        mask: list[bool] = []
        masks.append(mask)
        ends.append({})
        bases.append({})
        logs.append([])
        if t is None:  # the caller passes only the parts with doses
            continue
        logs[n] = t.column("_log").to_pylist() if "_log" in t.column_names else [False] * t.num_rows
        for i, r in enumerate(t.select(list(model.columns("doses"))).to_pylist()):
            k = dose_key(r)
            first = kept.get(k)
            if first is None:
                kept[k] = (n, i, r)
                by_start.setdefault(start_key(r), []).append((n, r))
                mask.append(True)
                continue
            mask.append(False)
            p.report.accepted_was_duplicate()
            fn, fi, fr = first
            same_file = fn == n
            kept_from = f"row {fr['source_row']}" if same_file else fr["source_file"]
            again = repeat_of(fr["end"], r["end"], kept_from, "this row" if same_file else r["source_file"])
            if again.end is not None:
                fr["end"] = again.end
                ends[fn][fi] = again.end
            by = "this row" if same_file else r["source_file"]
            basis = basis_of(fr["start_basis"], r["start_basis"], kept_from, by)
            if basis.basis is not None:  # the cautious reading of the start (H540, H623)
                fr["start_basis"] = basis.basis
                bases[fn][fi] = basis.basis
            said = "same dose already imported"
            if not same_file:
                said += f" ({fr['source_file']} row {fr['source_row']})"
            notes = "; ".join(n for n in (again.note, basis.note) if n)
            p.report.warn(f"{said}: {notes}" if notes else said, r["source_row"])
    # another dose from the start of a dose of an earlier file, both in force (H326)
    for group in by_start.values():
        for j, (n, r) in enumerate(group):
            earlier = next((e for m, e in group[:j] if m != n and overlaps_at_start(e, r)), None)
            if earlier is not None:
                source = f"{earlier['source_file']} row {earlier['source_row']}"
                parts[n].report.warn(same_start_note(earlier, r, "", source), r["source_row"], "start")
    _open_across_files(parts, list(kept.values()), masks, ends, logs)
    keep_tables = []
    for p, mask, recorded, based in zip(parts, masks, ends, bases, strict=True):
        t = p.doses
        if t is None:
            continue
        if recorded:
            end = t.column("end").to_pylist()
            for i, when in recorded.items():
                end[i] = when
            t = t.set_column(t.schema.get_field_index("end"), "end", pa.array(end, t.schema.field("end").type))
        if based:
            basis_col = t.column("start_basis").to_pylist()
            for i, b in based.items():
                basis_col[i] = b
            at = t.schema.get_field_index("start_basis")
            t = t.set_column(at, "start_basis", pa.array(basis_col, t.schema.field("start_basis").type))
        keep_tables.append(
            t.filter(pa.array(mask, pa.bool_())).drop_columns([c for c in ("_rec", "_log") if c in t.column_names])
        )
    out = pa.concat_tables(keep_tables)
    return model.conform(
        "doses", out.sort_by([("patient_id", "ascending"), ("drug", "ascending"), ("start", "ascending")])
    )


def _open_across_files(
    parts: list[Parsed],
    kept: list[tuple[int, int, dict]],
    masks: list[list[bool]],
    ends: list[dict[int, dt.datetime]],
    logs: list[list[bool]],
) -> None:
    """A dose of a drug left open in one file while another file of the import starts the
    drug again later (probe39 F3): never summed without a word.  Where both rows were
    read as a change log (no end in any row of the drug in either file: ``doses.py``),
    the later start ends the earlier dose, as within one change log, and the later row
    says so; otherwise both are kept, read as taken together, and the later row's report
    names the earlier row and its file, as an overlap within one file is said."""
    by_pair: dict[tuple[str, str], list[tuple[int, int, dict]]] = {}
    for n, i, r in kept:
        if masks[n][i] and r["frequency"] != model.SINGLE:  # a pulse is given on its day
            by_pair.setdefault((r["patient_id"], r["drug"]), []).append((n, i, r))
    for (_pid, drug), group in by_pair.items():
        if len({n for n, _i, _r in group}) < 2:
            continue
        group.sort(key=lambda x: (x[2]["start"], x[0]))
        for k, (n, i, r) in enumerate(group):
            before = [
                (m, j, e)
                for m, j, e in group[:k]
                if m != n and e["start"] < r["start"] and (e["end"] is None or e["end"] > r["start"])
            ]
            if not before:
                continue
            rep = parts[n].report
            what = f"{dose_words(r)} from {r['start']:%Y-%m-%d}"
            if logs[n][i] and all(logs[m][j] and e["end"] is None for m, j, e in before):
                for m, j, e in before:
                    e["end"] = r["start"]
                    ends[m][j] = r["start"]
                    rep.warn(
                        f"{model.drug_label(drug)}: {e['source_file']} row {e['source_row']} ({dose_words(e)} from "
                        f"{e['start']:%Y-%m-%d}) and this row ({what}) are both change logs of this drug (no end "
                        f"dates): the dose of {e['source_file']} ends on {r['start']:%Y-%m-%d}, where this row "
                        "starts, never added to it; if both were taken together, give each row its dates",
                        r["source_row"],
                        "start",
                    )
                continue
            for _m, _j, e in before:
                rep.warn(
                    f"{model.drug_label(drug)}: doses overlap in time ({e['source_file']} row {e['source_row']}, "
                    f"{dose_words(e)} from {e['start']:%Y-%m-%d}, has no end before this row, {what}, starts): "
                    "both are read as taken together; if this row changed the dose, give the earlier row its end date",
                    r["source_row"],
                    "start",
                )


def _distinct_texts(col: pa.ChunkedArray) -> list[Any]:
    """The distinct values of a text column (nulls as None), in no particular order.  A
    dictionary chunk's are the texts of its dictionary that its codes use: a count of the
    codes, not a hashing of a million rows (the labs' patient ids come so)."""
    if not pa.types.is_dictionary(col.type):
        return pc.unique(col).to_pylist()
    out: list[Any] = []
    for chunk in col.chunks:
        if chunk.indices.null_count:  # a null id: as it is counted in the other way
            out.extend(pc.unique(chunk).to_pylist())
            continue
        codes = chunk.indices.to_numpy(zero_copy_only=False)
        used = np.bincount(codes, minlength=len(chunk.dictionary)) > 0
        out.extend(chunk.dictionary.filter(pa.array(used)).to_pylist())
    return out


def _combine_patients(
    parts: list[Parsed], labs: pa.Table, doses: pa.Table, ctx: Context
) -> tuple[pa.Table, list[IdentityConflict]]:
    """One row per patient: every patient seen anywhere, with what is known of them, and
    the MRNs that two files (or rows) give different names or dates of birth."""
    merged: dict[str, dict[str, Any]] = {}
    conflicts: dict[tuple[str, str], IdentityConflict] = {}
    for p in parts:
        if p.patients is None:  # the caller passes only the parts with patients
            continue
        for row in p.patients.to_pylist():
            pid = row["patient_id"]
            if pid not in merged:
                merged[pid] = row
                continue
            m = merge_details(merged[pid], row)
            for f in m.conflicts:
                _conflict(conflicts, f, merged[pid], row, p.report)
            if m.duplicate:
                if (pid, row["source_row"]) not in p.patient_riders:  # a rider's row is its result's (H355)
                    p.report.accepted_was_duplicate()
                continue
            merged[pid] = m.row  # the first row's provenance is kept
            if m.changed:
                p.report.warn(
                    f"patient {pid} appears again with different details; the later row is used: {'; '.join(m.changed)}",
                    row["source_row"],
                )
    for pid, conditions in ctx.diagnoses.items():
        if pid in merged and is_blank(merged[pid]["diagnosis"]):
            merged[pid]["diagnosis"] = "; ".join(conditions)
    ids = set(merged)
    for t in (labs, doses):
        if t.num_rows:
            ids.update(_distinct_texts(t.column("patient_id")))
    found = list(conflicts.values())
    if not ids:
        return model.empty_table("patients"), found
    # the patients known only by their results or doses (most of a lab export's), built
    # column by column; then every patient in the order of their ids
    unknown = sorted(ids - merged.keys())
    seen_only = pa.table(
        {
            "patient_id": pa.array(unknown, pa.string()),
            "tpmt": pa.repeat(pa.scalar("unknown"), len(unknown)),
            "nudt15": pa.repeat(pa.scalar("unknown"), len(unknown)),
            "diagnosis": pa.array(["; ".join(ctx.diagnoses.get(pid, [])) for pid in unknown], pa.string()),
        }
    )
    known = [merged[pid] for pid in sorted(merged)]
    described = pa.table(
        {f.name: [r.get(f.name) for r in known] for f in model.PATIENT_FIELDS}, schema=model.schema("patients")
    )
    table = pa.concat_tables([model.conform("patients", described), model.conform("patients", seen_only)])
    return table.take(pc.sort_indices(table, [("patient_id", "ascending")])), found


def _conflict(
    found: dict[tuple[str, str], IdentityConflict], f: str, first: dict, other: dict, report: FileReport | None
) -> None:
    """Record that ``other`` gives the patient of ``first`` another name or date of birth."""
    key = (first["patient_id"], f)
    c = found.get(key)
    if c is None:
        c = found[key] = IdentityConflict(first["patient_id"], f)
        c.values.append((identity_value(f, first[f]), first.get("source_file") or "", first.get("source_row") or 0))
    value = identity_value(f, other[f])
    if any(not differs(f, v, value) for v, _, _ in c.values):
        return
    c.values.append((value, other.get("source_file") or "", other.get("source_row") or 0))
    if report is not None:
        report.warn("identity conflict: " + c.message, other.get("source_row") or None, f)


def _with_identities(patients: pa.Table, parts: list[Parsed], conflicts: list[IdentityConflict]) -> pa.Table:
    """Fill the name, date of birth and sex the lab files give into the patients table.

    A value a patient file already gave wins; a different one is an identity conflict
    (added to ``conflicts`` and to the lab file's warnings), never a silent overwrite.
    A sex that two sources give differently is left unknown (the rules never pick one).
    """
    if not patients.num_rows or not (parts or any(c.field in RULE_FIELDS for c in conflicts)):
        return patients
    rows = {r["patient_id"]: r for r in patients.to_pylist()}
    found = {(c.patient_id, c.field): c for c in conflicts}
    changed = False
    for p in parts:
        for ident in p.identities:
            row = rows.get(ident["patient_id"])
            if row is None:
                continue
            for f in ("name", "birth_date", "sex"):
                new = ident[f]
                if is_blank(new):
                    continue
                if is_blank(row[f]):
                    row[f] = new
                    if not row.get("source_file"):
                        row["source_file"], row["source_row"] = ident["source_file"], ident["source_row"]
                    changed = True
                elif f in IDENTITY_FIELDS and differs(f, row[f], new):
                    _conflict(found, f, row, ident, p.report)
    conflicts[:] = list(found.values())
    changed |= unknown_where_conflicting(rows, conflicts)
    if not changed:
        return patients
    cols = {f.name: [r.get(f.name) for r in rows.values()] for f in model.PATIENT_FIELDS}
    return model.conform("patients", pa.table(cols, schema=model.schema("patients")))


__all__ = [
    "Context",
    "ImportOptions",
    "ImportResult",
    "NeedsChoice",
    "Parsed",
    "Source",
    "decide_dates",
    "doses_from_table",
    "import_paths",
    "import_sources",
    "labs_from_long",
    "patients_from_table",
]
