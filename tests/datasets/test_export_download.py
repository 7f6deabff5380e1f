"""Bounded pages of a stored CSV: line/character alignment in UTF-8 and cp932, offsets, budget."""

from __future__ import annotations

import base64
import codecs

import pytest

from estat_aws_mcp.datasets.export import export_csv, read_csv_page
from estat_aws_mcp.errors import InputError
from estat_aws_mcp.limits import result_wire_bytes

BIG_BUDGET = 10**9
# Lines of mixed width: ASCII, 2-byte cp932 / 3-byte UTF-8 kanji, half-width kana (1 byte in cp932),
# and kanji whose cp932 trail byte is ASCII-range (表 = 0x95 0x5C, ソ = 0x83 0x5C).
LINES = [f'"{i}","東京都表ソ{"ｱ" * (i % 3)}",{i * 1.5}\n' for i in range(200)]
TEXT = '"code","name","value"\n' + "".join(LINES)


def _pages(store, key, max_bytes, budget=BIG_BUDGET):
    offset, pages = 0, []
    while True:
        page = read_csv_page(store, key, offset=offset, max_bytes=max_bytes, content_budget=budget)
        pages.append(page)
        if page.eof:
            return pages
        assert page.next_offset > offset  # always progresses
        offset = page.next_offset


@pytest.mark.parametrize(
    ("encoding", "name"),
    [("utf-8", "exports/t.csv"), ("utf-8-sig", "exports/t.utf-8-sig.csv"), ("cp932", "exports/t.cp932.csv")],
)
@pytest.mark.parametrize("max_bytes", [1, 7, 100, 1000, 100_000])
def test_paging_reassembles_the_file_exactly(local_store, encoding, name, max_bytes) -> None:
    text = TEXT if max_bytes >= 100 else "".join(LINES[:15])  # tiny pages: a shorter file keeps it quick
    raw = text.encode(encoding)
    local_store.write_bytes(name, raw)
    pages = _pages(local_store, name, max_bytes)
    assert "".join(p.content for p in pages) == text
    assert all(p.encoding == encoding and p.total_bytes == len(raw) for p in pages)
    assert pages[0].offset == (3 if encoding == "utf-8-sig" else 0)
    assert pages[-1].next_offset is None and pages[-1].eof
    for page in pages:
        # Each page is exactly the bytes it claims, decoded.
        assert raw[page.offset : page.offset + page.bytes_returned].decode(encoding.replace("-sig", "")) == page.content
        if max_bytes >= 100:
            assert page.content.endswith("\n")  # whole lines when a line fits
        assert page.bytes_returned <= max(max_bytes, 4)


@pytest.mark.parametrize(("encoding", "name"), [("utf-8", "exports/a.csv"), ("cp932", "exports/a.cp932.csv")])
def test_any_offset_is_moved_to_the_next_character_boundary(local_store, encoding, name) -> None:
    text = "".join(LINES[:12])
    raw = text.encode(encoding)
    local_store.write_bytes(name, raw)
    # The boundaries, computed independently by encoding character by character.
    boundaries, position = [], 0
    for ch in text:
        boundaries.append(position)
        position += len(ch.encode(encoding))
    for offset in range(len(raw)):
        page = read_csv_page(local_store, name, offset=offset, max_bytes=50, content_budget=BIG_BUDGET)
        expected = min(b for b in [*boundaries, len(raw)] if b >= offset)
        assert page.offset == expected, offset
        assert raw[page.offset : page.offset + page.bytes_returned].decode(encoding) == page.content


def test_utf8_sig_csv_is_recognised_by_its_bom(local_store) -> None:
    local_store.write_bytes("exports/other.csv", codecs.BOM_UTF8 + "a,名前\n".encode())
    page = read_csv_page(local_store, "exports/other.csv", offset=0, max_bytes=100, content_budget=BIG_BUDGET)
    assert page.encoding == "utf-8-sig" and page.content == "a,名前\n" and page.offset == 3


