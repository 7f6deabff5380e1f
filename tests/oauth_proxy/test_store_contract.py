"""The proxy's state store contract, run against both backends: a SQLite file and DynamoDB (moto's server)."""

from __future__ import annotations

import logging
import threading

import pytest

from estat_aws_mcp.oauth_proxy.store import (
    DynamoDbStateStore,
    RecordExists,
    SqliteStateStore,
    StateStore,
    storage_key,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path, clock: Clock) -> StateStore:
    if request.param == "sqlite":
        return SqliteStateStore(tmp_path / "state" / "oauth.sqlite3", clock=clock)
    return DynamoDbStateStore(request.getfixturevalue("dynamodb_table"), clock=clock)


def test_a_record_is_taken_once(store: StateStore) -> None:
    store.put("code", "secret-code", {"client_id": "c1", "n": 1}, ttl_s=60)
    assert store.get("code", "secret-code") == {"client_id": "c1", "n": 1}
    assert store.take("code", "secret-code") == {"client_id": "c1", "n": 1}
    assert store.take("code", "secret-code") is None
    assert store.get("code", "secret-code") is None


def test_kinds_do_not_share_keys(store: StateStore) -> None:
    store.put("state", "same", {"kind": "state"}, ttl_s=60)
    assert store.take("code", "same") is None
    assert store.take("state", "same") == {"kind": "state"}


def test_an_expired_record_is_gone_even_before_any_sweep(store: StateStore, clock: Clock) -> None:
    store.put("state", "s", {"x": 1}, ttl_s=30)
    clock.now += 29
    assert store.get("state", "s") == {"x": 1}
    clock.now += 2
    assert store.get("state", "s") is None
    assert store.take("state", "s") is None


def test_a_live_record_is_never_overwritten_but_an_expired_one_may_be(store: StateStore, clock: Clock) -> None:
    store.put("client", "id", {"v": 1}, ttl_s=10)
    with pytest.raises(RecordExists):
        store.put("client", "id", {"v": 2}, ttl_s=10)
    assert store.get("client", "id") == {"v": 1}
    clock.now += 11
    store.put("client", "id", {"v": 3}, ttl_s=10)
    assert store.get("client", "id") == {"v": 3}


def test_racing_takes_honour_a_code_once(store: StateStore) -> None:
    for n in range(5):
        store.put("code", f"c{n}", {"n": n}, ttl_s=60)
    results: list[object] = []
    lock = threading.Lock()

    def take(key: str) -> None:
        value = store.take("code", key)
        with lock:
            results.append(value)

    threads = [threading.Thread(target=take, args=(f"c{n % 5}",)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(r["n"] for r in results if r is not None) == [0, 1, 2, 3, 4]
    assert sum(r is None for r in results) == 15


def test_keys_are_stored_as_digests(tmp_path, clock: Clock) -> None:
    store = SqliteStateStore(tmp_path / "s.sqlite3", clock=clock)
    store.put("code", "the-raw-code-value", {"client_id": "c"}, ttl_s=60)
    raw = (tmp_path / "s.sqlite3").read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("s.sqlite3-*"))
    assert b"the-raw-code-value" not in raw
    assert storage_key("code", "the-raw-code-value").encode() in raw


def test_dynamodb_items_carry_the_ttl_attribute(dynamodb_table: str, clock: Clock) -> None:
    from estat_aws_mcp.aws.clients import aws_client

    DynamoDbStateStore(dynamodb_table, clock=clock).put("state", "s", {"x": 1}, ttl_s=600)
    (item,) = aws_client("dynamodb").scan(TableName=dynamodb_table)["Items"]
    assert item["pk"]["S"] == storage_key("state", "s")
    assert int(item["expires_at"]["N"]) == int(clock.now + 600) + 1


def test_botocore_debug_lines_never_carry_a_record(
    dynamodb_table: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """``serve --http`` at ESTAT_MCP_LOG_LEVEL=DEBUG puts the root logger at DEBUG: botocore then logs bodies."""
    caplog.set_level(logging.DEBUG)
    store = DynamoDbStateStore(dynamodb_table, clock=clock)
    store.put("code", "the-code", {"upstream_code": "upstream-code-8f2e", "upstream_verifier": "verifier-77c1"}, 60)
    assert store.get("code", "the-code") is not None
    assert store.take("code", "the-code") is not None
    botocore_lines = [r for r in caplog.records if r.name.startswith("botocore")]
    assert any("state table (body not logged)" in r.getMessage() for r in botocore_lines)
    for secret in ("upstream-code-8f2e", "verifier-77c1"):
        assert not [r.name for r in caplog.records if secret in f"{r.getMessage()} {r.__dict__}"]
