"""The datasets in the store: list them, delete one (with its exports), expire old ones.

Everything here addresses the store by keys built from validated dataset ids
(:func:`~estat_aws_mcp.datasets.manifest.validate_dataset_id`), so no argument can reach outside the
store root: ``datasets/<id>/…`` (data and manifest), ``exports/<id>.…`` (CSV, Parquet and cp932
substitution reports), and the reuse pointer (:mod:`estat_aws_mcp.datasets.reuse`). Iceberg tables
loaded from a dataset hold their own copy of the rows and are not touched.

The optional age limit (``ESTAT_MCP_DATASET_MAX_AGE_DAYS``) deletes datasets fetched longer ago than
that, with their exports; it runs before a fetch and when the datasets are listed, at most once per
:data:`SWEEP_INTERVAL_S` per process and store.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from estat_aws_mcp.datasets.manifest import (
    DATASETS_PREFIX,
    MANIFEST_FILE,
    DatasetManifest,
    dataset_key,
    validate_dataset_id,
)
from estat_aws_mcp.datasets.reuse import forget
from estat_aws_mcp.datasets.store import ObjectStore
from estat_aws_mcp.errors import InputError

log = logging.getLogger(__name__)

EXPORTS_PREFIX = "exports"  # same as datasets.export (not imported: that module pulls in the CSV machinery)
MAX_LIST_LIMIT = 500
SWEEP_INTERVAL_S = 600.0
MANIFEST_READERS = 8

_last_sweep: dict[str, float] = {}
_sweep_lock = threading.Lock()


class DatasetInfo(BaseModel):
    dataset_id: str
    stats_data_id: str
    title: str | None = None
    survey: str | None = None
    rows: int
    bytes: int = Field(description="Bytes in the store: the dataset's data and manifest plus its exports")
    data_bytes: int
    exports: list[str] = Field(description="Keys of its exports (CSV, Parquet) in the store")
    fetched_at: str = Field(description="When the dataset was written (UTC, ISO 8601)")
    updated_date: str | None = Field(description="e-Stat's UPDATED_DATE of the table when it was fetched")
    filtered: bool = Field(description="True: only the rows matching filters (see the manifest)")
    uri: str = Field(description="The dataset's manifest (also the resource estat://datasets/<id>)")


class DatasetList(BaseModel):
    datasets: list[DatasetInfo] = Field(description="Newest first")
    total: int = Field(description="Datasets matching (before offset/limit)")
    total_bytes: int = Field(description="Bytes of the datasets matching, with their exports")
    next_offset: int | None = Field(description="Pass as offset for the next page; null at the end")
    max_age_days: float | None = Field(description="ESTAT_MCP_DATASET_MAX_AGE_DAYS: older datasets are deleted")
    expired_deleted: list[str] = Field(
        default_factory=list, description="Datasets just deleted because they were older than max_age_days"
    )
    note: str = (
        "delete_dataset removes a dataset and its exports; Iceberg tables loaded from it keep their own copy. "
        "A fetch of the same table and filters reuses a stored dataset while e-Stat's UPDATED_DATE is unchanged."
    )


class DeleteResult(BaseModel):
    dataset_id: str
    deleted_keys: int = Field(description="Objects removed from the store")
    bytes_freed: int
    exports_deleted: list[str]
    note: str = "Iceberg tables loaded from this dataset keep their own copy of the rows."


def _sizes(store: ObjectStore, prefix: str) -> dict[str, int]:
    """Keys and sizes under ``prefix``; a prefix the store refuses (a symbolic link) holds nothing for us."""
    try:
        return store.list_sizes(prefix)
    except InputError:
        log.warning("not listing %s: the store refuses it (a symbolic link?)", prefix)
        return {}


def _export_keys(sizes: dict[str, int], dataset_id: str) -> list[str]:
    # ids are "<id>-<12 hex>": "exports/<id>." cannot be the start of another dataset's export
    start = f"{EXPORTS_PREFIX}/{dataset_id}."
    return [key for key in sizes if key.startswith(start)]


def _read_manifest(store: ObjectStore, dataset_id: str) -> DatasetManifest | None:
    try:
        return DatasetManifest.from_json(store.read_bytes(dataset_key(dataset_id, MANIFEST_FILE)))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def _read_manifests(store: ObjectStore, dataset_ids: list[str]) -> list[tuple[str, DatasetManifest | None]]:
    """Manifests read a few at a time (on S3 each is one GET; hundreds would otherwise queue up)."""
    if len(dataset_ids) <= 1:
        return [(dataset_id, _read_manifest(store, dataset_id)) for dataset_id in dataset_ids]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(MANIFEST_READERS, len(dataset_ids))) as pool:
        return list(
            zip(dataset_ids, pool.map(lambda dataset_id: _read_manifest(store, dataset_id), dataset_ids), strict=True)
        )


def _fetched_at(manifest: DatasetManifest) -> datetime:
    try:
        moment = datetime.fromisoformat(manifest.created_at)
    except (TypeError, ValueError):
        return datetime.fromtimestamp(0, UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _dataset_ids(data_sizes: dict[str, int]) -> set[str]:
    ids = set()
    for key in data_sizes:
        parts = key.split("/")
        if len(parts) == 3 and parts[2] == MANIFEST_FILE:
            try:
                ids.add(validate_dataset_id(parts[1]))
            except InputError:
                continue
    return ids


def list_datasets(
    store: ObjectStore,
    *,
    stats_data_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
    max_age_days: float | None = None,
) -> DatasetList:
    """Complete datasets (those with a manifest), newest first, with their sizes and exports."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise InputError(f"limit must be from 1 to {MAX_LIST_LIMIT}")
    if offset < 0:
        raise InputError("offset must be 0 or more")
    expired = sweep_expired(store, max_age_days, force=True) if max_age_days else []
    data_sizes = _sizes(store, DATASETS_PREFIX)
    export_sizes = _sizes(store, EXPORTS_PREFIX)
    infos: list[tuple[datetime, DatasetInfo]] = []
    for dataset_id, manifest in _read_manifests(store, sorted(_dataset_ids(data_sizes))):
        if manifest is None or (stats_data_id and manifest.stats_data_id != stats_data_id):
            continue
        own = f"{DATASETS_PREFIX}/{dataset_id}/"
        data_bytes = sum(size for key, size in data_sizes.items() if key.startswith(own))
        exports = _export_keys(export_sizes, dataset_id)
        moment = _fetched_at(manifest)
        info = DatasetInfo(
            dataset_id=dataset_id,
            stats_data_id=manifest.stats_data_id,
            title=manifest.title,
            survey=manifest.survey,
            rows=manifest.row_count,
            bytes=data_bytes + sum(export_sizes[key] for key in exports),
            data_bytes=data_bytes,
            exports=exports,
            fetched_at=moment.isoformat(timespec="seconds"),
            updated_date=manifest.updated_date,
            filtered=bool(manifest.filters),
            uri=store.uri_for(dataset_key(dataset_id, MANIFEST_FILE)),
        )
        infos.append((moment, info))
    infos.sort(key=lambda item: (item[0], item[1].dataset_id), reverse=True)
    page = [info for _, info in infos[offset : offset + limit]]
    end = offset + len(page)
    return DatasetList(
        datasets=page,
        total=len(infos),
        total_bytes=sum(info.bytes for _, info in infos),
        next_offset=end if end < len(infos) else None,
        max_age_days=max_age_days,
        expired_deleted=expired,
    )


