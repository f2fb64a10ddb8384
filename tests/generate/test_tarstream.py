"""The fast tar writer against the reference, tarfile: identical headers, identical archives."""

from __future__ import annotations

import io
import tarfile

import pytest

from ganedge.generate.tarstream import TarStream, ustar_header

MEMBERS = [("000000.png", b"\x89PNG" + bytes(range(256)) * 3), ("000000.json", b'{"seed": 0}'),
           ("000000.cls", b"3"), ("1234567890123.png", b""), ("x" * 100, b"a" * 512)]


@pytest.mark.parametrize("name,data", MEMBERS)
def test_header_equals_tarfiles(name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 1_764_000_000, 0o644
    assert ustar_header(name, len(data), 1_764_000_000) == info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape")


def test_archive_equals_tarfiles_and_reads_back():
    ours, theirs = io.BytesIO(), io.BytesIO()
    stream = TarStream(ours, mtime=1_764_000_000)
    with tarfile.open(fileobj=theirs, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in MEMBERS:
            stream.add(name, data)
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1_764_000_000, 0o644
            tar.addfile(info, io.BytesIO(data))
    stream.close()
    assert ours.getvalue() == theirs.getvalue()
    with tarfile.open(fileobj=io.BytesIO(ours.getvalue())) as tar:
        assert [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()] == MEMBERS


def test_names_that_do_not_fit_are_refused():
    with pytest.raises(ValueError):
        ustar_header("y" * 101, 1, 0)
