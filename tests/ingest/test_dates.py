"""Dates: formats, day/month order decided by the file or the user, never guessed."""

import datetime as dt

import pyarrow as pa
import pytest

from dashboard.ingest.dates import (
    DAYFIRST,
    MONTHFIRST,
    DateOrderConflict,
    DateOrderNeeded,
    decide_order,
    parse_dates,
)

TODAY = dt.date(2026, 11, 25)


def parse(texts, order=DAYFIRST):
    p = parse_dates(pa.array(texts), order, TODAY)
    return p.values.to_pylist(), p.reason.to_pylist()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05", dt.datetime(2024, 3, 5)),
        ("2024-03-05T08:30:00Z", dt.datetime(2024, 3, 5, 8, 30)),
        ("2024-03-05T08:30:00.123+01:00", dt.datetime(2024, 3, 5, 8, 30)),
        ("2024-03-05 08:30", dt.datetime(2024, 3, 5, 8, 30)),
        ("2024/03/05", dt.datetime(2024, 3, 5)),
        ("20240305", dt.datetime(2024, 3, 5)),
        ("05-Mar-2024", dt.datetime(2024, 3, 5)),
        ("5 Mar 2024", dt.datetime(2024, 3, 5)),
        ("Mar 5, 2024", dt.datetime(2024, 3, 5)),
        ("5. März 2024", dt.datetime(2024, 3, 5)),
        ("45356", dt.datetime(2024, 3, 5)),  # Excel serial
        ("45356.5", dt.datetime(2024, 3, 5, 12)),
        ("3/4/24 2:30 PM", dt.datetime(2024, 4, 3, 14, 30)),
    ],
)
def test_formats(text, expected):
    values, reasons = parse([text])
    assert reasons == [""]
    assert values == [expected]


def test_day_first_and_month_first_read_the_same_text_differently():
    assert parse(["05/03/2024"], DAYFIRST)[0] == [dt.datetime(2024, 3, 5)]
    assert parse(["05/03/2024"], MONTHFIRST)[0] == [dt.datetime(2024, 5, 3)]
    assert parse(["05.03.2024"], DAYFIRST)[0] == [dt.datetime(2024, 3, 5)]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("31/02/2024", "day 31"),
        ("2024-13-01", "month 13"),
        ("2024-02-30", "day 30"),
        ("garbage", "not recognised"),
        ("", "no date"),
        ("2024-03-05 25:00", "time"),
    ],
)
def test_impossible_dates_are_rejected_with_reason(text, words):
    values, reasons = parse([text])
    assert values == [None]
    assert words in reasons[0]


def test_leap_day():
    assert parse(["29/02/2024"])[0] == [dt.datetime(2024, 2, 29)]
    assert parse(["29/02/2023"])[0] == [None]


def test_order_settled_by_a_day_above_12():
    d = decide_order([pa.array(["01/02/2024", "13/02/2024"])])
    assert d.order == DAYFIRST and "13/02/2024" in d.reason
    d = decide_order([pa.array(["01/02/2024", "02/13/2024"])])
    assert d.order == MONTHFIRST


def test_order_ambiguous_needs_a_choice():
    with pytest.raises(DateOrderNeeded) as exc:
        decide_order([pa.array(["01/02/2024", "03/04/2024"])])
    assert exc.value.example in ("01/02/2024", "03/04/2024")
    assert decide_order([pa.array(["01/02/2024"])], "monthfirst").order == MONTHFIRST


def test_order_conflict():
    with pytest.raises(DateOrderConflict):
        decide_order([pa.array(["13/01/2024", "01/13/2024"])])


def test_iso_and_dotted_need_no_choice():
    assert decide_order([pa.array(["2024-01-02"])]).order == "ISO"
    assert decide_order([pa.array(["01.02.2024", "03.04.2024"])]).order == DAYFIRST
    assert decide_order([pa.array(["12/12/2024"])]).order == DAYFIRST  # day == month


def test_order_decided_across_columns():
    # the end column settles the order for the start column
    d = decide_order([pa.array(["01/02/2024"]), pa.array(["25/02/2024"])])
    assert d.order == DAYFIRST


def test_two_digit_years():
    p = parse_dates(pa.array(["9/21/75", "3/4/24"]), MONTHFIRST, TODAY)
    assert p.values.to_pylist() == [dt.datetime(1975, 9, 21), dt.datetime(2024, 3, 4)]
    assert p.two_digit_years == 2


# --------------------------------------------------------------------------- fast path parity


def _general(texts, order, today=TODAY, window=True):
    """What the general parser reads, with the one check parse_dates makes on top of any
    parser (a year-month-day date among day-first ones that may be swapped, H183)."""
    from dashboard.ingest.dates import _parse_general, _swapped_by_a_spreadsheet

    arr = pa.array(texts, pa.string())
    p = _parse_general(arr, order, today, window)
    if order != "ISO":
        p = _swapped_by_a_spreadsheet(arr, order, p)
    return p.values.to_pylist(), p.reason.to_pylist(), p.two_digit_years


