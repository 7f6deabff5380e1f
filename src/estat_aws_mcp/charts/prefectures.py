"""Japan's 47 prefectures: keys (e-Stat area codes, JIS numbers, names) and outlines from ``japanmap``.

e-Stat's area codes are five digits: ``NN000`` is prefecture NN (01 北海道 … 47 沖縄県, JIS X 0401),
``00000`` is the national total (全国) and any other code is a municipality or a ward. A map accepts
those codes, the two-digit JIS numbers, integers (1–47 or 1000–47000) and the prefectures' names with or
without 都/府/県; anything else is refused with the reason, so a query over mixed levels says how to
filter instead of drawing a wrong map.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

NUM_PREFECTURES = 47
#: How to keep only prefecture rows (datasets carry ``<axis>_level``; e-Stat's prefecture level is
#: usually '2' under 全国 '1'; describe_estat_table shows a table's levels).
FILTER_HINT = (
    "keep only prefecture rows, e.g. WHERE area_level = '2' (the prefecture level in most e-Stat tables; "
    "describe_estat_table shows the levels) or WHERE area_code LIKE '__000' AND area_code <> '00000'"
)
_FIVE_DIGITS = re.compile(r"^\d{5}$")
_NATIONAL_NAMES = {"全国", "全国計", "日本", "japan", "national"}


@functools.cache
def prefecture_names() -> tuple[str, ...]:
    """Names by JIS number (index 0 unused): ``prefecture_names()[13] == '東京都'``."""
    from japanmap import pref_names

    return tuple(pref_names)


@functools.cache
def _by_name() -> dict[str, int]:
    names: dict[str, int] = {}
    for number, name in enumerate(prefecture_names()):
        if number == 0:
            continue
        names[name] = number
        short = name if name == "北海道" else name[:-1]  # 東京都 -> 東京, 大阪府 -> 大阪
        names[short] = number
    return names


def prefecture_number(key: Any) -> tuple[int | None, str | None]:
    """(JIS number 1–47, None) for a prefecture key, else (None, why it is not a prefecture)."""
    if key is None:
        return None, "no area"
    if isinstance(key, bool):
        return None, "not an area code or name"
    if isinstance(key, int | float):
        if isinstance(key, float) and not key.is_integer():
            return None, "not an area code"
        number = int(key)
        if 1 <= number <= NUM_PREFECTURES:
            return number, None
        if number == 0:
            return None, "the national total (全国)"
        if number % 1000 == 0 and 1 <= number // 1000 <= NUM_PREFECTURES:
            return number // 1000, None
        return None, "a municipality code" if 1000 < number < 48000 else "not a prefecture code"
    text = unicodedata.normalize("NFKC", str(key)).strip()
    if _FIVE_DIGITS.match(text):
        if text == "00000":
            return None, "the national total (全国)"
        prefix = int(text[:2])
        if text.endswith("000") and 1 <= prefix <= NUM_PREFECTURES:
            return prefix, None
        return None, "a municipality code" if 1 <= prefix <= NUM_PREFECTURES else "not a prefecture code"
    if text.isdigit() and len(text) <= 2 and 1 <= int(text) <= NUM_PREFECTURES:
        return int(text), None
    if text.lower() in _NATIONAL_NAMES:
        return None, "the national total (全国)"
    number = _by_name().get(text)
    if number is not None:
        return number, None
    if text.endswith(("市", "区", "町", "村", "郡")):
        return None, "a municipality name"
    return None, "not a prefecture code or name"


@functools.cache
def prefecture_outlines(rough: bool = False) -> tuple[tuple[tuple[float, float], ...], ...]:
    """One outline per prefecture (index 0 = 北海道) as (longitude, latitude) points, Hokkaido and
    Okinawa moved closer to Honshu as in ``japanmap`` (the main area of each prefecture; small islands
    are not drawn). ``rough``: the package's simplified outlines (for Vega-Lite specs)."""
    from japanmap import pref_points

    return tuple(tuple((float(x), float(y)) for x, y in outline) for outline in pref_points(rough=rough))
