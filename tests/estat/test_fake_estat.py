"""The fake e-Stat itself: search semantics, paging, narrowing, recorded bytes, errors and faults.

These talk plain HTTP (httpx, no EstatClient) so that the wire shapes are checked as sent.
"""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import pytest

from tests.conftest import ESTAT_FIXTURES, REPO_ROOT
from tests.estat.conftest import TEST_APP_ID
from tests.fakes.fake_estat import Axis, AxisItem, FakeEstat, parse_search_word

_http = httpx.Client(timeout=30)  # one client: building one costs ~0.1 s (TLS context)


def get(fake: FakeEstat, endpoint: str, app_id: str | None = TEST_APP_ID, **params: Any) -> httpx.Response:
    query = {key: str(value) for key, value in params.items()}
    if app_id is not None:
        query["appId"] = app_id
    return _http.get(f"{fake.base_url}/json/{endpoint}", params=query)


def stats_list(fake: FakeEstat, **params: Any) -> dict[str, Any]:
    return get(fake, "getStatsList", **params).json()["GET_STATS_LIST"]


def ids(body: dict[str, Any]) -> list[str]:
    tables = body.get("DATALIST_INF", {}).get("TABLE_INF", [])
    tables = tables if isinstance(tables, list) else [tables]
    return [table["@id"] for table in tables]


@pytest.fixture
def table(fake_estat: FakeEstat):
    return fake_estat.add_generated_table(
        "0009300001",
        [
            Axis("tab", "表章項目", [AxisItem("01", "人口", "", "人"), AxisItem("02", "割合", "", "%")]),
            Axis.numbered("cat01", "男女", 3),
            Axis.areas(9),
            Axis.years(2015, 2024),
        ],
        title="合成 人口テスト表",
    )


# -- getStatsList ------------------------------------------------------------------------------------


def test_parse_search_word() -> None:
    assert parse_search_word("人口　東京") == [(["人口", "東京"], [])]  # full-width space too
    assert parse_search_word("賃金 OR 給与") == [(["賃金"], []), (["給与"], [])]
    assert parse_search_word("人口 NOT 推計") == [(["人口"], ["推計"])]


def test_search_and_or_not(fake_estat: FakeEstat) -> None:
    both = ids(stats_list(fake_estat, searchWord="賃金 都道府県"))
    assert both == ["0009900004"]
    either = ids(stats_list(fake_estat, searchWord="賃金 OR 家計"))
    assert {"0009900004", "0009900005", "0009900001"} <= set(either)
    not_estimate = ids(stats_list(fake_estat, searchWord="人口 NOT 推計"))
    assert "0009900008" not in not_estimate and not_estimate


def test_search_number_is_total_hits_with_paging(fake_estat: FakeEstat) -> None:
    everything = stats_list(fake_estat, searchWord="人口")
    total = everything["DATALIST_INF"]["NUMBER"]
    assert total == len(ids(everything)) >= 5
    pages, start = [], 1
    while start:
        body = stats_list(fake_estat, searchWord="人口", limit=2, startPosition=start)
        assert body["DATALIST_INF"]["NUMBER"] == total
        pages += ids(body)
        start = body["DATALIST_INF"]["RESULT_INF"].get("NEXT_KEY")
    assert pages == ids(everything)


def test_filters(fake_estat: FakeEstat) -> None:
    assert set(ids(stats_list(fake_estat, statsCode="00450"))) >= {"0009900003", "0009900004", "0009900005"}
    assert ids(stats_list(fake_estat, statsCode="00200561")) == ["0009900001"]
    assert set(ids(stats_list(fake_estat, statsField="03"))) == {"0009900004", "0009900005", "0009900006", "0003425893"}
    assert ids(stats_list(fake_estat, statsField="0302", searchWord="毎月")) == ["0009900005"]
    census = stats_list(fake_estat, searchWord="男女別人口", statsCode="00200521", surveyYears=2020)
    assert ids(census).count("0003433219") == 3  # one per COLLECT_AREA, as recorded in #12
    assert "0003410379" in ids(census)  # SURVEY_DATE "202001-202012" overlaps 2020
    assert ids(stats_list(fake_estat, searchWord="男女別人口", surveyYears="2019")) == []
    prefectures = stats_list(fake_estat, searchWord="男女別人口", collectArea=2)
    assert set(ids(prefectures)) == {"0003433219", "0009900008"}