FIXED_WIDTH = [
    "2024-03-05",
    "2024-03-05 08:15",
    "2024-03-05T08:15",
    "2024-03-05 08:15:59",
    "2024-03-05 08:15:60",  # a leap second: read as :59, as the general parser does
    "2024-02-29",
    "2023-02-29",  # no such day
    "2024-13-01",
    "2024-00-10",
    "2024-04-31",
    "2024-03-05 24:00",
    "2024-03-05 08:60",
    "1899-12-31",  # before the plausible window
    "2027-11-26",  # more than a year after TODAY
    "2027-11-25 23:59",  # the last second in the window
    "0000-01-01",
    "2024-03-05 8:15a",
    "2024-03-05x08:15",
    "05/03/2024",
    "05.03.2024 08:15",
    "05-03-2024 08:15:30",
    "13/03/2024",
    "03/13/2024",
    "31/04/2024",
    "05/03-2024",
    "5/3/2024",
    "abcd-ef-gh",
    "",
    "2024-03-05 08:15Z",
    "2024-03-05 08:15:00+01:00",
]


@pytest.mark.parametrize("order", [DAYFIRST, MONTHFIRST, "ISO"])
@pytest.mark.parametrize("window", [True, False])
def test_fast_path_reads_exactly_what_the_general_parser_reads(order, window):
    """The fixed-width fast path (read from the bytes) gives the same date, reason and
    two-digit-year count as the general parser for every text, valid or not."""
    p = parse_dates(pa.array(FIXED_WIDTH, pa.string()), order, TODAY, window=window)
    assert (p.values.to_pylist(), p.reason.to_pylist(), p.two_digit_years) == _general(
        FIXED_WIDTH, order, TODAY, window
    )


def test_fast_path_on_a_large_mixed_column():
    """A million-row-like column mixing fixed-width and other forms, sliced (offset buffers)."""
    import random

    rng = random.Random(7)
    texts = []
    for _ in range(3000):
        y, m, d = rng.randint(1890, 2030), rng.randint(0, 13), rng.randint(0, 32)
        hh, mi = rng.randint(0, 25), rng.randint(0, 61)
        texts.append(
            rng.choice(
                [
                    f"{y:04d}-{m:02d}-{d:02d}",
                    f"{y:04d}-{m:02d}-{d:02d} {hh:02d}:{mi:02d}",
                    f"{d:02d}/{m:02d}/{y:04d} {hh:02d}:{mi:02d}:{mi:02d}",
                    f"{d}/{m}/{y % 100:02d}",
                    f"{y:04d}-{m:02d}-{d:02d}T{hh:02d}:{mi:02d}Z",
                ]
            )
        )
    arr = pa.array(["pad", *texts], pa.string()).slice(1)
    for order in (DAYFIRST, MONTHFIRST):
        p = parse_dates(arr, order, TODAY)
        assert (p.values.to_pylist(), p.reason.to_pylist(), p.two_digit_years) == _general(texts, order)


def test_repeated_timestamps_parsed_once_read_as_each_row_alone(monkeypatch):
    """A large export repeats each draw's timestamp on every result of the draw: the
    distinct texts are parsed once and spread back, with the same values, reasons and
    two-digit-year count as parsing row by row."""
    import random

    import dashboard.ingest.dates as dates_mod

    rng = random.Random(11)
    pool = [*FIXED_WIDTH[:-1], "5/3/24", "31/02/2024 08:00", "2031-01-01", "3 Mar 2024"]
    texts = [rng.choice(pool) for _ in range(6000)]
    arr = pa.array(texts, pa.string())
    for order in (DAYFIRST, MONTHFIRST):
        once = parse_dates(arr, order, TODAY)
        monkeypatch.setattr(dates_mod, "_DISTINCT_FIRST", 10**9)
        each = parse_dates(arr, order, TODAY)
        monkeypatch.undo()
        assert once.values.to_pylist() == each.values.to_pylist()
        assert once.reason.to_pylist() == each.reason.to_pylist()
        assert once.two_digit_years == each.two_digit_years


def test_order_sniff_ignores_fixed_width_iso_dates():
    """ISO dates cannot be day- or month-first: a file of them needs no choice, and the
    other dates of a file are still looked at."""
    iso = pa.array(["2024-03-05 08:15", "2024-04-01"] * 100)
    assert decide_order([iso]).order == "ISO"
    with pytest.raises(DateOrderNeeded):
        decide_order([pa.array(["2024-03-05 08:15", "03/04/2024"])])
    assert decide_order([pa.array(["2024-03-05", "13/04/2024"])]).order == DAYFIRST
    assert decide_order([pa.array([], pa.string())]).order == ""


