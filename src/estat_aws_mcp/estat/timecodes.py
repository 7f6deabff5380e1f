"""e-Stat time codes → calendar dates (``time_start``, ``time_end``) and a granularity.

e-Stat's time axis (``@time``) is a code, not a date. The rules below are the ones the recorded
responses (tests/fixtures/estat, PROVENANCE.md) and the e-Stat API 3.0 specification support; a code
no rule covers gets no dates and a note, never a guess.

A 10-digit code reads ``YYYY`` (the year) + ``KK`` (the kind of period) + ``SSEE`` (first and last month):

=====================  ============  ==========================================================  ===========
code                   granularity   dates                                                       evidence
=====================  ============  ==========================================================  ===========
``YYYY000000``         year          YYYY-01-01 … YYYY-12-31                                     #3, #13, #15, #19 (名 "2020年")
``YYYY100000``         fiscal_year   YYYY-04-01 … (YYYY+1)-03-31 (Japan's fiscal year, 財政法11条)  #1, #15 (名 "2025年度")
``YYYY00MMMM``         month         the month MM of YYYY (first month = last month)             #15, #16, #20 (名 "2026年9月")
``YYYY00SSEE`` SS<EE   quarter       01–03, 04–06, 07–09, 10–12                                  #15: the parents of the
                       half          01–06, 07–12                                                months (2026000709 is the
                       range         any other span of months SS…EE within YYYY                 parent of 7, 8 and 9月)
=====================  ============  ==========================================================  ===========

When the item's name is a plain Japanese date (``2020年``, ``2020年度``, ``2020年1月``, ``2020年1月1日``),
it is checked against the code: a name that says another period makes the code unmapped (null + note)
rather than trusted. A name alone (a code of another shape) maps only when it is a whole day
(``2020年1月1日`` → day) or one of the shapes above; anything else (``2020年1～3月期``, ``10月1日現在``,
``YYYY10SSEE`` fiscal quarters, which no recording shows) stays null with a note.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

__all__ = ["GRANULARITIES", "TimePeriod", "parse_time_code"]

GRANULARITIES = ("year", "fiscal_year", "half", "quarter", "month", "range", "day")

_CODE = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})$")
_QUARTERS = {(1, 3), (4, 6), (7, 9), (10, 12)}
_HALVES = {(1, 6), (7, 12)}
_NAME_YEAR = re.compile(r"^(\d{4})年$")
_NAME_FISCAL = re.compile(r"^(\d{4})年度$")
_NAME_MONTH = re.compile(r"^(\d{4})年(\d{1,2})月$")
_NAME_DAY = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")


@dataclass(frozen=True)
class TimePeriod:
    """Dates of one time code; ``start``/``end``/``granularity`` are all None when unmapped (see ``note``)."""

    code: str
    start: dt.date | None
    end: dt.date | None
    granularity: str | None
    note: str | None = None

    @property
    def mapped(self) -> bool:
        return self.granularity is not None


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _from_code(code: str) -> tuple[dt.date, dt.date, str] | None:
    match = _CODE.match(code)
    if not match:
        return None
    year, kind, first, last = (int(group) for group in match.groups())
    if year < 1 or kind not in (0, 10):
        return None
    if kind == 10:
        if first == 0 and last == 0:
            return dt.date(year, 4, 1), dt.date(year + 1, 3, 31), "fiscal_year"
        return None  # fiscal sub-periods: no recording shows their codes
    if first == 0 and last == 0:
        return dt.date(year, 1, 1), dt.date(year, 12, 31), "year"
    if not (1 <= first <= 12 and 1 <= last <= 12) or first > last:
        return None
    if first == last:
        granularity = "month"
    elif (first, last) in _QUARTERS:
        granularity = "quarter"
    elif (first, last) in _HALVES:
        granularity = "half"
    else:
        granularity = "range"
    return dt.date(year, first, 1), _month_end(year, last), granularity


def _from_name(name: str | None) -> tuple[dt.date, dt.date, str] | None:
    if not name:
        return None
    text = name.strip()
    try:
        if match := _NAME_YEAR.match(text):
            year = int(match.group(1))
            return dt.date(year, 1, 1), dt.date(year, 12, 31), "year"
        if match := _NAME_FISCAL.match(text):
            year = int(match.group(1))
            return dt.date(year, 4, 1), dt.date(year + 1, 3, 31), "fiscal_year"
        if match := _NAME_MONTH.match(text):
            year, month = int(match.group(1)), int(match.group(2))
            return dt.date(year, month, 1), _month_end(year, month), "month"
        if match := _NAME_DAY.match(text):
            day = dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            return day, day, "day"
    except ValueError:  # 2020年13月, 2月30日: not a date
        return None
    return None


def parse_time_code(code: str | None, name: str | None = None) -> TimePeriod:
    """The period of one e-Stat time code (``name``: the item's name, used as a cross-check)."""
    code = (code or "").strip()
    from_code = _from_code(code)
    from_name = _from_name(name)
    if from_code is not None:
        if from_name is not None and from_name != from_code:
            return TimePeriod(
                code,
                None,
                None,
                None,
                f"time code {code} reads as {from_code[2]} {from_code[0]}…{from_code[1]} but its name "
                f"{name!r} says {from_name[2]} {from_name[0]}…{from_name[1]}; left null",
            )
        return TimePeriod(code, *from_code)
    if from_name is not None:
        return TimePeriod(code, *from_name)
    label = f" ({name})" if name else ""
    return TimePeriod(
        code, None, None, None, f"time code {code}{label} matches no known e-Stat time code rule; left null"
    )
