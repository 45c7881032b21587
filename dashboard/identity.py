"""Patient identity (pure): names, dates of birth, the two-identifier label, conflicts.

Every patient view shows at least two identifiers, the standard that prevents
wrong-patient errors: the name and the date of birth next to the MRN.  The layout
follows the NHS core patient identifiers standard (ISB 1077, DSCN 04/2009): the family
name in capitals before the given name ("DOE, Jane") and the date of birth as
``DD-Mmm-YYYY`` ("12-Mar-1980"), which no reader can take for 3 December.

Identity is never guessed: a name is kept as the source wrote it (only its parts are
put in order when the source gives them apart), and two files that give one MRN two
different names or dates of birth are reported as an identity conflict
(:func:`same_name`, :class:`IdentityConflict`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: The identity fields compared across files (a difference is a conflict).
IDENTITY_FIELDS: tuple[str, ...] = ("name", "birth_date", "sex")
#: Identity fields the rules read (sex: the haemoglobin limits, the cyclophosphamide
#: ovarian check; the date of birth: a child's result is never graded on the adult
#: default limits): when two sources disagree, neither value is used (see
#: :func:`unknown_where_conflicting`), so the flags never depend on the files' row order
#: (H553), and every output names both values (:func:`disputed_values`).
RULE_FIELDS: tuple[str, ...] = ("sex", "birth_date")
#: The values a clinician who checked may record for a disputed field the rules read
#: (the workspace keeps the settlement: :func:`dashboard.store.merge.settle`); an empty
#: tuple: a date (ISO, not in the future), the date of birth (H607).
SETTLED_FIELDS: dict[str, tuple[str, ...]] = {"sex": ("F", "M"), "birth_date": ()}


def person_name(full: str = "", family: str = "", given: str = "") -> str:
    """The name to store: "FAMILY, Given" from parts, else the full name as written.

    >>> person_name(family="Doe", given="Jane"), person_name("Jane Doe"), person_name(family="doe")
    ('DOE, Jane', 'Jane Doe', 'DOE')
    """
    family, given = _squash(family), _squash(given)
    if family or given:
        return ", ".join(p for p in (family.upper(), given) if p)
    return _squash(full)


def _squash(text: object) -> str:
    return re.sub(r"\s+", " ", str(text or "")).strip()


def name_tokens(name: str) -> frozenset[str]:
    """The words of a name, case and accents folded: "DOE, Jane" and "Jane Doe" are one name."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    return frozenset(w for w in re.split(r"[^a-z0-9]+", folded) if w)


def same_name(a: str, b: str) -> bool:
    """True when two non-empty names are the same words (order, case, commas aside)."""
    return name_tokens(a) == name_tokens(b)


def _day(birth: Any) -> dt.date | None:
    """A date of birth as a date (datetime, date, pandas Timestamp or numpy datetime64), or None."""
    if birth is None or birth != birth:  # None, NaN, NaT
        return None
    if isinstance(birth, dt.date):  # datetime and pandas.Timestamp too (NaT is not a date)
        return birth.date() if isinstance(birth, dt.datetime) else birth
    try:  # numpy datetime64 and other pandas scalars
        # pandas on use only: the CLI's import/review never loads it (tests/test_cli_process.py)
        import pandas as pd

        return None if pd.isna(birth) else pd.Timestamp(birth).date()
    except (ValueError, TypeError):
        return None


def birth_text(birth: Any) -> str:
    """A date of birth as ``DD-Mmm-YYYY`` ("12-Mar-1980"); "" when unknown."""
    day = _day(birth)
    return "" if day is None else f"{day.day:02d}-{day:%b}-{day.year:04d}"


