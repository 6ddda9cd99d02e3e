"""What an upload is, judged by its bytes: sniffed type, limits, PDF page count and text.

The declared type (the browser's guess from the file name) is only a hint: the bytes decide.
A file whose bytes are not one of the allowed types, or contradict the declared type, is refused
before anything is stored, with a stable code:

- 413 `upload_too_large`: more bytes than the limit.
- 415 `upload_type_not_allowed`: not one of the allowed types (SVG and HTML never are).
- 415 `upload_type_mismatch`: declared as one type, the bytes are another.
- 422 `upload_empty`: no bytes at all.
- 422 `upload_corrupt`: a PDF that cannot be read (broken, or encrypted with a password).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass
from pathlib import PurePath

from server.errors import ApiError

log = logging.getLogger(__name__)

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
PDF = "application/pdf"
TEXT_TYPES = ("text/plain", "text/markdown", "text/csv", "application/json")
TEXT_BY_SUFFIX = {".md": "text/markdown", ".markdown": "text/markdown", ".csv": "text/csv"}
TEXT_BY_SUFFIX[".json"] = "application/json"
# Types a browser would run: refused whatever the bytes look like.
ACTIVE = {"text/html", "application/xhtml+xml", "image/svg+xml", "text/javascript", "text/xml"}
ACTIVE |= {"application/javascript", "application/xml"}
# Declared types that say nothing about the bytes.
VAGUE = {"", "application/octet-stream", "binary/octet-stream"}
# What is kept of a file's text in the database; what a model reads is a setting below it.
MAX_STORED_TEXT = 200_000
# A PDF's text is read from its first pages only, so a huge document cannot stall the server.
MAX_PDF_PAGES_READ = 200
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed every check, with what was learnt from its bytes."""

    name: str
    content_type: str
    kind: str  # image, pdf or text
    data: bytes
    sha256: str
    pages: int | None = None
    text: str | None = None


def reject(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, code, message)


def sniff(data: bytes) -> str | None:
    """The type the bytes are, from their signature; `text/plain` for UTF-8 text; else None."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if data.find(b"%PDF-", 0, 1024) != -1:
        return PDF
    return "text/plain" if _is_text(data) else None


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return True


def clean_name(name: str | None) -> str:
    """The file's own name without any directory, control characters or excess length."""
    base = PurePath((name or "").replace("\\", "/")).name
    base = _UNSAFE_NAME.sub("_", base).strip(" .")
    if len(base) > 200:
        stem, dot, suffix = base.rpartition(".")
        base = (stem[:190] + dot + suffix[:9]) if dot and len(suffix) < 10 else base[:200]
    return base or "file"


def family(content_type: str) -> str | None:
    if content_type in IMAGE_TYPES:
        return "image"
    if content_type == PDF:
        return "pdf"
    if content_type in TEXT_TYPES or content_type.startswith("text/"):
        return "text"
    return None


def check_upload(
    data: bytes,
    name: str | None,
    declared: str | None,
    *,
    max_bytes: int,
    allowed: list[str],
) -> CheckedFile:
    """The upload as it will be stored, or an ApiError saying exactly what is wrong."""
    if not data:
        raise reject(422, "upload_empty", "the file is empty")
    if len(data) > max_bytes:
        raise reject(
            413, "upload_too_large", f"the file is larger than the limit of {max_bytes} bytes"
        )
    filename = clean_name(name)
    declared = (declared or "").split(";")[0].strip().lower()
    if declared in ACTIVE or PurePath(filename).suffix.lower() in {".html", ".htm", ".svg"}:
        raise reject(415, "upload_type_not_allowed", f"{declared or filename} is never allowed")
    sniffed = sniff(data)
    if sniffed == "text/plain":
        if declared in TEXT_TYPES:
            sniffed = declared
        else:
            sniffed = TEXT_BY_SUFFIX.get(PurePath(filename).suffix.lower(), "text/plain")
    if sniffed is None or sniffed not in allowed:
        what = sniffed or "not a recognised file type"
        raise reject(
            415,
            "upload_type_not_allowed",
            f"{what} is not allowed; allowed types: {', '.join(allowed)}",
        )
    if declared not in VAGUE and family(declared) != family(sniffed):
        raise reject(
            415,
            "upload_type_mismatch",
            f"the file was declared as {declared} but its contents are {sniffed}",
        )
    kind = family(sniffed) or "text"
    pages, text = None, None
    if kind == "pdf":
        pages, text = read_pdf(data)
    elif kind == "text":
        text = data.decode("utf-8-sig")[:MAX_STORED_TEXT]
    digest = hashlib.sha256(data).hexdigest()
    return CheckedFile(filename, sniffed, kind, data, digest, pages, text)


def read_pdf(data: bytes) -> tuple[int, str]:
    """The page count and the text of a PDF's first pages; `upload_corrupt` if unreadable."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise reject(422, "upload_corrupt", "the PDF is protected by a password")
        pages = len(reader.pages)
        parts: list[str] = []
        chars = 0
        for page in reader.pages[:MAX_PDF_PAGES_READ]:
            part = page.extract_text() or ""
            parts.append(part)
            chars += len(part)
            if chars >= MAX_STORED_TEXT:
                break
    except ApiError:
        raise
    except Exception as exc:  # pypdf raises many kinds for broken files
        log.info("refused an unreadable PDF: %s", exc)
        raise reject(422, "upload_corrupt", "the PDF cannot be read (it is damaged)") from None
    if pages == 0:
        raise reject(422, "upload_corrupt", "the PDF has no pages")
    text = "\n\n".join(parts).replace("\x00", "")[:MAX_STORED_TEXT]
    return pages, text
