"""Short-lived state of the authorization proxy: one interface, two backends.

What is kept (``kind``): pending consent transactions, upstream ``state`` values, the proxy's own
authorization codes, registered clients (RFC 7591), refresh-token bindings, spent codes with what
they produced (sealed) and revoked grants, and browsers' remembered approvals. Every record has an
expiry; every read checks it (DynamoDB's TTL deletion runs late, SQLite's purge runs on writes).

- :meth:`StateStore.put` creates a record and refuses to overwrite one (keys are random; a clash
  is a bug or an attack, never a normal event).
- :meth:`StateStore.take` reads and deletes in one atomic step, so a ``state`` or a code is
  honoured once even when two requests race (SQLite: one write transaction; DynamoDB:
  ``DeleteItem`` with ``ReturnValues=ALL_OLD``).
- :meth:`StateStore.get` reads without consuming (registered clients, refresh-token bindings).

Keys are stored as SHA-256 digests (``oauth#<kind>#<hex>``): the store never holds a code, a
state or a token in the clear, only what the proxy needs to find a record. Records may hold
upstream codes and PKCE verifiers for the few minutes between the callback and the token request.

The DynamoDB table has a string partition key ``pk`` and the TTL attribute ``expires_at`` (epoch
seconds): the same shape as the rate limiter's table, so one table serves both. botocore logs whole
request and response bodies at DEBUG (``serve --http`` with ``ESTAT_MCP_LOG_LEVEL=DEBUG`` configures
the root logger at that level): a filter replaces every such line that carries one of these
records, so an upstream code or verifier never reaches a log that way.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

Clock = Callable[[], float]


KEY_PREFIX = "oauth#"


class _StateBodyFilter(logging.Filter):
    """Blanks botocore's DEBUG lines (request params, response bodies) that carry a proxy record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to fix
            return True
        if KEY_PREFIX in message:
            record.msg = "botocore: a request to or answer from the OAuth proxy's state table (body not logged)"
            record.args = ()
        return True


_body_filter = _StateBodyFilter()


def _install_log_filter() -> None:
    for name in ("botocore.endpoint", "botocore.parsers", "botocore.hooks"):
        target = logging.getLogger(name)
        if _body_filter not in target.filters:
            target.addFilter(_body_filter)


class RecordExists(Exception):
    """:meth:`StateStore.put` found a live record under the same key."""


def storage_key(kind: str, key: str) -> str:
    """The stored key: the kind in the clear, the secret part as a SHA-256 digest."""
    if not kind or "#" in kind:
        raise ValueError("kind must be a non-empty word without '#'")
    return f"{KEY_PREFIX}{kind}#{hashlib.sha256(key.encode('utf-8')).hexdigest()}"


class StateStore(Protocol):
    """Expiring, single-use records keyed by secret strings."""

    def put(self, kind: str, key: str, record: dict[str, Any], ttl_s: float) -> None: ...

    def take(self, kind: str, key: str) -> dict[str, Any] | None: ...

    def get(self, kind: str, key: str) -> dict[str, Any] | None: ...


class SqliteStateStore:
    """A SQLite file (the local default, next to the local dataset store)."""

    def __init__(self, path: str | Path, *, clock: Clock = time.time) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS oauth_state ("
                " pk TEXT PRIMARY KEY, record TEXT NOT NULL, expires_at REAL NOT NULL)"
            )
            db.execute("CREATE INDEX IF NOT EXISTS oauth_state_expiry ON oauth_state (expires_at)")

    def _connect(self) -> sqlite3.Connection:
        # One short-lived connection per operation: safe across threads and processes.
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    def put(self, kind: str, key: str, record: dict[str, Any], ttl_s: float) -> None:
        now = self._clock()
        pk = storage_key(kind, key)
        with self._lock, self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM oauth_state WHERE expires_at <= ?", (now,))
                try:
                    db.execute(
                        "INSERT INTO oauth_state (pk, record, expires_at) VALUES (?, ?, ?)",
                        (pk, json.dumps(record), now + ttl_s),
                    )
                except sqlite3.IntegrityError:
                    raise RecordExists(kind) from None
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def take(self, kind: str, key: str) -> dict[str, Any] | None:
        pk = storage_key(kind, key)
        with self._lock, self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT record, expires_at FROM oauth_state WHERE pk = ?", (pk,)).fetchone()
                if row is not None:
                    db.execute("DELETE FROM oauth_state WHERE pk = ?", (pk,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        if row is None or row[1] <= self._clock():
            return None
        return json.loads(row[0])

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT record, expires_at FROM oauth_state WHERE pk = ?", (storage_key(kind, key),)
            ).fetchone()
        if row is None or row[1] <= self._clock():
            return None
        return json.loads(row[0])


class DynamoDbStateStore:
    """A DynamoDB table (partition key ``pk``, TTL attribute ``expires_at``), shared by all containers."""

    def __init__(self, table: str, *, client: Any = None, clock: Clock = time.time) -> None:
        self.table = table
        self._given_client = client
        self._clock = clock
        _install_log_filter()

    @property
    def _client(self) -> Any:
        # Made on first use: building the proxy (at start-up) needs no AWS configuration yet.
        if self._given_client is None:
            from estat_aws_mcp.aws.clients import aws_client

            self._given_client = aws_client("dynamodb", connect_timeout=3.0, read_timeout=5.0)
        return self._given_client

    def dynamodb_client(self) -> Any:
        """The store's DynamoDB client (made on first use), for others that use the same table."""
        return self._client

    def put(self, kind: str, key: str, record: dict[str, Any], ttl_s: float) -> None:
        now = self._clock()
        try:
            self._client.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": storage_key(kind, key)},
                    "record": {"S": json.dumps(record)},
                    "expires_at": {"N": str(int(now + ttl_s) + 1)},
                    "expires_at_exact": {"N": repr(now + ttl_s)},
                },
                # A live record is never replaced; an expired one DynamoDB has not swept yet may be.
                ConditionExpression="attribute_not_exists(pk) OR expires_at_exact <= :now",
                ExpressionAttributeValues={":now": {"N": repr(now)}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            raise RecordExists(kind) from None

    def _record(self, item: dict[str, Any] | None) -> dict[str, Any] | None:
        if not item:
            return None
        if float(item["expires_at_exact"]["N"]) <= self._clock():
            return None
        return json.loads(item["record"]["S"])

    def take(self, kind: str, key: str) -> dict[str, Any] | None:
        answer = self._client.delete_item(
            TableName=self.table, Key={"pk": {"S": storage_key(kind, key)}}, ReturnValues="ALL_OLD"
        )
        return self._record(answer.get("Attributes"))

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        answer = self._client.get_item(
            TableName=self.table, Key={"pk": {"S": storage_key(kind, key)}}, ConsistentRead=True
        )
        return self._record(answer.get("Item"))