def whole_years(born: dt.date, on: dt.date) -> int:
    """Completed years from ``born`` to ``on``: the age on that day (a birthday counts on the day)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def id_key(pid: str) -> str:
    """A patient id as compared with another source's identifier for the same person (a
    FHIR Patient's MRN against a dose sheet's id), and with another patient id: a number
    without its leading zeros ("0001234" and "1234" are 1234; a re-padded MRN in a later
    export, or a spreadsheet that dropped the zeros of an id typed as a number)."""
    return (pid.lstrip("0") or "0") if pid.isdigit() else pid


def _ids_by_key(ids: Iterable[str]) -> dict[str, list[str]]:
    """The distinct ``ids`` under their :func:`id_key`, each list in a stable order
    (shortest first: "1234" before "01234" before "0001234")."""
    by_key: dict[str, list[str]] = {}
    for pid in dict.fromkeys(ids):
        by_key.setdefault(id_key(pid), []).append(pid)
    return {k: sorted(v, key=lambda i: (len(i), i)) for k, v in by_key.items()}


def leading_zero_groups(ids: Iterable[str]) -> list[list[str]]:
    """The groups of patient ids that differ only by leading zeros ("1234", "0001234"):
    the one rule of the import's warning (H7) and of every output's "Another id" (H330).
    Kept apart, never merged: only the clinician can say they are one person."""
    ids = set(ids)
    # two ids meet only when one of them is all digits with a leading zero ("0012" and
    # "12", "0" and "00"): most panels have none, and their ids need no key at all
    padded = {id_key(pid) for pid in ids if pid[:1] == "0" and pid.isdigit()}
    if not padded:
        return []
    return sorted(g for g in _ids_by_key(pid for pid in ids if id_key(pid) in padded).values() if len(g) > 1)


# --------------------------------------------------------------------------- look-alike ids

#: Letters of other alphabets that look like Latin ones (the common confusables).
_CONFUSABLE = str.maketrans(
    {
        **dict(zip("АВЕЅІЈКМНОРСТУХаеѕіјорсухԛԜԝ", "ABESIJKMHOPCTYXaesijopcyxqWw", strict=True)),
        **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαικνορτυχ", "ABEZHIKMNOPTYXaiknoptux", strict=True)),
        **{d: "-" for d in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d\u2043"},
    }
)

#: Excel's text-forcing formula around an id (``="0012345"``): the text it wraps.  Today's
#: import reads it so (``dashboard/ingest/identity.py:read_id``, H551); an id stored so
#: before is compared as the text it wraps (probe44 F2, H622).
TEXT_FORMULA = re.compile(r'^="([^"]*)"$')
#: A whole number written with a zero decimal part ("12345.0", "7.00").
_WHOLE_NUMBER_AS_DECIMAL = re.compile(r"^(\d+)\.0+$")
#: A whole number written with thousands separators ("12,345", "1,234,567"): a number
#: cell formatted so and saved as CSV.
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+$")


def _ascii_digits(text: str) -> str:
    """``text`` with the decimal digits of every script written as ASCII digits (Arabic-Indic
    "١٢٣٤٥" is 12345; NFKC folds full-width digits but not these)."""
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() and not c.isascii() else c for c in text)


def skeleton(pid: str) -> str:
    """What an id looks like: compatibility forms folded (NFKC), look-alike letters of
    other alphabets made Latin and digits of other scripts made ASCII, case, spaces and
    dashes ignored (an NHS number is written "943 476 5919", "943-476-5919" or
    "9434765919" by different systems), Excel's text apostrophe ("'0012345"), the
    thousands separators of a number cell saved as text ("12,345"), the ".0" a
    spreadsheet gives a whole number typed as a number ("12345.0") and Excel's
    text-forcing formula (``="0012345"``: an id a workspace stored so before H551 looks
    like the same id read today as its text, H622)."""
    # an ASCII id (the common case) has nothing to fold but its case: a few times faster
    if pid.isascii():
        s = pid.lower()
    else:
        s = _ascii_digits(unicodedata.normalize("NFKC", pid).translate(_CONFUSABLE)).casefold()
    s = "".join(s.split()).replace("-", "")
    if s[:2] == '="':
        wrapped = TEXT_FORMULA.match(s)
        if wrapped and wrapped.group(1):
            s = wrapped.group(1)
    if s[:1] == "'":
        s = s[1:]
    if "," in s and _THOUSANDS.match(s):
        s = s.replace(",", "")
    return _WHOLE_NUMBER_AS_DECIMAL.sub(r"\1", s) if "." in s else s


def lookalike_groups(ids: Iterable[str]) -> list[list[str]]:
    """Groups of distinct ids that look alike (:func:`skeleton`; each sorted; groups
    sorted): the one rule of the import's warning and of every output's "Another id"
    (H550).  Kept apart, never merged: only the clinician can say they are one person."""
    by_skeleton: dict[str, set[str]] = {}
    for pid in ids:
        if pid:
            by_skeleton.setdefault(skeleton(pid), set()).add(pid)
    return sorted(sorted(g) for g in by_skeleton.values() if len(g) > 1)


def describe(pid: str) -> str:
    """An id with what is not plain ASCII in it named ("RА-001 (А is CYRILLIC CAPITAL LETTER A)")."""
    odd = [c for c in dict.fromkeys(pid) if not c.isascii()]
    if not odd:
        return pid
    names = ", ".join(f"{c} is {unicodedata.name(c, f'U+{ord(c):04X}')}" for c in odd[:3])
    return f"{pid} ({names})"


def alias_matches(
    aliases: Iterable[tuple[str, str, str, str]], ids: Iterable[str]
) -> list[tuple[str, str, str, str, str]]:
    """(patient id, identifier kind, value, file, other id) for each identifier a source
    gives a patient that is the id of another patient among ``ids``, leading zeros aside
    (:func:`id_key`) or written another way (:func:`skeleton`: "943 476 5919" and the NHS
    number 9434765919, H550): one person under two ids, never merged (H150)."""
    aliases = list(aliases)
    if not aliases:
        return []
    ids = list(dict.fromkeys(ids))
    by_key = _ids_by_key(ids)
    by_look: dict[str, list[str]] = {}
    for pid in ids:
        by_look.setdefault(skeleton(pid), []).append(pid)
    out: list[tuple[str, str, str, str, str]] = []
    for pid, kind, value, file in aliases:
        others = dict.fromkeys([*sorted(by_key.get(id_key(value), [])), *sorted(by_look.get(skeleton(value), []))])
        out.extend((pid, kind, value, file, other) for other in others if other != pid)
    return out


#: How a Patient.link is kept among a patient's other identifiers (its kind starts so,
#: the value is the linked record's id): "Patient.link replaced-by" (H550).
LINK_KIND = "Patient.link"


def carries(kind: str, value: str) -> str:
    """A patient's record "carries the identifier MR 0012345", or "is linked to record
    new (Patient.link replaced-by)"."""
    if kind.startswith(LINK_KIND):
        return f"is linked to record {value} ({kind})"
    return f"carries the identifier {kind} {value}"