def test_no_hit_is_status_1_without_datalist(fake_estat: FakeEstat) -> None:
    body = stats_list(fake_estat, searchWord="ありえない検索語")
    assert body["RESULT"]["STATUS"] == 1
    assert "DATALIST_INF" not in body


def test_single_hit_is_a_dict_on_the_wire(fake_estat: FakeEstat) -> None:
    body = stats_list(fake_estat, searchWord="毎月勤労統計調査")
    assert isinstance(body["DATALIST_INF"]["TABLE_INF"], dict)
    assert body["DATALIST_INF"]["RESULT_INF"] == {"FROM_NUMBER": 1, "TO_NUMBER": 1}


def test_stats_name_list(fake_estat: FakeEstat) -> None:
    body = stats_list(fake_estat, searchWord="国勢調査", statsNameList="Y")
    items = body["DATALIST_INF"]["LIST_INF"]
    items = items if isinstance(items, list) else [items]
    assert {item["@id"] for item in items} == {"00200521"}
    assert "TABLE_INF" not in body["DATALIST_INF"]


def test_generated_tables_join_the_catalog_and_leave_it(fake_estat: FakeEstat, table) -> None:
    assert ids(stats_list(fake_estat, searchWord="人口テスト表")) == ["0009300001"]


def test_previous_test_table_is_gone(fake_estat: FakeEstat) -> None:
    assert ids(stats_list(fake_estat, searchWord="人口テスト表")) == []
    assert "0009300001" not in fake_estat.tables


# -- getStatsData / getMetaInfo -----------------------------------------------------------------------


def stats_data(fake: FakeEstat, **params: Any) -> dict[str, Any]:
    return get(fake, "getStatsData", **params).json()["GET_STATS_DATA"]


def values_of(body: dict[str, Any]) -> list[dict[str, str]]:
    value = body["STATISTICAL_DATA"]["DATA_INF"]["VALUE"]
    return value if isinstance(value, list) else [value]


def test_paging_reproduces_every_row_once(fake_estat: FakeEstat, table) -> None:
    rows, start = [], 1
    while start:
        body = stats_data(fake_estat, statsDataId="0009300001", limit=123, startPosition=start, metaGetFlg="N")
        result = body["STATISTICAL_DATA"]["RESULT_INF"]
        assert result["TOTAL_NUMBER"] == 2 * 3 * 10 * 10
        assert "CLASS_INF" not in body["STATISTICAL_DATA"]
        rows += values_of(body)
        start = result.get("NEXT_KEY")
    assert rows == list(table.rows())
    assert rows == [table.row_at(i) for i in range(table.total_rows)]
    assert rows[0]["@unit"] == "人" and rows[-1]["@unit"] == "%"


def test_narrowing_by_codes_levels_and_ranges(fake_estat: FakeEstat, table) -> None:
    params = {
        "statsDataId": "0009300001",
        "cdTab": "01",
        "cdCat01": "001,003",
        "lvArea": "2",
        "cdTimeFrom": "2020000000",
        "cdTimeTo": "2022000000",
    }
    body = stats_data(fake_estat, **params)
    rows = values_of(body)
    assert len(rows) == 1 * 2 * 9 * 3 == body["STATISTICAL_DATA"]["RESULT_INF"]["TOTAL_NUMBER"]
    assert {row["@time"][:4] for row in rows} == {"2020", "2021", "2022"}
    assert "00000" not in {row["@area"] for row in rows}
    assert rows == list(table.rows({k: v for k, v in params.items() if k != "statsDataId"}))
    classes = {obj["@id"]: obj["CLASS"] for obj in body["STATISTICAL_DATA"]["CLASS_INF"]["CLASS_OBJ"]}
    assert isinstance(classes["tab"], dict)  # narrowed to one item: a dict, as e-Stat does
    assert [item["@code"] for item in classes["cat01"]] == ["001", "003"]
    assert body["PARAMETER"]["NARROWING_COND"]["CODE_CAT01_SELECT"] == "001,003"


