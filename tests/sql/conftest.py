"""SQL fixtures: a local store with datasets loaded into the local Iceberg catalog."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from estat_aws_mcp.datasets.iceberg import load_dataset_to_iceberg
from estat_aws_mcp.datasets.manifest import DatasetManifest
from estat_aws_mcp.datasets.store import LocalObjectStore
from estat_aws_mcp.settings import Settings, get_settings
from tests.datasets.conftest import synthetic_rows, write_dataset

AXES = ("tab", "cat01", "area", "time")


@dataclass
class Loaded:
    settings: Settings
    store: LocalObjectStore
    manifest: DatasetManifest
    columns: dict[str, list]  # the source rows, column-wise, as written to the dataset

    def rows(self) -> list[dict]:
        names = list(self.columns)
        return [dict(zip(names, values, strict=True)) for values in zip(*self.columns.values(), strict=True)]


@pytest.fixture
def local_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(tmp_path / "store"))
    monkeypatch.setenv("ESTAT_MCP_SQL_ENGINE", "duckdb")
    monkeypatch.delenv("ESTAT_MCP_GLUE_DATABASE", raising=False)
    return get_settings()


@pytest.fixture
def loaded(local_settings: Settings) -> Loaded:
    """600 synthetic rows (markers every 50th row) loaded as ``estat.population``."""
    store = LocalObjectStore(local_settings.storage_uri)
    columns = synthetic_rows(600, AXES)
    manifest = write_dataset(store, columns, AXES)
    load_dataset_to_iceberg(local_settings, manifest.dataset_id, "population")
    return Loaded(local_settings, store, manifest, columns)