def shared_identifiers(aliases: Iterable[tuple[str, str, str, str]]) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The identifiers (an MRN, an NHS number) that two or more patients carry, compared
    as written another way aside (:func:`skeleton`): (the value as first seen, [(patient
    id, kind, file) ...] sorted by patient id).  One person under two records, or one
    identifier given to two people: an id that means two things (H552).  Links
    (:data:`LINK_KIND`) name a record, not an identifier, and are left out."""
    by_value: dict[str, tuple[str, dict[str, tuple[str, str, str]]]] = {}
    for pid, kind, value, file in aliases:
        if not value or kind.startswith(LINK_KIND):
            continue
        _first, carriers = by_value.setdefault(skeleton(value), (value, {}))
        carriers.setdefault(pid, (pid, kind, file))
    return [(value, sorted(c.values())) for value, c in by_value.values() if len(c) > 1]


def other_ids_by_patient(aliases: Iterable[tuple[str, str, str, str]], ids: Iterable[str]) -> dict[str, list[str]]:
    """What every output says of a patient who may be one person with another patient of
    the panel: a record of one carries, as an identifier (an MRN, an NHS number), the
    other's id (leading zeros or spaces, dashes and case aside, :func:`alias_matches`,
    H150, H550), or is linked to it (FHIR Patient.link, H550); two patients carry the same
    identifier (:func:`shared_identifiers`, H552); the two ids differ only by leading zeros
    (:func:`leading_zero_groups`, H330: "0001234" in this month's export beside "1234"
    kept last month); or they look alike (:func:`lookalike_groups`, H550: "943 476 5919"
    beside "9434765919", "ab12" beside "AB12").  Per patient id, its sentences (both
    patients of a pair have one); patients without any are left out.  ``aliases``:
    (patient id, what the identifier is, its value, file), as the import found them.  The
    one wording of the Patient page, the PDF, the Panel, the panel export and the CLI
    review."""
    ids = list(ids)
    aliases = list(aliases)
    notes: dict[str, list[str]] = {}
    for pid, kind, value, file, other in alias_matches(aliases, ids):
        notes.setdefault(pid, []).append(
            f"This patient's record in {file} {carries(kind, value)}, which is the id of another "
            f"patient here (MRN {other}): one person may be under two ids, kept apart; their doses and results "
            "never meet, so check and look at both"
        )
        notes.setdefault(other, []).append(
            f"Patient {pid} ({file}) {carries(kind, value)}, this patient's id: one person may be "
            f"under two ids, kept apart; their doses and results never meet, so check and look at MRN {pid} too"
        )
    present = set(ids)
    for value, carriers in shared_identifiers(aliases):
        for pid, kind, file in carriers:
            if pid not in present:
                continue
            for other, other_kind, other_file in carriers:
                if other != pid and other in present:
                    notes.setdefault(pid, []).append(
                        f"This patient's record in {file} carries the identifier {kind} {value}, as does patient "
                        f"{other} ({other_file}, {other_kind}): one person under two records, or one identifier "
                        "given to two people; kept apart, their doses and results never meet, so check and look "
                        f"at MRN {other} too"
                    )
    for group in leading_zero_groups(ids):
        for pid in group:
            for other in (o for o in group if o != pid):
                notes.setdefault(pid, []).append(
                    f"This patient's id {pid} and MRN {other} differ only by leading zeros (an export that pads "
                    "or drops them): one person may be under two ids, kept apart; their doses, results and "
                    f"reviews never meet, so check and look at MRN {other} too"
                )
    for group in lookalike_groups(ids):
        for pid in group:
            for other in (o for o in group if o != pid):
                notes.setdefault(pid, []).append(
                    f"This patient's id {describe(pid)} and MRN {describe(other)} look alike (they differ only by "
                    'case, spaces, dashes, letters or digits of another script, or a spreadsheet\'s ".0", '
                    'thousands commas, text apostrophe or text formula ="..."): one person may be under two ids, '
                    "kept apart; their "
                    f"doses, results and reviews never meet, so check and look at MRN {other} too"
                )
    return {pid: list(dict.fromkeys(said)) for pid, said in notes.items()}


def other_id_notes(
    patient_id: str, aliases: Iterable[tuple[str, str, str, str]], patient_ids: Iterable[str]
) -> list[str]:
    """What the patient's page says when this patient and another of the panel may be one
    person under two ids (:func:`other_ids_by_patient`), [] when none."""
    return other_ids_by_patient(aliases, patient_ids).get(patient_id, [])


def birthday(born: dt.date, years: int) -> dt.date:
    """The day of the ``years``-th birthday (born on 29 February: 1 March of a common year,
    the first day :func:`whole_years` counts the new year)."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        return dt.date(born.year + years, 3, 1)


