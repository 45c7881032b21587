"""How a table of a known export is recognised: by its header alone.

One place for the header shapes of the exports with their own reader (MIMIC-III/IV,
Synthea CSV, SMART sample patients).  :mod:`dashboard.ingest.readers` tries a format's
reader only when its shape matches, so a reader module is loaded only when a table of
its format comes; each reader checks the same shape again, so it is safe to call alone.
Header names are compared case-insensitively and without surrounding spaces (MIMIC-III
writes them in upper case, MIMIC-IV in lower case).
"""

from __future__ import annotations

from dashboard.ingest.tabular import RawTable


def header_index(raw: RawTable) -> dict[str, str]:
    """Upper-cased header name -> the header as written (MIMIC-III is upper, IV lower)."""
    return {h.strip().upper(): h for h in raw.header}


def has_columns(raw: RawTable, *names: str) -> bool:
    idx = header_index(raw)
    return all(n.upper() in idx for n in names)


# --------------------------------------------------------------------------- MIMIC

#: Columns only MIMIC-IV tables have (besides subject_id): icu stays, eMAR, order entry,
#: pharmacy, microbiology, transfers, diagnoses/procedures, caregivers.
MIMIC4_MARKERS = (
    "STAY_ID",
    "EMAR_ID",
    "POE_ID",
    "PHARMACY_ID",
    "MICROEVENT_ID",
    "TRANSFER_ID",
    "ICD_CODE",
    "CAREGIVER_ID",
)


def is_mimic_d_labitems(raw: RawTable) -> bool:
    return has_columns(raw, "ITEMID", "LABEL", "FLUID") and not has_columns(raw, "VALUE")


def is_mimic_labevents(raw: RawTable) -> bool:
    return (
        has_columns(raw, "ITEMID", "CHARTTIME", "VALUE", "VALUEUOM")
        and (has_columns(raw, "SUBJECT_ID") or has_columns(raw, "HADM_ID"))
        and not has_columns(raw, "ICUSTAY_ID")
        and not has_columns(raw, "STAY_ID")
    )


def is_mimic_prescriptions(raw: RawTable) -> bool:
    return has_columns(raw, "DRUG", "DOSE_VAL_RX", "DOSE_UNIT_RX") and (
        has_columns(raw, "STARTDATE") or has_columns(raw, "STARTTIME")
    )


def is_mimic_admissions(raw: RawTable) -> bool:
    return has_columns(raw, "SUBJECT_ID", "HADM_ID", "ADMITTIME", "DISCHTIME")


def is_mimic_patients(raw: RawTable) -> bool:
    return has_columns(raw, "SUBJECT_ID", "GENDER") and (has_columns(raw, "DOB") or has_columns(raw, "ANCHOR_AGE"))


def is_other_mimic(raw: RawTable) -> bool:
    """Another MIMIC table (chartevents, icustays ...): MIMIC's own id columns."""
    if not has_columns(raw, "SUBJECT_ID"):
        return False
    if has_columns(raw, "ROW_ID"):  # every MIMIC-III table starts with ROW_ID
        return True
    return any(has_columns(raw, m) for m in MIMIC4_MARKERS)


def is_mimic_dictionary(raw: RawTable) -> bool:
    """A lab dictionary (``d_labitems``): read before the files that use it."""
    return is_mimic_d_labitems(raw)


def mimic_needs_links(raw: RawTable) -> bool:
    """A lab extract with HADM_ID but no SUBJECT_ID: read after the tables that link them."""
    return is_mimic_labevents(raw) and not has_columns(raw, "SUBJECT_ID")


# --------------------------------------------------------------------------- SMART

SMART_MEDS_COLUMNS = ("PID", "START_DATE", "END_DATE", "RXNORM", "NAME", "SIG", "Q_TO_TAKE_VALUE", "FREQUENCY_VALUE")


def is_smart_meds(raw: RawTable) -> bool:
    return has_columns(raw, *SMART_MEDS_COLUMNS)


# --------------------------------------------------------------------------- Synthea

SYNTHEA_OBSERVATION_COLUMNS = ("DATE", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "VALUE", "UNITS")
SYNTHEA_MEDICATION_COLUMNS = ("START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION")
SYNTHEA_PATIENT_COLUMNS = ("Id", "BIRTHDATE", "GENDER", "FIRST", "LAST")
SYNTHEA_CONDITION_COLUMNS = ("START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION")
#: Every column a conditions.csv may have (newer Synthea versions add SYSTEM); a wider
#: header with these columns is another Synthea table (allergies, careplans ...).
SYNTHEA_CONDITION_HEADER = frozenset({*SYNTHEA_CONDITION_COLUMNS, "SYSTEM"})


def is_synthea_observations(raw: RawTable) -> bool:
    return has_columns(raw, *SYNTHEA_OBSERVATION_COLUMNS) and not has_columns(raw, "START")


def is_synthea_medications(raw: RawTable) -> bool:
    # DISPENSES since Synthea 2; older exports have REASONCODE but, unlike careplans.csv, no Id
    return (
        has_columns(raw, *SYNTHEA_MEDICATION_COLUMNS)
        and not has_columns(raw, "VALUE")
        and (has_columns(raw, "DISPENSES") or (has_columns(raw, "REASONCODE") and not has_columns(raw, "Id")))
    )


def is_synthea_conditions(raw: RawTable) -> bool:
    return has_columns(raw, *SYNTHEA_CONDITION_COLUMNS) and set(header_index(raw)) <= SYNTHEA_CONDITION_HEADER


def is_synthea_patients(raw: RawTable) -> bool:
    return has_columns(raw, *SYNTHEA_PATIENT_COLUMNS)
