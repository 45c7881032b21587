"""Patient ids that display as another id.

An id is the one thing that puts a result under the right patient.  Characters that
change how an id displays without being seen make two patients look like one:

* a right-to-left override (U+202E) shows ``\\u202e100-AR`` as "RA-001", next to the
  real RA-001, with a neutrophil count of 0.3 that is not hers;
* zero-width characters, soft hyphens, control characters, invisible "letters" (Hangul
  fillers, the blank Braille pattern) and variation selectors are invisible;
* a non-breaking space inside an id looks like an ordinary space.

Such ids are rejected with the reason (never silently cleaned, which could merge two
patients), as is an id a spreadsheet turned into a number in exponent form ("9.43477E+09":
its last digits are gone, and 9434765919 and 9434765870 both display so).  Spaces of any kind at the start or end of an id (a non-breaking space
pasted from a web page) are stripped and the report says so.  Ids that differ only by
case, by letters of another alphabet that look Latin (Cyrillic "А" in "RА-001"), by
spaces or by dashes ("943 476 5919" and "9434765919") are kept apart and named together in the report, as ids that differ
only by leading zeros are (hazard H7).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from dashboard.identity import TEXT_FORMULA, describe, lookalike_groups, skeleton

#: Characters that change the direction text is shown in.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
#: Invisible characters that are letters or marks by category, not format characters.
_INVISIBLE_OTHERS = "\u034f\u115f\u1160\u17b4\u17b5\u180e\u2800\u3164\uffa0"

#: The longest patient id kept: twice the 64 characters of a FHIR id (a UUID is 36, an
#: NHS number 10).  A longer "id" is a pasted note or a damaged export, not a patient.
MAX_ID_LENGTH = 128

#: A spreadsheet error value standing where the id should be (a lookup that failed in the
#: export: ``=VLOOKUP(...)`` gives ``#N/A``): it names no patient, and every row holding it
#: would otherwise be one patient "#N/A".
#: (and a formula the workbook never computed, as the Excel reader writes it: xlsx.NOT_COMPUTED)
SPREADSHEET_ERROR = (
    r"^#(?:N/A|REF!|VALUE!|DIV/0!|NAME\?|NULL!|NUM!|SPILL!|CALC!|GETTING_DATA|FORMULA NEVER COMPUTED(?: =.*)?)$"
)

#: A spreadsheet boolean standing where the id should be (a TRUE/FALSE cell, written as
#: the Excel reader and spreadsheets write it): a yes/no, never a patient.
SPREADSHEET_BOOLEAN = r"^(?:TRUE|FALSE)$"

#: An id a spreadsheet turned into a number and wrote in exponent form ("9.43477E+09",
#: "1.23E+05", "1E+11"; "9,43477E+09" where the decimal is a comma): the digits after the
#: sixth are gone, so two patients' ids can become one (9434765919 and 9434765870 both
#: display as 9.43477E+09).  Every writer of this form gives the exponent its sign.
EXPONENT_FORM = r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]\d{1,3}$"

#: A spreadsheet's summary label standing where the id should be: the row of a total,
#: an average or a count under the patients' rows ("Average", "Grand Total", "Count",
#: Excel's Subtotal rows "001 Total", a pivot table's "Sum of Result"); its numbers are
#: of many patients, and it names none (H467).
SUMMARY_LABEL = (
    r"(?i:^(?:(?:grand\s+)?(?:total|totals|sub-?\s?totals?|average|avg|mean|median|sum|count|min|max|minimum"
    r"|maximum|std\.?\s?dev\.?|standard\s+deviation)"
    r"|.+\s(?:total|average|count)"
    r"|(?:sum|count|average|avg|mean|min|max)\s+of\s.+)\s*:?$)"
)

#: A pattern matching every id rejected (used with Arrow's RE2 on whole columns, and
#: with ``re`` on single ids): one of the characters of the class - controls, format
#: characters (bidi controls, zero-width characters, soft hyphen, BOM ...), private-use
#: and unassigned-looking ranges, line and paragraph separators, spaces other than the
#: ordinary space, variation selectors and invisible letters - or more than
#: :data:`MAX_ID_LENGTH` characters, or a whole id that is a :data:`SPREADSHEET_ERROR`, a
#: :data:`SPREADSHEET_BOOLEAN`, a number in :data:`EXPONENT_FORM` or a :data:`SUMMARY_LABEL`.
REJECTED_CLASS = (
    "["
    "\\x00-\\x1f\\x7f-\\x9f"  # C0 and C1 controls
    "\\x{00a0}\\x{00ad}\\x{1680}\\x{2000}-\\x{200f}\\x{2028}-\\x{202f}\\x{205f}-\\x{206f}\\x{3000}\\x{feff}"
    "\\x{061c}\\x{034f}\\x{115f}\\x{1160}\\x{17b4}\\x{17b5}\\x{180e}\\x{2800}\\x{3164}\\x{ffa0}"
    "\\x{fe00}-\\x{fe0f}\\x{e000}-\\x{f8ff}\\x{fff0}-\\x{fffb}"
    "\\x{e0000}-\\x{e0fff}\\x{f0000}-\\x{10ffff}"
    "]"
    f"|.{{{MAX_ID_LENGTH + 1}}}"
    f"|{SPREADSHEET_ERROR}"
    f"|{SPREADSHEET_BOOLEAN}"
    f"|{EXPONENT_FORM}"
    f"|{SUMMARY_LABEL}"
)


def _python_class() -> re.Pattern[str]:
    # the same class in Python's syntax (\\x{...} is RE2's)
    def conv(m: re.Match[str]) -> str:
        return f"\\U{int(m.group(1), 16):08x}"

    return re.compile(re.sub(r"\\x\{([0-9a-f]+)\}", conv, REJECTED_CLASS))


_REJECTED = _python_class()


_CONTROL_NAMES = {
    0x00: "NUL",
    0x07: "BELL",
    0x08: "BACKSPACE",
    0x09: "TAB",
    0x0A: "LINE FEED",
    0x0B: "VERTICAL TAB",
    0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN",
    0x1B: "ESCAPE",
    0x7F: "DELETE",
}


def char_name(ch: str) -> str:
    """ "ESCAPE (U+001B)", "RIGHT-TO-LEFT OVERRIDE (U+202E)"."""
    name = _CONTROL_NAMES.get(ord(ch)) or unicodedata.name(ch, "") or "a control character"
    return f"{name} (U+{ord(ch):04X})"


@functools.lru_cache(maxsize=65_536)
def id_problem(pid: str) -> str:
    """Why a patient id cannot be used ("" when it can), naming the character (judged
    once per distinct id: a dose or patient file asks once per row)."""
    bad = _REJECTED.search(pid)
    if bad is None:
        return ""
    if re.fullmatch(SPREADSHEET_ERROR, pid):
        return f"the patient id is the spreadsheet error {pid}, not an id: fix the id (or the formula) at the source"
    if re.fullmatch(SPREADSHEET_BOOLEAN, pid):
        return (
            f"the patient id is the spreadsheet value {pid} (a yes/no cell), not an id: "
            "check the column and fix the id at the source"
        )
    if re.fullmatch(EXPONENT_FORM, pid):
        return exponent_form_problem(pid)
    if re.fullmatch(SUMMARY_LABEL, pid):
        return (
            f"the patient id '{pid}' is a spreadsheet's summary label (a total, average or count row), "
            "not a patient: the row is not imported"
        )
    if len(bad.group(0)) > 1:
        return (
            f"the patient id is {len(pid)} characters long, more than any id system writes "
            f"(at most {MAX_ID_LENGTH} kept): text pasted into the id column, or a damaged export?"
        )
    ch = bad.group(0)
    what = char_name(ch)
    if ch in BIDI_CONTROLS:
        return (
            f"the patient id holds a right-to-left or other direction control, {what}, that makes it display "
            "as another id: fix the id at the source"
        )
    if unicodedata.category(ch) == "Zs" or ch in "\u2028\u2029":
        return f"the patient id holds a special space, {what}, that looks like an ordinary space: fix the id"
    if unicodedata.category(ch) == "Cc":
        return f"the patient id holds a control character, {what}: fix the id at the source"
    return f"the patient id holds an invisible character, {what}, that can make it look like another id: fix the id"


#: The characters of :data:`REJECTED_CLASS` alone (no length or spreadsheet forms), in
#: Python's syntax: what a name may not hold either (spaces of any kind are squashed into
#: one ordinary space before, by ``dashboard.identity.person_name``).
_HIDING = re.compile(_python_class().pattern.split("]|", 1)[0] + "]")


def visible(text: str) -> str:
    """``text`` with each character that hides or disguises written as its code ("<U+202E>HTIMS")."""
    return _HIDING.sub(lambda m: f"<U+{ord(m.group(0)):04X}>", text)


def name_problem(name: str) -> str:
    """Why a patient name cannot be shown ("" when it can): it holds a character that hides
    or disguises, as a patient id may not (H21, H140), named."""
    bad = _HIDING.search(name)
    if bad is None:
        return ""
    ch = bad.group(0)
    if ch in BIDI_CONTROLS:
        kind = "a right-to-left or other direction control"
    elif unicodedata.category(ch) == "Cc":
        kind = "a control character"
    else:
        kind = "an invisible character"
    return (
        f"the patient name holds {kind}, {char_name(ch)}, that can make it display as another name: "
        "name left out (the patient is kept under the id); fix the name at the source"
    )


def exponent_form_problem(pid: str) -> str:
    """Why an id in a spreadsheet's exponent form names no one patient, with the ids it
    could stand for when it is a whole number ("9.43477E+09": 9434765000 to 9434774999)."""
    could_be = ""
    try:
        shown = Decimal(pid.replace(",", "."))
    except InvalidOperation:
        shown = None
    if shown is not None and shown > 0:
        exponent = shown.as_tuple().exponent
        if isinstance(exponent, int) and exponent > 0:
            half = Decimal(5) * Decimal(10) ** (exponent - 1)
            low, high = int(shown - half), int(shown + half) - 1
            could_be = f" ({pid} stands for any id from {low} to {high})"
    return (
        f"the patient id {pid} is a number in a spreadsheet's exponent form: the spreadsheet turned the id "
        f"into a number and dropped its last digits{could_be}, so it cannot name one patient: "
        "export the id column as text and import it again"
    )


def clean_id(pid: str) -> tuple[str, str, str]:
    """(id, problem, note): the id with spaces of any kind stripped from its ends (said in
    the note), read as its text (:func:`read_id`, said too), and why it cannot be used when
    it holds a character that hides or disguises."""
    stripped = pid.strip()
    note = f"spaces such as a non-breaking space around patient id '{stripped}' removed" if stripped != pid else ""
    read, said = read_id(stripped)
    note = "; ".join(n for n in (note, said) if n)
    return read, id_problem(read), note


#: What may need :func:`read_id` (for Arrow's RE2 over a whole column of distinct ids):
#: the text-forcing wrapper, or any character beyond ASCII (a normalisation form).
NEEDS_READING = r'^="|[^\x00-\x7f]'


def read_id(pid: str) -> tuple[str, str]:
    """(id, note): an id as the text it stands for, with what was done in words ("" when
    nothing).  Excel's text-forcing wrapper ``="0012345"`` is the literal text 0012345
    (the wrapper exists to keep the zeros); an id written in decomposed Unicode ("JOSE"
    and a combining acute accent) is the same text as its composed form ("JOSÉ", NFC),
    so it is read composed: two spellings of one text are one id, not two look-alike
    patients (H551).  Neither is a guess: both name exactly one text."""
    notes = []
    wrapped = TEXT_FORMULA.match(pid)  # Excel's text-forcing wrapper (H551, H622)
    if wrapped and wrapped.group(1).strip():
        notes.append(f"patient id {pid} is a spreadsheet's text-forcing formula: read as the text {wrapped.group(1)}")
        pid = wrapped.group(1)
    if not pid.isascii() and not unicodedata.is_normalized("NFC", pid):
        composed = unicodedata.normalize("NFC", pid)
        notes.append(
            f"patient id {describe(composed)} was written with decomposed accents (Unicode NFD): read in its "
            "composed form (NFC), the same text"
        )
        pid = composed
    return pid, "; ".join(notes)


# --------------------------------------------------------------------------- look-alikes


def mixes_alphabets(pid: str) -> bool:
    """True for an id with Latin letters and letters of another alphabet ("RА-001")."""
    scripts = {unicodedata.name(c, "").split(" ")[0] for c in pid if c.isalpha()}
    return "LATIN" in scripts and len(scripts - {"LATIN"}) > 0


__all__ = [
    "BIDI_CONTROLS",
    "EXPONENT_FORM",
    "MAX_ID_LENGTH",
    "REJECTED_CLASS",
    "SPREADSHEET_ERROR",
    "char_name",
    "clean_id",
    "describe",
    "exponent_form_problem",
    "id_problem",
    "lookalike_groups",
    "mixes_alphabets",
    "name_problem",
    "read_id",
    "skeleton",
    "visible",
]
