"""Reuse of unchanged tables: which stored dataset already holds "this table, with these filters".

A fetch is identified by its *source key*: the table id and the exact e-Stat requests it makes (the
filters resolved to codes, split as sent) plus any option that changes the rows' content. After a
dataset is published, a small pointer ``reuse/<statsDataId>/<source key>.json`` names it. A later fetch
with the same source key reads the pointer, loads that dataset's manifest and reuses it when e-Stat's
``UPDATED_DATE`` (from one getMetaInfo request) is the one the dataset was fetched at, the dataset
has the columns a new fetch would write and the same title (so a request for names in another language
is not answered with the stored one); otherwise it fetches again and the pointer moves on. Options that
change the rows but not the requests must go into the source key (``source_key(requests, options)``).

The pointer is only a hint: the manifest decides (a deleted or expired dataset, a pointer left behind
by an interrupted write, or one naming another table are simply not reused).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from estat_aws_mcp.datasets.manifest import DatasetManifest, load_manifest, validate_dataset_id
from estat_aws_mcp.datasets.store import ObjectStore
from estat_aws_mcp.errors import InputError

log = logging.getLogger(__name__)

REUSE_PREFIX = "reuse"
#: manifest.extra key holding the source key of a fetched dataset
SOURCE_KEY_FIELD = "source_key"


def source_key(requests: Sequence[Mapping[str, str]], options: Mapping[str, Any] | None = None) -> str:
    """A stable digest of the e-Stat requests (as sent, in order) and content-changing options."""
    canonical = json.dumps(
        {"requests": [sorted(params.items()) for params in requests], "options": sorted((options or {}).items())},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]


def pointer_key(stats_data_id: str, key: str) -> str:
    return f"{REUSE_PREFIX}/{stats_data_id}/{key}.json"


def record_reusable(store: ObjectStore, manifest: DatasetManifest) -> None:
    """Point the dataset's source key at it (best effort: a failure only costs a later re-fetch)."""
    key = manifest.extra.get(SOURCE_KEY_FIELD)
    if not key:
        return
    pointer = {"dataset_id": manifest.dataset_id, "updated_date": manifest.updated_date}
    try:
        store.write_bytes(pointer_key(manifest.stats_data_id, key), json.dumps(pointer).encode("utf-8"))
    except Exception:
        log.warning("could not record dataset %s for reuse", manifest.dataset_id, exc_info=True)


def find_reusable(store: ObjectStore, stats_data_id: str, key: str) -> DatasetManifest | None:
    """The manifest the pointer names, if it is a complete dataset of this table and source key."""
    try:
        pointer = json.loads(store.read_bytes(pointer_key(stats_data_id, key)))
        dataset_id = validate_dataset_id(pointer["dataset_id"])
        manifest = load_manifest(store, dataset_id)
    except (FileNotFoundError, InputError, KeyError, TypeError, ValueError):
        return None
    if manifest.stats_data_id != stats_data_id or manifest.extra.get(SOURCE_KEY_FIELD) != key:
        return None
    return manifest


def is_current(
    manifest: DatasetManifest, updated_date: str | None, columns: list[dict[str, str]], title: str | None
) -> bool:
    """Same e-Stat UPDATED_DATE (known on both sides), the columns a fetch would write today, and the same
    title as the metadata just read (names in another language, e.g. ``lang=E``, are another dataset)."""
    return (
        bool(updated_date)
        and manifest.updated_date == updated_date
        and manifest.columns == columns
        and manifest.title == title
    )


def forget(store: ObjectStore, manifest: DatasetManifest) -> None:
    """Remove the pointer if it still names this dataset (on delete)."""
    key = manifest.extra.get(SOURCE_KEY_FIELD)
    if not key:
        return
    pointer = pointer_key(manifest.stats_data_id, key)
    try:
        if json.loads(store.read_bytes(pointer)).get("dataset_id") == manifest.dataset_id:
            store.delete_prefix(pointer)
    except (FileNotFoundError, ValueError, AttributeError):
        return
