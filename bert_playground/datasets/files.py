"""What every reader of a user's file shares: the size limits, reading a file's bytes, decoding UTF-8 text,
and taking part of a data set (`Rows.subset`, `Rows.head`). Limits apply before any data is built."""
from __future__ import annotations

import lzma
from pathlib import Path

from ..core.errors import PlaygroundError

MAX_MB = 10  # the same cap as .streamlit/config.toml's maxUploadSize
MAX_BYTES = MAX_MB * 1024 * 1024
MAX_ROWS = 200_000


def check_size(nbytes: int, name: str = "The file") -> None:
    if nbytes > MAX_BYTES:
        raise PlaygroundError(f"{name} is {nbytes / 2**20:.1f} MB; the limit is {MAX_MB} MB ({nbytes:,} bytes, "
                              f"over {MAX_BYTES:,}). Use a smaller sample of the data.")


def read_bytes(path: str | Path) -> tuple[bytes, str]:
    """(the file's bytes, its name) after checking that it is a file within the size limit; `.xz` files are
    decompressed, up to the same limit."""
    path = Path(path)
    if not path.is_file():
        raise PlaygroundError(f"'{path}' does not exist or is not a file.")
    check_size(path.stat().st_size, f"'{path.name}'")
    raw = path.read_bytes()
    if path.suffix == ".xz":
        try:
            raw = lzma.LZMADecompressor().decompress(raw, max_length=MAX_BYTES + 1)
        except lzma.LZMAError:
            raise PlaygroundError(f"'{path.name}' is not a valid .xz file.") from None
        check_size(len(raw), f"'{path.name}' (decompressed)")
    return raw, path.name


def decode_text(raw: bytes, filename: str, kind: str) -> str:
    """UTF-8 text (a BOM allowed) without NUL bytes; `kind` names the expected file in the message."""
    check_size(len(raw), f"'{filename}'")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlaygroundError(f"'{filename}' is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start}); "
                              f"save it as UTF-8 {kind}.") from None
    if "\x00" in text:
        raise PlaygroundError(f"'{filename}' looks binary (it contains NUL bytes); upload a {kind} text file.")
    return text


class Rows:
    """Taking part of a data set, the same way for every kind: `subset(indices)` and `head(n)`."""

    def __len__(self) -> int:
        raise NotImplementedError

    def subset(self, idx: list[int], name: str | None = None):
        raise NotImplementedError

    def head(self, n: int):
        """The first n rows (all of them when there are fewer)."""
        return self.subset(list(range(min(n, len(self)))))
