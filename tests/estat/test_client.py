"""EstatClient against the fake e-Stat: results, STATUS classes, quirks over HTTP."""

from __future__ import annotations

import pytest

from estat_aws_mcp.errors import ConfigurationError, InputError, UpstreamError
from estat_aws_mcp.estat.client import EstatClient
from estat_aws_mcp.estat.status import (
    EstatAuthError,
    EstatParameterError,
    EstatServerError,
    EstatUnknownIdError,
)
from tests.estat.conftest import fast_client
from tests.fakes.fake_estat import Axis, FakeEstat

pytestmark = pytest.mark.anyio


@pytest.fixture
def small_table(fake_estat: FakeEstat):
    return fake_estat.add_generated_table(
        "0009100001",
        [
            Axis.numbered("tab", "表章項目", 2, width=2, unit="人"),
            Axis.numbered("cat01", "男女", 3),
            Axis.areas(4),
            Axis.years(2018, 2022),
        ],
    )


async def test_settings_from_environment(fake_estat: FakeEstat) -> None:
    async with EstatClient() as client:  # ESTAT_API_BASE_URL / ESTAT_APP_ID from the fixture
        assert await client.count_stats_list(searchWord="国勢調査") > 0
    assert fake_estat.requests[-1].app_id_valid


async def test_get_stats_list_paging_and_duplicates(fake_estat: FakeEstat) -> None:
    async with fast_client(fake_estat) as client:
        first = await client.get_stats_list(searchWord="男女別人口", statsCode="00200521", limit=2)
        assert first["status"] == 0
        assert first["number"] >= 4
        assert len(first["tables"]) == 2
        assert first["next_key"] == 3
        second = await client.get_stats_list(
            searchWord="男女別人口", statsCode="00200521", limit=2, startPosition=first["next_key"]
        )
    ids = [t["stats_data_id"] for t in first["tables"] + second["tables"]]
    # #12: the same table once per collection area; the client keeps them (search merges them).
    assert ids.count("0003433219") == 3
    areas = {t["collect_area"] for t in first["tables"] + second["tables"] if t["stats_data_id"] == "0003433219"}
    assert areas == {"全国", "市区町村", "都道府県"}


async def test_single_table_inf_is_a_list(fake_estat: FakeEstat) -> None:
    async with fast_client(fake_estat) as client:
        result = await client.get_stats_list(searchWord="時系列データ 男女別人口")
    assert result["number"] == 1
    assert isinstance(result["tables"], list)
    table = result["tables"][0]
    assert table["stats_data_id"] == "0003410379"
    assert table["survey_date"] == "202001-202012"  # mixed type (#12) normalised to str


async def test_no_data_is_an_empty_result_not_an_error(fake_estat: FakeEstat) -> None:
    async with fast_client(fake_estat) as client:
        result = await client.get_stats_list(searchWord="該当しないはずの語句")
        count = await client.count_stats_list(searchWord="該当しないはずの語句")
    assert result["status"] == 1
    assert result["tables"] == [] and result["number"] == 0
    assert count == 0


async def test_count_stats_list_is_one_cheap_request(fake_estat: FakeEstat) -> None:
    async with fast_client(fake_estat) as client:
        count = await client.count_stats_list(searchWord="人口")
        full = await client.get_stats_list(searchWord="人口")
    assert count == full["number"] == len(full["tables"])
    probe = fake_estat.requests[0]
    assert probe.params["limit"] == "1"


async def test_stats_name_list(fake_estat: FakeEstat) -> None:
    async with fast_client(fake_estat) as client:
        result = await client.get_stats_list(searchWord="国勢調査", statsNameList="Y")
    assert result["tables"] == []
    assert {"stats_code": "00200521", "stat_name": "国勢調査", "gov_org_code": "00200", "gov_org": "総務省"} in (
        result["stat_names"]
    )


async def test_get_meta_info_recorded(fake_estat: FakeEstat) -> None:
    async with fast_client(fake_estat) as client:
        meta = await client.get_meta_info("0003445078")
    assert meta["table"]["stat_name"] == "国勢調査"
    axes = {axis["id"]: axis for axis in meta["classes"]}
    assert list(axes) == ["tab", "cat01", "area", "time"]
    assert axes["tab"]["items"] == [  # single CLASS dict, @level "" (#13)
        {"code": "2020_01", "name": "人口", "level": None, "unit": "人", "parent_code": None, "add_info": None}
    ]
    fuchu = [item for item in axes["area"]["items"] if item["name"] == "府中市"]
    assert {item["parent_code"] for item in fuchu} == {"13000", "34000"}