def test_count_only(fake_estat: FakeEstat, table) -> None:
    body = stats_data(fake_estat, statsDataId="0009300001", cdArea="00000,01000", cntGetFlg="Y")
    data = body["STATISTICAL_DATA"]
    assert data["RESULT_INF"] == {"TOTAL_NUMBER": 2 * 3 * 2 * 10}
    assert data["DATA_INF"] == "" and data["TABLE_INF"]["@id"] == "0009300001"


def test_single_value_is_a_dict_and_note_comes_with_every_page(fake_estat: FakeEstat, table) -> None:
    body = stats_data(fake_estat, statsDataId="0009300001", limit=1, startPosition=5)
    data_inf = body["STATISTICAL_DATA"]["DATA_INF"]
    assert isinstance(data_inf["VALUE"], dict)
    assert [note["@char"] for note in data_inf["NOTE"]] == ["***", "-", "X"]


def test_markers_appear_in_generated_values(fake_estat: FakeEstat) -> None:
    fake_estat.add_generated_table("0009300002", [Axis.numbered("cat01", "項目", 3000, width=4)])
    values = [row["$"] for row in values_of(stats_data(fake_estat, statsDataId="0009300002"))]
    assert {"***", "-", "X"} <= set(values)
    assert any(value.startswith("-") and value != "-" for value in values)


def test_limit_and_parameter_errors(fake_estat: FakeEstat, table) -> None:
    assert stats_data(fake_estat, statsDataId="0009300001", limit=100_001)["RESULT"]["STATUS"] == 102
    assert stats_data(fake_estat, statsDataId="0009300001", startPosition="x")["RESULT"]["STATUS"] == 103
    assert stats_data(fake_estat, statsDataId="0009300001", metaGetFlg="Q")["RESULT"]["STATUS"] == 104
    assert stats_data(fake_estat, statsDataId="0009300001", lvArea="a")["RESULT"]["STATUS"] == 105
    assert stats_data(fake_estat)["RESULT"]["STATUS"] == 101
    assert stats_data(fake_estat, statsDataId="0009399999")["RESULT"]["STATUS"] == 300
    assert stats_data(fake_estat, statsDataId="0009300001", cdArea="99999")["RESULT"]["STATUS"] == 1


def test_big_pages(fake_estat: FakeEstat) -> None:
    big = fake_estat.add_generated_table(
        "0009300003", [Axis.numbered("cat01", "項目", 25, unit="人"), Axis.areas(47), Axis.years(1800, 2025)]
    )
    assert big.total_rows == 25 * 48 * 226 == 271_200
    second = stats_data(fake_estat, statsDataId="0009300003", startPosition=100_001, metaGetFlg="N")
    result = second["STATISTICAL_DATA"]["RESULT_INF"]
    assert (result["FROM_NUMBER"], result["TO_NUMBER"], result["NEXT_KEY"]) == (100_001, 200_000, 200_001)
    rows = values_of(second)
    assert len(rows) == 100_000
    assert rows[0] == big.row_at(100_000) and rows[-1] == big.row_at(199_999)
    assert rows[12_345] == big.row_at(112_345)
    last = stats_data(fake_estat, statsDataId="0009300003", startPosition=200_001, metaGetFlg="N")
    assert "NEXT_KEY" not in last["STATISTICAL_DATA"]["RESULT_INF"]
    assert len(values_of(last)) == 71_200