def delete_dataset(store: ObjectStore, dataset_id: str) -> DeleteResult:
    """Delete a dataset (manifest first, so it stops existing at once), its data and its exports."""
    dataset_id = validate_dataset_id(dataset_id)
    folder = f"{DATASETS_PREFIX}/{dataset_id}"
    own = _sizes(store, folder)
    all_exports = _sizes(store, EXPORTS_PREFIX)
    exports = _export_keys(all_exports, dataset_id)
    if not own and not exports:
        raise InputError(
            f"unknown dataset_id {dataset_id!r}: nothing with that id in the store (list_datasets shows what is there)"
        )
    manifest = _read_manifest(store, dataset_id)
    manifest_key = dataset_key(dataset_id, MANIFEST_FILE)
    if manifest_key in own:
        store.delete_prefix(manifest_key)
    for key in exports:
        store.delete_prefix(key)
    store.delete_prefix(folder)
    if manifest is not None:
        forget(store, manifest)
    log.info("deleted dataset %s (%d objects)", dataset_id, len(own) + len(exports))
    return DeleteResult(
        dataset_id=dataset_id,
        deleted_keys=len(own) + len(exports),
        bytes_freed=sum(own.values()) + sum(all_exports[key] for key in exports),
        exports_deleted=exports,
    )


def orphan_exports(store: ObjectStore, existing: set[str]) -> list[str]:
    """Export keys (``exports/<dataset id>.…``) whose dataset has no manifest in the store."""
    orphans = []
    for key in _sizes(store, EXPORTS_PREFIX):
        name = key[len(EXPORTS_PREFIX) + 1 :]
        try:
            dataset_id = validate_dataset_id(name.split(".", 1)[0])
        except InputError:
            continue  # not one of ours
        if dataset_id not in existing and "/" not in name:
            orphans.append(key)
    return orphans


def sweep_expired(
    store: ObjectStore, max_age_days: float | None, *, force: bool = False, now: datetime | None = None
) -> list[str]:
    """Delete the datasets fetched more than ``max_age_days`` ago (with their exports), and exports whose
    dataset is gone; returns the ids of the datasets deleted.

    Without ``force`` this runs at most once per :data:`SWEEP_INTERVAL_S` per process and store. A
    failure is logged, never raised: cleanup must not break the request that triggered it.
    """
    if not max_age_days:
        return []
    with _sweep_lock:
        last = _last_sweep.get(store.root_uri)
        if not force and last is not None and time.monotonic() - last < SWEEP_INTERVAL_S:
            return []
        _last_sweep[store.root_uri] = time.monotonic()
    cutoff = (now or datetime.now(UTC)) - timedelta(days=max_age_days)
    deleted: list[str] = []
    try:
        existing = _dataset_ids(_sizes(store, DATASETS_PREFIX))
        for dataset_id, manifest in _read_manifests(store, sorted(existing)):
            if manifest is not None and _fetched_at(manifest) < cutoff:
                delete_dataset(store, dataset_id)
                deleted.append(dataset_id)
        for key in orphan_exports(store, existing):  # exports whose dataset is gone (deleted by hand, …)
            store.delete_prefix(key)
            log.info("deleted %s: its dataset is no longer in the store", key)
    except Exception:
        log.warning("dataset age-limit cleanup failed; it will be tried again", exc_info=True)
    if deleted:
        log.info("deleted %d dataset(s) older than %s days: %s", len(deleted), max_age_days, ", ".join(deleted))
    return deleted
