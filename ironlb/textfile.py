"""Read a file that must be YAML or JSON text, with a plain sentence when it is not.

Why: configs and manifests are UTF-8 text. A binary file or one in another
encoding given by mistake (an image, a tarball, a Latin-1 export) is wrong input,
and the reader should hear that in words, not as Python's codec message. The CLI
and the manifest-directory source share this so they say it the same way.
"""

from __future__ import annotations

from pathlib import Path


class NotText(ValueError):
    """The bytes are not UTF-8 text (or hold NUL bytes, as binary files do); the message says where."""


def decode_text(data: bytes, origin: str) -> str:
    """``data`` as UTF-8 text; :class:`NotText` naming ``origin`` and the first offending byte otherwise."""
    nul = data.find(b"\0")
    if nul != -1:
        raise NotText(
            f"{origin} is not a text file (a NUL byte at offset {nul}: binary data, or UTF-16 text); "
            "configs and manifests are UTF-8 YAML or JSON"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotText(
            f"{origin} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "configs and manifests are UTF-8 YAML or JSON (iconv -t UTF-8 converts other encodings)"
        ) from None


def read_text(path: Path) -> str:
    """The file's text (UTF-8, whatever the locale); ``OSError`` if unreadable, :class:`NotText` if not."""
    return decode_text(path.read_bytes(), str(path))