def test_recorded_requests_get_the_recorded_bytes(fake_estat: FakeEstat) -> None:
    cases = [
        (
            "estat-api-dlt-helper__getStatsData_0000020202_limit10_NEXT_KEY__2025-07-16.json",
            {"statsDataId": "0000020202", "limit": 10},
        ),
        (
            "estatapi_r__getStatsData_cntGetFlgY_0003065345__api2.x_2016-07-30.json",
            {"statsDataId": "0003065345", "cdCat01": "008,009,010", "metaGetFlg": "N", "cntGetFlg": "Y"},
        ),
        (
            "estatapi_r__getStatsData_limit3_metaN_0003065345__api2.x_2016-08-01.json",
            {"statsDataId": "0003065345", "cdCat01": "008,009,010", "limit": 3, "metaGetFlg": "N"},
        ),
        (
            "estatapi_r__getStatsData_limit3_metaY_0003065345__api2.x_2016-02-05.json",
            {"statsDataId": "0003065345", "cdCat01": "008,009,010", "limit": 3},
        ),
    ]
    for name, params in cases:
        assert get(fake_estat, "getStatsData", **params).content == (ESTAT_FIXTURES / name).read_bytes(), name
    for name, stats_data_id in [
        ("estatapi_r__getMetaInfo_0003065345__api2.x_2016-07-30.json", "0003065345"),
        ("hermes__getMetaInfo_0003445078_census2020_area-trimmed__2026-10-02.json", "0003445078"),
        ("hermes__getMetaInfo_0004052037_cpi2025_trimmed__2026-10-02.json", "0004052037"),
    ]:
        response = get(fake_estat, "getMetaInfo", statsDataId=stats_data_id)
        assert response.content == (ESTAT_FIXTURES / name).read_bytes(), name


def test_recorded_rows_are_served_with_narrowing(fake_estat: FakeEstat) -> None:
    recorded = json.loads(
        (ESTAT_FIXTURES / "hermes__getStatsData_0003445078_DATA_INF-only_14areas__2026-10-02.json").read_text(
            encoding="utf-8"
        )
    )
    body = stats_data(fake_estat, statsDataId="0003445078", metaGetFlg="N")
    assert values_of(body) == recorded["VALUE"] and body["STATISTICAL_DATA"]["DATA_INF"]["NOTE"] == recorded["NOTE"]
    tokyo = stats_data(fake_estat, statsDataId="0003445078", cdArea="13000", cdCat01="1")
    assert values_of(tokyo) == [row for row in recorded["VALUE"] if row["@area"] == "13000" and row["@cat01"] == "1"]
    cpi = stats_data(fake_estat, statsDataId="0004052037", cdTab="2", metaGetFlg="N")
    assert isinstance(cpi["STATISTICAL_DATA"]["DATA_INF"]["NOTE"], dict)  # #16: a single NOTE dict
    assert all("@unit" in row for row in values_of(cpi))
    wages = stats_data(fake_estat, statsDataId="0003425893", cdTab="40")
    assert len(values_of(wages)) == 12


def test_getmetainfo_for_generated_tables(fake_estat: FakeEstat, table) -> None:
    body = get(fake_estat, "getMetaInfo", statsDataId="0009300001").json()["GET_META_INFO"]
    objs = body["METADATA_INF"]["CLASS_INF"]["CLASS_OBJ"]
    assert [obj["@id"] for obj in objs] == ["tab", "cat01", "area", "time"]
    assert objs[2]["CLASS"][1] == {"@code": "01000", "@name": "都道府県01", "@level": "2", "@parentCode": "00000"}
    assert body["METADATA_INF"]["TABLE_INF"]["UPDATED_DATE"] == "2026-01-15"


# -- errors and faults ------------------------------------------------------------------------------------