async def test_get_stats_data_pages_and_narrowing(fake_estat: FakeEstat, small_table) -> None:
    async with fast_client(fake_estat) as client:
        total = await client.count_stats_data("0009100001")
        pages, start = [], 1
        while True:
            page = await client.get_stats_data("0009100001", startPosition=start, limit=37, metaGetFlg="N")
            pages.append(page)
            if page["next_key"] is None:
                break
            start = page["next_key"]
        narrowed = await client.get_stats_data("0009100001", cdArea=["00000", "02000"], cdTimeFrom="2021000000")
    rows = [row for page in pages for row in page["values"]]
    assert total == small_table.total_rows == len(rows) == 2 * 3 * 5 * 5
    assert rows == list(small_table.rows())
    assert narrowed["total_number"] == 2 * 3 * 2 * 2
    assert {row["@area"] for row in narrowed["values"]} == {"00000", "02000"}
    area_axis = next(axis for axis in narrowed["classes"] if axis["id"] == "area")
    assert [item["code"] for item in area_axis["items"]] == ["00000", "02000"]  # narrowed metadata (#7)
    assert narrowed["notes"]["***"]


async def test_single_value_row_is_a_list(fake_estat: FakeEstat, small_table) -> None:
    async with fast_client(fake_estat) as client:
        page = await client.get_stats_data("0009100001", cdTab="01", cdCat01="001", cdArea="00000", cdTime="2018000000")
    assert page["total_number"] == 1
    assert len(page["values"]) == 1 and isinstance(page["values"][0], dict)
    tab = page["classes"][0]
    assert tab["id"] == "tab" and len(tab["items"]) == 1


async def test_count_stats_data_recorded_cnt_get_flg(fake_estat: FakeEstat) -> None:
    async with fast_client(fake_estat) as client:
        # Exactly the request of fixture #5, answered with its recorded bytes (DATA_INF "").
        total = await client.count_stats_data("0003065345", cdCat01="008,009,010", metaGetFlg="N")
    assert total == 40014


async def test_recorded_page_with_next_key(fake_estat: FakeEstat) -> None:
    async with fast_client(fake_estat) as client:
        page = await client.get_stats_data("0000020202", limit=10)
    assert (page["total_number"], page["from_number"], page["to_number"], page["next_key"]) == (403227, 1, 10, 11)
    assert page["notes"] == {
        "***": "調査又は集計していないもの",
        "-": "データが得られないもの",
        "X": "数値が秘匿されているもの",
    }
    assert page["table"]["survey_date"] is None  # SURVEY_DATE 0


async def test_no_matching_rows_is_empty(fake_estat: FakeEstat, small_table) -> None:
    async with fast_client(fake_estat) as client:
        page = await client.get_stats_data("0009100001", cdArea="99999")
        count = await client.count_stats_data("0009100001", cdArea="99999")
    assert page["status"] == 1 and page["values"] == [] and page["total_number"] == 0
    assert count == 0


# -- STATUS classes -------------------------------------------------------------------------------


async def test_status_2_is_partial(fake_estat: FakeEstat) -> None:
    fake_estat.before_response(_partial_response)
    async with fast_client(fake_estat) as client:
        result = await client.get_stats_list(searchWord="人口")
    assert result["partial"] is True and result["status"] == 2
    assert "一部" in result["error_msg"]


def _partial_response(request):
    from tests.fakes.fake_estat import PARTIAL_MESSAGE, FakeResponse, _dump, envelope

    body = envelope("GET_STATS_LIST", 2, PARTIAL_MESSAGE, {"DATA_FORMAT": "J"})
    body["GET_STATS_LIST"]["DATALIST_INF"] = {"NUMBER": 0}
    return FakeResponse(200, _dump(body).encode())


