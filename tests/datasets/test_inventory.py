"""list_datasets / delete_dataset / the age limit, on both stores (local folder and S3 on moto)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from estat_aws_mcp.datasets.export import export_csv, export_parquet
from estat_aws_mcp.datasets.inventory import delete_dataset, list_datasets, sweep_expired
from estat_aws_mcp.datasets.manifest import load_manifest, publish_manifest
from estat_aws_mcp.datasets.reuse import SOURCE_KEY_FIELD, find_reusable, pointer_key, record_reusable
from estat_aws_mcp.datasets.store import ObjectStore
from estat_aws_mcp.errors import InputError


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest) -> ObjectStore:
    return request.getfixturevalue("local_store" if request.param == "local" else "s3_store")


def _age(store: ObjectStore, dataset_id: str, days: float) -> None:
    manifest = load_manifest(store, dataset_id)
    manifest.created_at = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
    publish_manifest(store, manifest)


def test_list_newest_first_with_sizes_and_exports(store: ObjectStore, make_dataset: Callable) -> None:
    old = make_dataset(rows=30, store=store, stats_data_id="0003445078")
    new = make_dataset(rows=12, store=store, stats_data_id="0004052037", filters={"area": {"codes": ["13000"]}})
    _age(store, old.dataset_id, 2)
    csv = export_csv(store, old.dataset_id)
    parquet = export_parquet(store, old.dataset_id)
    listing = list_datasets(store)
    assert [d.dataset_id for d in listing.datasets] == [new.dataset_id, old.dataset_id]
    first, second = listing.datasets
    assert (first.rows, first.stats_data_id, first.filtered) == (12, "0004052037", True)
    assert (second.rows, second.title, second.updated_date, second.filtered) == (30, old.title, "2024-01-01", False)
    assert sorted(second.exports) == sorted([f"exports/{old.dataset_id}.csv", f"exports/{old.dataset_id}.parquet"])
    data = store.size(old.data_key) + store.size(f"datasets/{old.dataset_id}/manifest.json")
    assert second.data_bytes == data and second.bytes == data + csv.bytes + parquet.bytes
    assert listing.total == 2 and listing.total_bytes == first.bytes + second.bytes and listing.next_offset is None
    assert second.uri == store.uri_for(f"datasets/{old.dataset_id}/manifest.json")
    # filter and paging
    assert [d.dataset_id for d in list_datasets(store, stats_data_id="0003445078").datasets] == [old.dataset_id]
    page = list_datasets(store, limit=1)
    assert len(page.datasets) == 1 and page.next_offset == 1 and page.total == 2
    assert [d.dataset_id for d in list_datasets(store, limit=1, offset=1).datasets] == [old.dataset_id]


def test_an_incomplete_dataset_is_not_listed(store: ObjectStore, make_dataset: Callable) -> None:
    manifest = make_dataset(rows=3, store=store)
    store.write_bytes("datasets/0003445078-0123456789ab/data.parquet", b"partial")  # no manifest: not a dataset
    assert [d.dataset_id for d in list_datasets(store).datasets] == [manifest.dataset_id]


def test_delete_removes_data_manifest_exports_and_reuse_pointer(store: ObjectStore, make_dataset: Callable) -> None:
    keep = make_dataset(rows=5, store=store)
    gone = make_dataset(rows=8, store=store, extra={SOURCE_KEY_FIELD: "k" * 40})
    record_reusable(store, load_manifest(store, gone.dataset_id))
    assert find_reusable(store, gone.stats_data_id, "k" * 40) is not None
    export_csv(store, gone.dataset_id)
    export_csv(store, gone.dataset_id, "cp932")
    export_parquet(store, gone.dataset_id)
    export_csv(store, keep.dataset_id)
    before = set(store.list_keys())
    result = delete_dataset(store, gone.dataset_id)
    assert sorted(result.exports_deleted) == sorted(
        [f"exports/{gone.dataset_id}.csv", f"exports/{gone.dataset_id}.cp932.csv", f"exports/{gone.dataset_id}.parquet"]
    )
    assert result.deleted_keys == 5 and result.bytes_freed > 0
    after = set(store.list_keys())
    assert before - after == {
        f"datasets/{gone.dataset_id}/data.parquet",
        f"datasets/{gone.dataset_id}/manifest.json",
        *result.exports_deleted,
        pointer_key(gone.stats_data_id, "k" * 40),
    }
    assert all(gone.dataset_id not in key for key in after)
    assert [d.dataset_id for d in list_datasets(store).datasets] == [keep.dataset_id]
    with pytest.raises(InputError, match="unknown dataset_id"):
        load_manifest(store, gone.dataset_id)
    with pytest.raises(InputError, match="unknown dataset_id"):
        delete_dataset(store, gone.dataset_id)


@pytest.mark.parametrize(
    "dataset_id",
    ["../datasets", "datasets/x", "0003445078-0123456789ab/..", "*", "", "0003445078-0123456789AB", "a" * 80, "%2e%2e"],
)
def test_delete_is_confined_to_dataset_ids(store: ObjectStore, make_dataset: Callable, dataset_id: str) -> None:
    manifest = make_dataset(rows=2, store=store)
    store.write_bytes("exports/other.csv", b"x")
    before = store.list_keys()
    with pytest.raises(InputError, match="invalid dataset_id"):
        delete_dataset(store, dataset_id)
    assert store.list_keys() == before
    assert load_manifest(store, manifest.dataset_id).row_count == 2


def test_delete_does_not_touch_a_dataset_whose_id_shares_a_prefix(store: ObjectStore, make_dataset: Callable) -> None:
    a = make_dataset(rows=2, store=store, stats_data_id="1")
    b = make_dataset(rows=2, store=store, stats_data_id="12")
    export_csv(store, a.dataset_id)
    export_csv(store, b.dataset_id)
    delete_dataset(store, a.dataset_id)
    assert [d.dataset_id for d in list_datasets(store).datasets] == [b.dataset_id]
    assert store.exists(f"exports/{b.dataset_id}.csv")


def test_age_limit_deletes_old_datasets_with_their_exports(store: ObjectStore, make_dataset: Callable) -> None:
    old = make_dataset(rows=4, store=store)
    young = make_dataset(rows=4, store=store)
    _age(store, old.dataset_id, 10)
    _age(store, young.dataset_id, 1)
    export_csv(store, old.dataset_id)
    listing = list_datasets(store, max_age_days=7)
    assert listing.expired_deleted == [old.dataset_id] and listing.max_age_days == 7
    assert [d.dataset_id for d in listing.datasets] == [young.dataset_id]
    assert not store.exists(f"exports/{old.dataset_id}.csv")
    # the sweep outside list_datasets runs at most once per interval per store (unless forced)
    _age(store, young.dataset_id, 30)
    assert sweep_expired(store, 7, force=True) == [young.dataset_id]
    assert sweep_expired(store, 7) == []
    assert sweep_expired(store, None, force=True) == []


def test_a_stale_reuse_pointer_is_ignored(store: ObjectStore, make_dataset: Callable) -> None:
    manifest = make_dataset(rows=2, store=store, extra={SOURCE_KEY_FIELD: "a" * 40})
    store.write_bytes(
        pointer_key(manifest.stats_data_id, "b" * 40), json.dumps({"dataset_id": manifest.dataset_id}).encode()
    )
    assert find_reusable(store, manifest.stats_data_id, "b" * 40) is None  # the manifest has another source key
    store.write_bytes(pointer_key(manifest.stats_data_id, "c" * 40), b"{not json")
    assert find_reusable(store, manifest.stats_data_id, "c" * 40) is None


def test_symbolic_links_out_of_a_local_store_are_not_followed(tmp_path, make_dataset: Callable) -> None:
    import os

    from estat_aws_mcp.datasets.store import LocalObjectStore

    outside = LocalObjectStore(tmp_path / "outside")
    victim = make_dataset(rows=3, store=outside)
    export_csv(outside, victim.dataset_id)
    store = LocalObjectStore(tmp_path / "linked")
    (store.root / "datasets").mkdir(parents=True)
    os.symlink(outside.root / "datasets" / victim.dataset_id, store.root / "datasets" / victim.dataset_id)
    os.symlink(outside.root / "exports", store.root / "exports")
    assert list_datasets(store).datasets == []
    with pytest.raises(InputError):
        delete_dataset(store, victim.dataset_id)
    assert sorted(outside.list_keys()) == sorted(
        [victim.data_key, f"datasets/{victim.dataset_id}/manifest.json", f"exports/{victim.dataset_id}.csv"]
    )


def test_the_age_limit_sweep_also_removes_orphan_exports(store: ObjectStore, make_dataset: Callable) -> None:
    kept = make_dataset(rows=3, store=store)
    gone = make_dataset(rows=3, store=store)
    export_csv(store, kept.dataset_id)
    export_csv(store, gone.dataset_id)
    store.delete_prefix(f"datasets/{gone.dataset_id}")  # removed by hand: its export is left behind
    store.write_bytes("exports/notes.txt", b"someone else's file")
    assert sweep_expired(store, 30, force=True) == []
    assert sorted(store.list_keys("exports")) == sorted([f"exports/{kept.dataset_id}.csv", "exports/notes.txt"])