def test_auth_failures(fake_estat: FakeEstat) -> None:
    missing = get(fake_estat, "getStatsList", app_id=None)
    assert missing.status_code == 200 and missing.json()["GET_STATS_LIST"]["RESULT"]["STATUS"] == 100
    fake_estat.auth_failure_style = "xml403"
    wrong = get(fake_estat, "getMetaInfo", app_id="wrong", statsDataId="0003445078")
    assert wrong.status_code == 403 and wrong.headers["Server"] == "ZENEDGE"
    assert "<STATUS>100</STATUS>" in wrong.text and "認証に失敗しました" in wrong.text
    assert [r.app_id_valid for r in fake_estat.requests] == [False, False]
    assert all("appId" not in r.params for r in fake_estat.requests)


@pytest.mark.parametrize("status", [2, 100, 101, 105, 200, 203, 300])
def test_forced_status_bodies(fake_estat: FakeEstat, status: int) -> None:
    fake_estat.estat_status(status)
    body = stats_list(fake_estat, searchWord="人口")
    assert body["RESULT"]["STATUS"] == status and body["RESULT"]["ERROR_MSG"]
    assert stats_list(fake_estat, searchWord="人口")["RESULT"]["STATUS"] == 0  # times=1


def test_fault_matching_and_counts(fake_estat: FakeEstat, table) -> None:
    fake_estat.fail(times=2, status=502, endpoint="getStatsData", start_position=11)
    page = {"statsDataId": "0009300001", "limit": 10}
    assert get(fake_estat, "getStatsData", **page).status_code == 200
    assert get(fake_estat, "getStatsList").status_code == 200
    assert [get(fake_estat, "getStatsData", startPosition=11, **page).status_code for _ in range(3)] == [502, 502, 200]


def test_rate_limit_reset_and_malformed(fake_estat: FakeEstat) -> None:
    fake_estat.rate_limit(times=1, retry_after=7)
    limited = get(fake_estat, "getStatsList")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    fake_estat.reset_connection(times=1)
    with pytest.raises(httpx.TransportError):
        get(fake_estat, "getStatsList")
    fake_estat.malformed_json(times=1)
    with pytest.raises(json.JSONDecodeError):
        json.loads(get(fake_estat, "getStatsList").content)
    assert get(fake_estat, "getStatsList").json()["GET_STATS_LIST"]["RESULT"]["STATUS"] == 0


def test_per_page_latency_and_holding_until_requests_are_in_flight(fake_estat: FakeEstat, table) -> None:
    latency = {1: 0.4, 101: 0.15, 201: 0.15}
    fake_estat.set_latency(lambda request: latency[request.start_position])
    fake_estat.hold_until_in_flight(3)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = [
            pool.submit(get, fake_estat, "getStatsData", statsDataId="0009300001", limit=100, startPosition=start)
            for start in (1, 101, 201)
        ]
        assert all(f.result().status_code == 200 for f in futures)
    # Each answer waited at least its own latency (how much longer depends on the machine's load) ...
    assert all(r.finished - r.started >= latency[r.start_position] for r in fake_estat.requests)
    # ... and none came before all three were out.
    assert max(r.started for r in fake_estat.requests) < min(r.finished for r in fake_estat.requests)
    assert fake_estat.max_in_flight == 3


def test_holding_until_in_flight_gives_up_after_its_limit(fake_estat: FakeEstat) -> None:
    fake_estat.hold_until_in_flight(2, when=lambda request: request.endpoint == "getStatsList", limit_s=0.3)
    assert get(fake_estat, "getStatsList").status_code == 200  # alone: held 0.3 s, then answered
    assert get(fake_estat, "getStatsList").status_code == 200  # the gate stays open
    first, second = fake_estat.requests
    assert first.finished - first.started >= 0.3 and second.started >= first.finished
    assert fake_estat.max_in_flight == 1