@pytest.mark.parametrize("status", [101, 102, 103, 104, 105])
async def test_parameter_errors_name_the_parameter(fake_estat: FakeEstat, status: int) -> None:
    fake_estat.estat_status(status, times=None)
    async with fast_client(fake_estat) as client:
        with pytest.raises(EstatParameterError) as caught:
            await client.get_stats_data("0003445078", limit=5)
    error = caught.value
    assert isinstance(error, InputError)
    assert error.status == status
    expected = {101: "statsDataId", 102: "limit", 103: "startPosition", 104: "metaGetFlg", 105: None}[status]
    assert error.parameter == expected
    if expected:
        assert f"parameter '{expected}'" in str(error)
    assert fake_estat.count() == 1  # no retry


async def test_real_parameter_errors_from_the_fake(fake_estat: FakeEstat, small_table) -> None:
    async with fast_client(fake_estat) as client:
        with pytest.raises(EstatParameterError, match="'limit'"):
            await client.get_stats_data("0009100001", limit=100001)
        with pytest.raises(EstatParameterError, match="'startPosition'"):
            await client.get_stats_data("0009100001", startPosition=0)


@pytest.mark.parametrize("status", [200, 201, 203])
async def test_server_status_is_retried_then_recovers(fake_estat: FakeEstat, status: int) -> None:
    fake_estat.estat_status(status, times=2)
    async with fast_client(fake_estat) as client:
        count = await client.count_stats_list(searchWord="人口")
    assert count > 0
    assert fake_estat.count() == 3


async def test_server_status_that_persists_fails_as_upstream(fake_estat: FakeEstat) -> None:
    fake_estat.estat_status(203, times=None)
    async with fast_client(fake_estat, max_attempts=3) as client:
        with pytest.raises(EstatServerError) as caught:
            await client.count_stats_list(searchWord="人口")
    assert isinstance(caught.value, UpstreamError)
    assert caught.value.status == 203
    assert "3 attempt(s)" in str(caught.value)
    assert fake_estat.count() == 3


async def test_unknown_id_suggests_zero_padding(fake_estat: FakeEstat) -> None:
    async with fast_client(fake_estat) as client:
        with pytest.raises(EstatUnknownIdError) as caught:
            await client.get_meta_info("3445078")
    assert "'0003445078'" in str(caught.value)
    assert caught.value.status == 300
    assert fake_estat.count() == 1


async def test_wrong_app_id_is_a_configuration_error_without_retry(fake_estat: FakeEstat) -> None:
    async with fast_client(fake_estat, app_id="not-the-right-app-id") as client:
        with pytest.raises(EstatAuthError) as caught:
            await client.get_stats_list(searchWord="人口")
    assert isinstance(caught.value, ConfigurationError)
    assert "ESTAT_APP_ID" in str(caught.value)
    assert fake_estat.count() == 1
    assert fake_estat.requests[0].app_id_valid is False


async def test_auth_failure_as_http_403_xml(fake_estat: FakeEstat) -> None:
    fake_estat.auth_failure_style = "xml403"  # fixture #23: WAF answers 403 with an XML body
    async with fast_client(fake_estat, app_id="not-the-right-app-id") as client:
        with pytest.raises(EstatAuthError, match="STATUS 100"):
            await client.get_meta_info("0003445078")
    assert fake_estat.count() == 1
    assert fake_estat.requests[0].http_status == 403


