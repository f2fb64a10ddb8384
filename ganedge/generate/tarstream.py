"""A minimal streaming USTAR writer for WebDataset shards: regular files only, fixed metadata.

Why not ``tarfile``: its ``addfile`` copies the TarInfo and builds every header field in Python;
profiled on a 16x16 generator it cost more per image than PNG encoding (1.7 s vs 1.5 s for
5,000 images). Here a header is two constant byte strings around the name, size and mtime, and
the checksum is one ``sum`` over it. ``tests/generate/test_tarstream.py`` checks each header is
byte-identical to what ``tarfile`` writes for the same member, and that readers agree.
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO

BLOCK = 512
RECORD = 20 * BLOCK  # tarfile pads the archive to whole records; so do we
_MODE_IDS = b"0000644\0" + b"0000000\0" + b"0000000\0"  # mode 0644, uid 0, gid 0
# typeflag '0' (regular file), empty linkname, "ustar\0" "00", empty uname/gname, devmajor/minor and prefix
# empty (tarfile leaves the device numbers blank for regular files), padding to 512
_TAIL = b"0" + b"\0" * 100 + b"ustar\x0000" + b"\0" * 64 + b"\0" * 16 + b"\0" * 155 + b"\0" * 12
_TAIL_SUM = sum(_TAIL) + 8 * ord(" ")  # the checksum field counts as eight spaces
_ZEROS = bytes(BLOCK)


def ustar_header(name: str, size: int, mtime: int) -> bytes:
    """The 512-byte USTAR header of a regular file (what tarfile writes with mode 0644, uid/gid 0)."""
    encoded = name.encode("utf-8")
    if len(encoded) > 100 or size >= 8**11 or not 0 <= mtime < 8**11:
        raise ValueError(f"{name!r} ({size} bytes) does not fit a plain USTAR header")
    head = encoded.ljust(100, b"\0") + _MODE_IDS + b"%011o\0" % size + b"%011o\0" % mtime
    return head + b"%06o\0 " % (sum(head) + _TAIL_SUM) + _TAIL


class TarStream:
    """Append files to an open binary stream as a tar archive; ``close`` writes the end marker."""

    def __init__(self, handle: BinaryIO, mtime: int):
        self.handle, self.mtime, self.offset = handle, int(mtime), 0
        self.sha256 = hashlib.sha256()  # of every byte written, so the archive is never read back to hash it

    def add(self, name: str, data: bytes) -> None:
        self.add_many([(name, data)])

    def add_many(self, members: list[tuple[str, bytes]]) -> None:
        """Append several files in one write (a batch of images is one call to the OS)."""
        pieces = []
        for name, data in members:
            pieces += (ustar_header(name, len(data), self.mtime), data, _ZEROS[:-len(data) % BLOCK])
        self._write(b"".join(pieces))

    def _write(self, chunk: bytes) -> None:
        self.handle.write(chunk)
        self.sha256.update(chunk)
        self.offset += len(chunk)

    def close(self) -> None:
        end = 2 * BLOCK  # two zero blocks end the archive
        end += -(self.offset + end) % RECORD
        self._write(bytes(end))