def test_a_line_longer_than_max_bytes_is_cut_on_a_character(local_store) -> None:
    local_store.write_bytes("exports/long.csv", ("名" * 100 + "\n").encode())
    page = read_csv_page(local_store, "exports/long.csv", offset=0, max_bytes=10, content_budget=BIG_BUDGET)
    assert page.content == "名名名" and page.bytes_returned == 9 and page.next_offset == 9
    page = read_csv_page(local_store, "exports/long.csv", offset=0, max_bytes=1, content_budget=BIG_BUDGET)
    assert page.content == "名" and page.next_offset == 3  # one whole character rather than none


def test_pages_are_trimmed_to_the_content_budget(local_store) -> None:
    text = "".join(f'"{i}","\\"quoted\\"","東京都"\n' for i in range(5000))
    local_store.write_bytes("exports/q.csv", text.encode())
    budget = 20_000
    pages = _pages(local_store, "exports/q.csv", max_bytes=100_000, budget=budget)
    assert "".join(p.content for p in pages) == text
    assert len(pages) > 1
    assert all(result_wire_bytes({"content": p.content}) <= budget for p in pages)
    assert pages[0].note and "budget" in pages[0].note


def test_offsets_at_and_past_the_end(local_store) -> None:
    local_store.write_bytes("exports/s.csv", b"a\n1\n")
    page = read_csv_page(local_store, "exports/s.csv", offset=4, max_bytes=10, content_budget=BIG_BUDGET)
    assert page.content == "" and page.eof and page.next_offset is None
    with pytest.raises(InputError, match="past the end"):
        read_csv_page(local_store, "exports/s.csv", offset=5, max_bytes=10, content_budget=BIG_BUDGET)
    with pytest.raises(InputError, match="offset"):
        read_csv_page(local_store, "exports/s.csv", offset=-1, max_bytes=10, content_budget=BIG_BUDGET)


def test_a_file_that_is_not_text_comes_back_as_bytes(local_store) -> None:
    blob = bytes([0xFF, 0xFE, 0x00, 0x81]) * 10
    local_store.write_bytes("exports/bin.csv", blob)
    page = read_csv_page(local_store, "exports/bin.csv", offset=0, max_bytes=1000, content_budget=BIG_BUDGET)
    assert page.encoding == "binary" and page.content is None
    assert base64.b64decode(page.content_base64) == blob and page.eof


def test_cp932_offsets_resynchronise_without_a_line_start(local_store) -> None:
    # 表 = 0x95 0x5C: the trail byte is ASCII-range, so the character before any offset is recognisable.
    local_store.write_bytes("exports/w.cp932.csv", ("表" * 40_000).encode("cp932"))
    for offset, expected in [(70_000, 70_000), (70_001, 70_002)]:
        page = read_csv_page(local_store, "exports/w.cp932.csv", offset=offset, max_bytes=10, content_budget=BIG_BUDGET)
        assert page.offset == expected and page.content == "表" * 5
    # ＃ = 0x81 0x94: both bytes are lead-range; 64 KiB of them leave no way to find a boundary.
    local_store.write_bytes("exports/h.cp932.csv", ("＃" * 40_000).encode("cp932"))
    with pytest.raises(InputError, match="character boundary"):
        read_csv_page(local_store, "exports/h.cp932.csv", offset=70_000, max_bytes=10, content_budget=BIG_BUDGET)


def test_paging_a_real_export_in_s3(s3_store) -> None:
    from tests.datasets.conftest import write_dataset

    manifest = write_dataset(s3_store, 400)
    export = export_csv(s3_store, manifest.dataset_id, "cp932")
    pages = _pages(s3_store, export.key, max_bytes=3000)
    whole = s3_store.read_bytes(export.key).decode("cp932")
    assert "".join(p.content for p in pages) == whole
    assert whole.count("\n") == 401