def test_a_chosen_order_never_overrides_a_file_that_settles_its_own():
    """The order asked for is for the files whose dates cannot settle it (Home: "Date
    order for the files that need it"; hazard H5: a day above 12 settles it).  By hand:
    13/02/2024 exists only day-first, so in the same file 03/04/2024 is 3 April, whatever
    was chosen for another file; 02/13/2024 exists only month-first, so 03/04/2024 is
    4 March.  A file that mixes both orders is decided by the choice (the others rejected)."""
    d = decide_order([pa.array(["13/02/2024", "03/04/2024"])], "monthfirst")
    assert d.order == DAYFIRST and "13/02/2024" in d.reason
    d = decide_order([pa.array(["02/13/2024", "03/04/2024"])], "dayfirst")
    assert d.order == MONTHFIRST and "02/13/2024" in d.reason
    assert decide_order([pa.array(["13/01/2024", "01/13/2024"])], "dayfirst").order == DAYFIRST
    assert decide_order([pa.array(["13/01/2024", "01/13/2024"])], "monthfirst").order == MONTHFIRST
    assert decide_order([pa.array(["01/02/2024", "03/04/2024"])], "monthfirst").order == MONTHFIRST


def test_an_am_pm_time_outside_the_twelve_hour_clock_is_rejected_with_the_reason():
    """Probe 5 (cosmetic): "21:00 PM" was read as 21:00 without a word.  A 12-hour clock
    counts 1 to 12: "21:00 PM" or "0:30 AM" contradict themselves, so the time cannot be
    told (the draw time orders results within a day); "9:00 PM" is 21:00, "12:30 AM" 00:30."""
    texts = ["2024-03-07 21:00 PM", "2024-03-07 0:30 AM", "2024-03-07 9:00 PM", "2024-03-07 12:30 AM"]
    p = parse_dates(pa.array(texts), "ISO", dt.date(2024, 5, 1))
    assert p.values.to_pylist() == [None, None, dt.datetime(2024, 3, 7, 21, 0), dt.datetime(2024, 3, 7, 0, 30)]
    reasons = p.reason.to_pylist()
    assert "hour 21 with AM/PM" in reasons[0] and "hour 0 with AM/PM" in reasons[1]
    assert reasons[2:] == ["", ""]


@pytest.mark.parametrize(
    "texts", [["2024-03-01 08:00", "2024-03-01 09:00+01:00"], ["1/3/2024 08:00", "1/3/2024 09:00 +0100"]]
)
def test_one_zoned_time_among_times_without_a_zone_is_said(texts):
    """Probe 5 (cosmetic): a single +01:00 among times that name no zone was not said (H87
    covered two or more offsets only).  The offset of a time without one is unknown, so
    the pair is listed as two zones: the import report then says the times may be out of
    order.  A date without a time beside a zoned time is no clock time: nothing to add."""
    p = parse_dates(pa.array(texts), DAYFIRST if "/" in texts[0] else "ISO", TODAY)
    assert p.zones == ("+0100", "no offset")
    only_dates = parse_dates(pa.array(["2024-03-01", "2024-03-01 09:00+01:00"]), "ISO", TODAY)
    assert only_dates.zones == ("+0100",)


def test_a_year_month_day_date_among_day_first_ones_that_may_be_swapped_is_refused():
    """A UK list typed day-first and opened in a month-first spreadsheet: 05/01/2026 became
    the date cell 2026-05-01, 13/01/2026 stayed text (H183).  Read by hand: 1 May and
    3 Feb may be 5 Jan and 2 Mar, so they are refused with both readings; 15 Mar (a day
    above 12) and 4 Apr (day and month alike) cannot come from a swap and are kept."""
    texts = ["2026-05-01", "13/01/2026", "2026-02-03", "20/03/2026", "2026-03-15", "2026-04-04 08:00"]
    p = parse_dates(pa.array(texts), DAYFIRST, TODAY)
    assert p.values.to_pylist() == [
        None,
        dt.datetime(2026, 1, 13),
        None,
        dt.datetime(2026, 3, 20),
        dt.datetime(2026, 3, 15),
        dt.datetime(2026, 4, 4, 8, 0),
    ]
    reason = p.reason.to_pylist()
    assert "01-May-2026" in reason[0] and "05-Jan-2026" in reason[0] and "'13/01/2026'" in reason[0]
    assert "03-Feb-2026" in reason[2] and "02-Mar-2026" in reason[2]
    assert reason[1] == reason[3] == reason[4] == reason[5] == ""


def test_year_month_day_dates_alone_or_beside_named_months_are_read_as_written():
    only_iso = parse_dates(pa.array(["2026-05-01", "2026-02-03"]), DAYFIRST, TODAY)
    assert only_iso.values.to_pylist() == [dt.datetime(2026, 5, 1), dt.datetime(2026, 2, 3)]
    named = parse_dates(pa.array(["2026-05-01", "13 Jan 2026"]), DAYFIRST, TODAY)
    assert named.values.to_pylist() == [dt.datetime(2026, 5, 1), dt.datetime(2026, 1, 13)]
