"""A SYNTHETIC e-Stat table for charts, served by the fake e-Stat (tests/fakes/fake_estat.py).

No recording has 47 prefectures × 10 years, so this table is generated: 男女 (総数/男/女) × area (全国 at
level 1, the 47 prefectures with their real names and codes at level 2, two municipalities at level 3)
× years 2015–2024. Values are made up (deterministic, distinct per prefecture); they are not statistics.
"""

from __future__ import annotations

from tests.fakes.fake_estat import Axis, AxisItem, FakeEstat, GeneratedTable

TABLE_ID = "0009470001"
YEARS = tuple(range(2015, 2025))
MUNICIPALITIES = (("13101", "千代田区", "13000"), ("27102", "大阪市都島区", "27000"))
SEX = (("000", "総数"), ("001", "男"), ("002", "女"))


def prefecture_names() -> list[str]:
    from japanmap import pref_names

    return list(pref_names[1:])


def area_axis() -> Axis:
    items = [AxisItem("00000", "全国", "1")]
    items += [AxisItem(f"{i:02d}000", name, "2", None, "00000") for i, name in enumerate(prefecture_names(), 1)]
    items += [AxisItem(code, name, "3", None, parent) for code, name, parent in MUNICIPALITIES]
    return Axis("area", "地域", items)


def synthetic_value(sex: int, area: int, year: int) -> float:
    """Area 0 is 全国, 1–47 the prefectures, 48–49 the municipalities (SYNTHETIC numbers)."""
    if area == 0:
        total = sum(synthetic_value(0, a, year) for a in range(1, 48))
    else:
        # (area * 13) % 47 is a permutation of 0..46, so the prefectures get distinct values
        total = 500.0 + ((area * 13) % 47) * 97 + area * 3.1 + year * ((area % 9) - 4) * 11.5
    share = (1.0, 0.49, 0.51)[sex]
    return round(total * share, 1)


def add_prefecture_table(fake: FakeEstat) -> GeneratedTable:
    areas = area_axis()
    n_area, n_time = len(areas.items), len(YEARS)

    def value(flat_index: int) -> str:
        sex, rest = divmod(flat_index, n_area * n_time)
        area, year = divmod(rest, n_time)
        return f"{synthetic_value(sex, area, year):.1f}"

    sex_axis = Axis("cat01", "男女", [AxisItem(code, name, "1", "人") for code, name in SEX])
    return fake.add_generated_table(
        TABLE_ID,
        [sex_axis, areas, Axis.years(YEARS[0], YEARS[-1])],
        value_fn=value,
        title="都道府県別合成人口（SYNTHETIC）",
    )