def age_years(birth: Any, on: dt.date) -> int | None:
    """Whole years of age on ``on`` (None when the birth date is unknown)."""
    b = _day(birth)
    return None if b is None else whole_years(b, on)


def patient_label(patient_id: str, name: str = "", birth: Any = None, age: float = math.nan) -> str:
    """The two-identifier label: "DOE, Jane · 12-Mar-1980 · MRN 10023456".

    Without a date of birth the age given by the source stands in ("age 54"); what is
    not known is left out, and the MRN is always there.
    """
    parts = [name] if name else []
    born = birth_text(birth)
    if born:
        parts.append(born)
    elif age is not None and not (isinstance(age, float) and math.isnan(age)):
        parts.append(f"age {age:g}")
    parts.append(f"MRN {patient_id}")
    return " · ".join(parts)


# --------------------------------------------------------------------------- conflicts


@dataclass
class IdentityConflict:
    """One MRN given two different names, dates of birth or sexes (by two files or two rows)."""

    patient_id: str
    field: str  # "name", "birth_date" or "sex"
    # dataclasses.field: the name ``field`` is this class's attribute above
    values: list[tuple[str, str, int]] = dataclasses.field(default_factory=list)  # (value, file, row)
    #: a clinician's settlement, in words ("'F' by Dr A on 04 Dec 2026: checked with the
    #: patient"); the settled value is then the one used
    settled: str = ""
    settled_value: str = ""

    @property
    def message(self) -> str:
        what = {"name": "names", "birth_date": "dates of birth", "sex": "recorded sexes"}.get(self.field, self.field)
        seen = "; ".join(f"'{v}' in {f}" + (f" row {r}" if r else "") for v, f, r in self.values)
        if self.settled:
            then = f"settled as {self.settled}; that value is used"
        elif self.field == "birth_date":
            then = (
                "neither is used: the rules treat the age as unknown (the adult default limits apply, with no "
                "child's note) and every output names both dates, until the date of birth is corrected at the source"
            )
        elif self.field in RULE_FIELDS:
            then = (
                "neither is used: the rules treat the sex as unknown (the lower haemoglobin limit; the "
                "cyclophosphamide ovarian check applies) until a clinician who checked records it"
            )
        else:
            then = "the first is shown"
        return (
            f"patient {self.patient_id} has two {what} ({seen}). Check that these are the same patient "
            f"before relying on their results; {then}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "patient_id": self.patient_id,
            "field": self.field,
            "values": [{"value": v, "file": f, "row": r} for v, f, r in self.values],
            "settled": self.settled,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IdentityConflict:
        return cls(
            str(d.get("patient_id", "")),
            str(d.get("field", "")),
            [(str(v.get("value", "")), str(v.get("file", "")), int(v.get("row") or 0)) for v in d.get("values", [])],
            str(d.get("settled", "")),
        )


def leave_unknown(row: dict[str, Any] | None, fields: Iterable[str]) -> bool:
    """Blank, in a patient ``row``, each of ``fields`` (fields two sources give differently)
    that the rules read (:data:`RULE_FIELDS`): they never pick one.  True if any changed."""
    if row is None:
        return False
    blanked = [f for f in fields if f in RULE_FIELDS and row.get(f)]
    for f in blanked:
        row[f] = unknown_value(f)
    return bool(blanked)


def unknown_value(field_name: str) -> Any:
    """What an identity field holds when it is unknown (a date of birth: None; text: "")."""
    return None if field_name == "birth_date" else ""


def disputed_values(conflicts: Iterable[IdentityConflict], field_name: str) -> dict[str, str]:
    """Per patient id, what every output shows in place of a field the rules leave unknown
    because two sources disagree (:data:`RULE_FIELDS`, not settled): "disputed: 01-May-2016
    (patients.csv row 2) or 01-May-1976 (patients.csv row 3)", never one value as fact (H553)."""
    out: dict[str, str] = {}
    for c in conflicts:
        if c.field != field_name or c.settled or len(c.values) < 2:
            continue
        shown = [
            (birth_text(dt.date.fromisoformat(v)) if field_name == "birth_date" and _ISO_DAY.match(v) else v)
            + f" ({f}"
            + (f" row {r}" if r else "")
            + ")"
            for v, f, r in c.values
        ]
        out[c.patient_id] = "disputed: " + " or ".join(shown)
    return out


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def conflict_notes(conflicts: Iterable[IdentityConflict]) -> dict[str, list[str]]:
    """Per patient id, the words of each identity conflict (:attr:`IdentityConflict.message`):
    what the CLI review and the PDF say beside the patient (H553)."""
    out: dict[str, list[str]] = {}
    for c in conflicts:
        out.setdefault(c.patient_id, []).append(c.message)
    return {pid: list(dict.fromkeys(said)) for pid, said in out.items()}


def unknown_where_conflicting(rows: dict[str, dict[str, Any]], conflicts: list[IdentityConflict]) -> bool:
    """:func:`leave_unknown` for every conflict, in ``rows`` (patient id -> patient row)."""
    return any([leave_unknown(rows.get(c.patient_id), [c.field]) for c in conflicts])


def identity_value(field_name: str, value: Any) -> str:
    """The text an identity field is compared and reported by ("" when not given)."""
    if field_name == "birth_date":
        day = _day(value)
        return day.isoformat() if day is not None else ""
    return _squash(value)


def differs(field_name: str, a: Any, b: Any) -> bool:
    """True when two known values of an identity field disagree (a blank never does)."""
    x, y = identity_value(field_name, a), identity_value(field_name, b)
    if not x or not y:
        return False
    return not same_name(x, y) if field_name == "name" else x != y