@pytest.mark.parametrize("value", [None, "", "   "])
async def test_missing_app_id_tells_how_to_set_it(fake_estat: FakeEstat, monkeypatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("ESTAT_APP_ID")
    else:
        monkeypatch.setenv("ESTAT_APP_ID", value)
    client = EstatClient(base_url=fake_estat.base_url)  # building never fails
    with pytest.raises(ConfigurationError) as caught:
        await client.get_stats_list(searchWord="人口")
    message = str(caught.value)
    assert "ESTAT_APP_ID" in message and "ESTAT_APP_ID_SSM_PARAMETER" in message
    assert fake_estat.count() == 0


async def test_not_found_base_url_is_actionable(fake_estat: FakeEstat) -> None:
    async with fast_client(fake_estat, base_url=fake_estat.base_url.replace("/rest/3.0/app", "/wrong")) as client:
        with pytest.raises(UpstreamError, match="ESTAT_API_BASE_URL"):
            await client.get_stats_list()


# -- recorded bodies over HTTP: the client's outcome for each -------------------------------------------

_RECORDED_LIST_OUTCOMES = {
    "estatapi_r__getStatsList_searchWord-CD_limit3": (0, 958, 3),
    "hermes__getStatsList_searchWord-danjobetsu": (0, 55, 4),
    "hermes__getStatsList_statsNameList-Y": (0, 4, 0),
    "investigation-note__getStatsList_statsField-01": (1, 0, 0),
    "investigation-note__getStatsList_statsField-02": (0, 19416, 0),
    "k-oxon__getStatsList_list-TABLE_INF": (0, 2, 2),
    "k-oxon__getStatsList_statsCode-00200502_limit1": (0, 1, 1),
}


def _serve_body(fake: FakeEstat, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> None:
    from tests.fakes.fake_estat import FakeResponse

    fake.before_response(lambda request: FakeResponse(status, body, headers or {}))


@pytest.mark.parametrize("prefix", sorted(_RECORDED_LIST_OUTCOMES))
async def test_recorded_search_bodies(fake_estat: FakeEstat, estat_fixtures_dir, prefix: str) -> None:
    (path,) = estat_fixtures_dir.glob(f"{prefix}*.json")
    _serve_body(fake_estat, path.read_bytes())
    async with fast_client(fake_estat) as client:
        result = await client.get_stats_list(searchWord="x")
    assert (result["status"], result["number"], len(result["tables"])) == _RECORDED_LIST_OUTCOMES[prefix]


async def test_recorded_status_100_json_body(fake_estat: FakeEstat, estat_fixtures_dir) -> None:
    (path,) = estat_fixtures_dir.glob("rust-unit-test__getStatsList_STATUS100*.json")  # #24
    _serve_body(fake_estat, path.read_bytes())
    async with fast_client(fake_estat) as client:
        with pytest.raises(EstatAuthError):
            await client.count_stats_list()
    assert fake_estat.count() == 1


async def test_recorded_waf_403_xml_excerpt(fake_estat: FakeEstat, estat_fixtures_dir) -> None:
    # #23 exactly as quoted: HTTP 403 from the WAF, an XML body cut before its closing root tag.
    (path,) = estat_fixtures_dir.glob("work-log__STATUS100*")
    head, _, body = path.read_bytes().partition(b"\n\n")
    assert b"403" in head.splitlines()[0]
    _serve_body(fake_estat, body, 403, {"Server": "ZENEDGE"})
    async with fast_client(fake_estat) as client:
        with pytest.raises(EstatAuthError, match="ESTAT_APP_ID"):
            await client.count_stats_list()
    assert fake_estat.count() == 1


async def test_html_403_without_status_is_not_mistaken_for_auth(fake_estat: FakeEstat) -> None:
    _serve_body(fake_estat, b"<html><body>Access denied</body></html>", 403)
    async with fast_client(fake_estat) as client:
        with pytest.raises(UpstreamError, match="HTTP 403") as caught:
            await client.count_stats_list()
    assert not isinstance(caught.value, ConfigurationError)


async def test_iter_stats_data_pages_follows_next_key(fake_estat: FakeEstat, small_table) -> None:
    async with fast_client(fake_estat) as client:
        pages = [page async for page in client.iter_stats_data_pages("0009100001", page_size=40, cdTab="02")]
        with pytest.raises(ValueError, match="page_size"):
            _ = [page async for page in client.iter_stats_data_pages("0009100001", page_size=100_001)]
    assert [len(page["values"]) for page in pages] == [40, 35]
    assert [row for page in pages for row in page["values"]] == list(small_table.rows({"cdTab": "02"}))
    assert [r.start_position for r in fake_estat.requests] == [1, 41]


async def test_get_data_catalog(fake_estat: FakeEstat, estat_fixtures_dir) -> None:
    async with fast_client(fake_estat) as client:
        recorded = await client.get_data_catalog(searchWord="チョコレート", dataType="PDF,XLS")
        searched = await client.get_data_catalog(searchWord="大規模店舗編", limit=2)
        none = await client.get_data_catalog(searchWord="存在しない資料名")
    assert (recorded["number"], recorded["next_key"], len(recorded["datasets"])) == (315, 101, 100)
    assert searched["number"] >= 1 and len(searched["datasets"]) <= 2
    assert all("大規模店舗編" in (d["title"] or "") for d in searched["datasets"])
    assert all(isinstance(d["resources"], list) and d["resources"] for d in searched["datasets"])
    assert none["status"] == 1 and none["datasets"] == []
