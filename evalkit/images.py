"""The image path: decode, resize to a provider's limits, re-encode, cache by content and profile.

Adapters call :func:`encode_image` with an :class:`ImageProfile` (longest side, pixel count and
byte size limits); the result carries the encoded bytes as base64 plus the original's hash.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from functools import lru_cache

from evalkit.types import Image


class ImageError(ValueError):
    """An image that cannot be read or decoded; the message names the file."""


@dataclass(frozen=True)
class ImageProfile:
    """Per-provider limits. ``None`` means no limit."""

    max_side: int | None = 2048
    max_pixels: int | None = 2048 * 2048
    max_bytes: int | None = 5 * 1024 * 1024
    format: str = "PNG"  # PNG or JPEG


@dataclass(frozen=True)
class EncodedImage:
    mime: str
    b64: str
    sha256: str  # of the original bytes
    width: int
    height: int

    @property
    def data_url(self) -> str:
        return f"data:{self.mime};base64,{self.b64}"


def encode_image(image: Image, profile: ImageProfile = ImageProfile()) -> EncodedImage:
    try:
        raw = image.data()
    except OSError as exc:
        raise ImageError(f"image {image.path or '<bytes>'}: cannot read ({exc.strerror or exc})") from None
    return _encode_cached(raw, image.sha256, profile, image.path or "<bytes>")


@lru_cache(maxsize=4096)
def _encode_cached(raw: bytes, sha: str, profile: ImageProfile, name: str) -> EncodedImage:
    from PIL import Image as PILImage

    try:
        im = PILImage.open(io.BytesIO(raw))
        im.load()
    except Exception:
        raise ImageError(f"image {name}: not a decodable image") from None
    w, h = im.size
    scale = 1.0
    if profile.max_side and max(w, h) > profile.max_side:
        scale = min(scale, profile.max_side / max(w, h))
    if profile.max_pixels and w * h > profile.max_pixels:
        scale = min(scale, (profile.max_pixels / (w * h)) ** 0.5)
    fmt = profile.format.upper()
    if scale == 1.0 and (im.format or "").upper() == fmt and (not profile.max_bytes or len(raw) <= profile.max_bytes):
        return EncodedImage(f"image/{fmt.lower()}", base64.b64encode(raw).decode(), sha, w, h)
    while True:
        size = (max(1, int(w * scale)), max(1, int(h * scale)))
        out = im.resize(size, PILImage.Resampling.LANCZOS) if scale != 1.0 else im
        if fmt == "JPEG" and out.mode not in ("RGB", "L"):
            out = out.convert("RGB")
        buf = io.BytesIO()
        out.save(buf, format=fmt)
        data = buf.getvalue()
        if not profile.max_bytes or len(data) <= profile.max_bytes or min(size) <= 16:
            return EncodedImage(f"image/{fmt.lower()}", base64.b64encode(data).decode(), sha, size[0], size[1])
        scale *= 0.75