def test_table_that_changes_mid_fetch(fake_estat: FakeEstat, table) -> None:
    fake_estat.change_table_after("0009300001", 2, row_limit=500, updated_date="2026-12-01")
    assert stats_data(fake_estat, statsDataId="0009300001", cntGetFlg="Y")["STATISTICAL_DATA"]["RESULT_INF"] == {
        "TOTAL_NUMBER": 600
    }  # count probes do not count as pages
    totals, dates = [], []
    for start in (1, 101, 201, 301):
        body = stats_data(fake_estat, statsDataId="0009300001", limit=100, startPosition=start, metaGetFlg="N")
        totals.append(body["STATISTICAL_DATA"]["RESULT_INF"]["TOTAL_NUMBER"])
        dates.append(body["STATISTICAL_DATA"]["TABLE_INF"]["UPDATED_DATE"])
    assert totals == [600, 600, 500, 500]
    assert dates == ["2026-01-15", "2026-01-15", "2026-12-01", "2026-12-01"]


def test_general_hook_can_override(fake_estat: FakeEstat) -> None:
    from tests.fakes.fake_estat import FakeResponse

    seen = []
    fake_estat.before_response(lambda request: seen.append(request.endpoint) or None)
    fake_estat.before_response(
        lambda request: FakeResponse(418, b"teapot") if request.params.get("searchWord") == "tea" else None
    )
    assert get(fake_estat, "getStatsList", searchWord="tea").status_code == 418
    assert get(fake_estat, "getStatsList", searchWord="人口").status_code == 200
    assert seen == ["getStatsList", "getStatsList"]


def test_unknown_path_is_404(fake_estat: FakeEstat) -> None:
    response = _http.get(fake_estat.base_url.replace("/rest/3.0/app", "/x") + "/json/getStatsList")
    assert response.status_code == 404


def test_cli_serves_a_generated_table() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.fake_estat", "--port", "0", "--rows", "5000", "--app-id", "cli-id"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        base_url = line.split()[3]
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/rest/3.0/app")
        deadline = time.monotonic() + 10
        while True:
            try:
                body = httpx.get(
                    f"{base_url}/json/getStatsData",
                    params={"appId": "cli-id", "statsDataId": "0009999999", "cntGetFlg": "Y"},
                ).json()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert body["GET_STATS_DATA"]["STATISTICAL_DATA"]["RESULT_INF"]["TOTAL_NUMBER"] == 5000
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_metadata_only_recording_has_no_invented_rows(fake_estat: FakeEstat) -> None:
    response = get(fake_estat, "getStatsData", statsDataId="0003065345", limit=5)
    assert response.status_code == 501 and "no rows were recorded" in response.text


def test_search_can_match_class_item_names_like_e_stat(fake_estat: FakeEstat) -> None:
    assert ids(stats_list(fake_estat, searchWord="CD")) == []  # titles only (the default)
    fake_estat.search_item_names = True
    assert "0003065345" in ids(stats_list(fake_estat, searchWord="CD"))  # its item ＣＤ・テープ (#2 + #3)
    assert "0003445078" in ids(stats_list(fake_estat, searchWord="府中市"))  # an area item (#13)


def test_a_request_left_over_from_before_reset_log_never_counts_in_flight(fake_estat: FakeEstat) -> None:
    """A test's delayed or abandoned request may still be answering when the next test starts."""
    release = threading.Event()
    held: list[int] = []

    def hold_the_first(request: Any) -> None:
        if not held:
            held.append(request.seq)
            release.wait(30)

    fake_estat.before_response(hold_the_first)
    leftover = threading.Thread(target=get, args=(fake_estat, "getStatsList"))
    leftover.start()
    try:
        deadline = time.monotonic() + 30
        while fake_estat.in_flight < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert fake_estat.in_flight == 1
        fake_estat.reset_log()  # what the fixture does between tests
        assert get(fake_estat, "getStatsList").status_code == 200
        assert fake_estat.max_in_flight == 1 and fake_estat.in_flight == 0
    finally:
        release.set()
        leftover.join(30)
    assert fake_estat.in_flight == 0 and [r.seq for r in fake_estat.requests] == [1]
