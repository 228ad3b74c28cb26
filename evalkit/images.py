"""The image path: read, decode, resize to a provider's limits, re-encode, and cache by content.

This module owns turning an :class:`~evalkit.types.Image` into the bytes an adapter sends.

* :func:`encode_image` (synchronous) and :func:`encode_image_async` (decodes on a worker thread
  pool, never on the event loop; concurrent requests for the same image share one job).
* Results are cached by the image's content hash **and** the adapter's :class:`ImageProfile`:
  in memory (an LRU bounded by bytes) and on disk under ``$EVALKIT_IMAGE_CACHE`` (default
  ``$EVALKIT_CACHE_DIR/images``, ``~/.cache/evalkit/images``; ``EVALKIT_IMAGE_CACHE=0`` turns the
  disk cache off), so a resumed run of 10,000 image questions reads each encoding back instead of
  decoding it again. A file is hashed once per (path, size, mtime), remembered on disk too, so a
  resume does not even read an original whose encoding is cached.
* A missing, unreadable or corrupt image raises :class:`ImageError` whose message names the file.
  URLs in data are resolved to local files under ``EVALKIT_IMAGE_MIRROR`` and never fetched unless
  ``EVALKIT_FETCH_IMAGES=1``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import os
import threading
import urllib.parse
import urllib.request
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.types import Image

ENCODER_VERSION = 2  # bump when the encoding of a given (image, profile) changes
MEMORY_BUDGET = 256 * 1024 * 1024  # bytes of base64 kept in the in-memory LRU
_EXIF_ORIENTATION = 0x0112


class ImageError(EvalkitError, ValueError):
    """An image that cannot be read or decoded; the message names the file."""


@dataclass(frozen=True)
class ImageProfile:
    """Per-provider limits. ``None`` means no limit."""

    max_side: int | None = 2048
    max_pixels: int | None = 2048 * 2048
    max_bytes: int | None = 5 * 1024 * 1024
    format: str = "PNG"  # PNG or JPEG
    jpeg_quality: int = 90
    png_compress_level: int = 3  # zlib level for re-encoded PNGs: 3 is ~35% faster than 6, a little larger

    @cached_property
    def key(self) -> str:
        """A short stable name for this profile (and the encoder version), used in cache paths."""
        text = json.dumps({**asdict(self), "v": ENCODER_VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


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

    @property
    def nbytes(self) -> int:
        return len(self.b64) * 3 // 4


@dataclass
class CacheStats:
    """Counters of where encodings came from (for benchmarks and tests)."""

    decoded: int = 0
    memory_hits: int = 0
    disk_hits: int = 0
    disk_writes: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


_lock = threading.RLock()
_memory: OrderedDict[tuple[str, str], EncodedImage] = OrderedDict()
_memory_bytes = 0
_path_sha: dict[tuple[str, int, int], str] = {}
_inflight: dict[tuple[Hashable, str], Future[EncodedImage]] = {}
_pool_holder: list[ThreadPoolExecutor] = []
stats = CacheStats()


# ----- public API -----------------------------------------------------------------------------


def encode_image(image: Image, profile: ImageProfile = ImageProfile()) -> EncodedImage:
    """The image resized and encoded for ``profile``, from the memory or disk cache when possible."""
    name = describe(image)
    sha, raw = _hash_source(image, name)
    key = (sha, profile.key)
    hit = _memory_get(key)
    if hit is not None:
        return hit
    enc = _disk_get(sha, profile, raw, image, name)
    if enc is None:
        if raw is None:
            raw = read_bytes(image)
        enc, same = _encode(raw, sha, profile, name)
        _disk_put(enc, profile, same)
    _memory_put(key, enc)
    return enc


async def encode_image_async(image: Image, profile: ImageProfile = ImageProfile()) -> EncodedImage:
    """:func:`encode_image` on the worker pool; callers awaiting the same image share one job."""
    return await asyncio.wrap_future(submit(image, profile))


async def encode_images_async(images: Iterable[Image], profile: ImageProfile = ImageProfile()) -> list[EncodedImage]:
    """Several images encoded concurrently on the worker pool, in order."""
    return list(await asyncio.gather(*(encode_image_async(img, profile) for img in images)))


def submit(image: Image, profile: ImageProfile = ImageProfile()) -> Future[EncodedImage]:
    """Start encoding ``image`` on the worker pool (or join the job already encoding it)."""
    key = (_source_key(image), profile.key)
    with _lock:
        fut = _inflight.get(key)
        if fut is None:
            fut = _pool().submit(encode_image, image, profile)
            _inflight[key] = fut
            fut.add_done_callback(lambda _f, k=key: _forget(k))
    return fut


def describe(image: Image) -> str:
    """How an error message names an image: its path, or its kind and label."""
    if image.path is not None:
        return image.path
    kind = "bytes" if isinstance(image.source, bytes | bytearray) else type(image.source).__name__
    return f"<{kind}{' ' + image.label if image.label else ''}>"


def read_bytes(image: Image) -> bytes:
    """The image's original bytes; a missing or unreadable file is an :class:`ImageError`."""
    src = image.source
    if isinstance(src, str) and src.startswith(("http://", "https://")):
        return _fetch(src)
    try:
        return image.data()
    except OSError as exc:
        raise ImageError(f"image {describe(image)}: cannot read ({exc.strerror or exc})") from None
    except TypeError as exc:
        raise ImageError(f"image {describe(image)}: {exc}") from None


def check_image(image: Image) -> None:
    """That an image can be sent: a file that exists and is an image (its header names a format PIL reads),
    bytes that are one, a URL with a local mirror or fetching allowed. Cheap: nothing is decoded.
    Raises :class:`ImageError` naming the image."""
    src = image.source
    if hasattr(src, "save") and not isinstance(src, str | Path | bytes | bytearray):
        return  # an in-memory PIL image
    if isinstance(src, str) and src.startswith(("http://", "https://")):
        if mirrored(src) is None and os.environ.get("EVALKIT_FETCH_IMAGES") != "1":
            _fetch(src)  # raises the sentence saying how to provide it
        return
    if isinstance(src, str | Path):  # stat only: a FIFO must never be opened (it would hang)
        import stat

        try:
            mode = os.stat(src).st_mode
        except FileNotFoundError:
            raise ImageError(f"image {describe(image)} does not exist") from None
        except OSError as exc:
            raise ImageError(f"image {describe(image)} cannot be read ({exc.strerror or exc})") from None
        if stat.S_ISDIR(mode):
            raise ImageError(f"image {describe(image)} is a folder, not an image file")
        if not stat.S_ISREG(mode):
            raise ImageError(f"image {describe(image)} is not a regular file")
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        handle = io.BytesIO(bytes(src)) if isinstance(src, bytes | bytearray) else Path(src).open("rb")
        with handle, PILImage.open(handle) as im:
            im.size  # noqa: B018 - the header was read
    except UnidentifiedImageError:
        raise ImageError(f"image {describe(image)} is not an image (no format PIL can read)") from None
    except (OSError, ValueError, TypeError) as exc:
        raise ImageError(f"image {describe(image)} cannot be read ({exc})") from None


def clear_memory_cache() -> None:
    """Forget in-memory encodings and file hashes (the disk cache stays)."""
    global _memory_bytes
    with _lock:
        _memory.clear()
        _path_sha.clear()
        _memory_bytes = 0


def image_cache_dir() -> Path | None:
    """Where encodings are kept on disk, or ``None`` when ``EVALKIT_IMAGE_CACHE=0``."""
    env = os.environ.get("EVALKIT_IMAGE_CACHE")
    if env is not None:
        return None if env in ("", "0", "off", "none") else Path(env).expanduser()
    root = os.environ.get("EVALKIT_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "evalkit")
    return Path(root) / "images"


# ----- hashing and reading --------------------------------------------------------------------


def _source_key(image: Image) -> Hashable:
    src = image.source
    if isinstance(src, str | Path):
        return ("path", str(src))
    return (type(src).__name__, id(src))  # the in-flight job holds the object, so its id is stable


def _hash_source(image: Image, name: str) -> tuple[str, bytes | None]:
    """The content hash, reading the bytes only when a file's (size, mtime) is new to us."""
    cached = image.__dict__.get("_sha")
    if cached is not None:
        return cached, None
    path = image.path
    stamp: tuple[str, int, int] | None = None
    if path is not None and not path.startswith(("http://", "https://")):
        try:
            st = os.stat(path)
        except OSError as exc:
            raise ImageError(f"image {name}: cannot read ({exc.strerror or exc})") from None
        stamp = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
        with _lock:
            sha = _path_sha.get(stamp)
        if sha is None:
            sha = _stamp_read(stamp)
        if sha is not None:
            with _lock:
                _path_sha[stamp] = sha
            object.__setattr__(image, "_sha", sha)
            return sha, None
    raw = read_bytes(image)
    sha = hashlib.sha256(raw).hexdigest()
    object.__setattr__(image, "_sha", sha)  # the same cache slot Image.sha256 uses
    if stamp is not None:
        with _lock:
            _path_sha[stamp] = sha
        _stamp_write(stamp, sha)
    return sha, raw


def _stamp_path(stamp: tuple[str, int, int]) -> Path | None:
    """Where the disk cache remembers a file's hash, keyed by (absolute path, size, mtime)."""
    root = image_cache_dir()
    if root is None:
        return None
    key = hashlib.sha256("\0".join(map(str, stamp)).encode()).hexdigest()
    return root / "files" / key[:2] / key


def _stamp_read(stamp: tuple[str, int, int]) -> str | None:
    path = _stamp_path(stamp)
    if path is None:
        return None
    try:
        sha = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return sha if len(sha) == 64 else None


def _stamp_write(stamp: tuple[str, int, int], sha: str) -> None:
    path = _stamp_path(stamp)
    if path is None:
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(sha, encoding="ascii")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def mirrored(url: str) -> Path | None:
    """A local copy of an image URL under ``$EVALKIT_IMAGE_MIRROR``: ``<dir>/<host>/<path>`` or ``<dir>/<file name>``."""
    root = os.environ.get("EVALKIT_IMAGE_MIRROR")
    if not root:
        return None
    parsed = urllib.parse.urlparse(url)
    rel = urllib.parse.unquote(parsed.path).lstrip("/")
    for cand in (Path(root) / parsed.netloc / rel, Path(root) / Path(rel).name):
        if rel and cand.is_file():
            return cand
    return None


def _fetch(url: str) -> bytes:
    local = mirrored(url)
    if local is not None:
        return local.read_bytes()
    if os.environ.get("EVALKIT_FETCH_IMAGES") != "1":
        raise ImageError(
            f"image {url}: URLs in data are not fetched at run time; put the files under EVALKIT_IMAGE_MIRROR=DIR "
            "(as DIR/<host>/<path> or DIR/<file name>), or set EVALKIT_FETCH_IMAGES=1 to allow fetching"
        )
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 - the user opted in
            return bytes(resp.read())
    except OSError as exc:
        raise ImageError(f"image {url}: cannot fetch ({exc})") from None


# ----- decode, resize, encode -----------------------------------------------------------------


def _target_scale(w: int, h: int, profile: ImageProfile) -> float:
    scale = 1.0
    if profile.max_side and max(w, h) > profile.max_side:
        scale = min(scale, profile.max_side / max(w, h))
    if profile.max_pixels and w * h > profile.max_pixels:
        scale = min(scale, (profile.max_pixels / (w * h)) ** 0.5)
    return scale


def pil_reason(exc: BaseException) -> str:
    """PIL's complaint in words, without the ``<_io.BytesIO object at 0x…>`` it names the data by."""
    import re

    reason = re.sub(r"\s*<_io\.\w+ (?:object|name=[^>]*) at 0x[0-9a-f]+>|\s*<_io\.\w+ name=[^>]*>", "",
                    str(exc).split("\n")[0]).strip()
    if reason == "cannot identify image file":
        return "no image format PIL can read"
    return reason or type(exc).__name__


def _decode(raw: bytes, name: str, profile: ImageProfile) -> Any:
    """The decoded PIL image; JPEGs are decoded at reduced size when the profile shrinks them."""
    from PIL import Image as PILImage

    try:
        im = PILImage.open(io.BytesIO(raw))
        scale = _target_scale(im.size[0], im.size[1], profile)
        if scale < 0.5 and im.format == "JPEG":
            im.draft("RGB", (int(im.size[0] * scale) + 1, int(im.size[1] * scale) + 1))
        im.load()
    except Exception as exc:  # PIL raises many kinds for bad data
        raise ImageError(f"image {name}: not a decodable image ({pil_reason(exc)})") from None
    with _lock:
        stats.decoded += 1
    return im


def _for_format(im: Any, fmt: str) -> Any:
    from PIL import Image as PILImage

    if fmt == "JPEG":
        if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
            rgba = im.convert("RGBA")
            bg = PILImage.new("RGB", rgba.size, (255, 255, 255))
            bg.paste(rgba, mask=rgba.getchannel("A"))
            return bg
        return im if im.mode in ("RGB", "L") else im.convert("RGB")
    if im.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        return im.convert("RGBA" if "A" in im.mode else "RGB")
    return im


def _encode(raw: bytes, sha: str, profile: ImageProfile, name: str) -> tuple[EncodedImage, bool]:
    """Encode for ``profile``; the flag says the original bytes were kept as they were."""
    from PIL import Image as PILImage
    from PIL import ImageOps

    im = _decode(raw, name, profile)
    fmt = profile.format.upper()
    mime = f"image/{fmt.lower()}"
    rotated = im.getexif().get(_EXIF_ORIENTATION, 1) not in (1, None)
    if rotated:
        im = ImageOps.exif_transpose(im)
    w, h = im.size
    scale = _target_scale(w, h, profile)
    fits = not profile.max_bytes or len(raw) <= profile.max_bytes
    if scale == 1.0 and not rotated and (im.format or "").upper() == fmt and fits:
        return EncodedImage(mime, base64.b64encode(raw).decode(), sha, w, h), True
    im = _for_format(im, fmt)
    if scale != 1.0 and im.mode in ("1", "P", "I", "I;16"):  # resample in a mode that filters smoothly
        transparent = im.mode == "P" and "transparency" in im.info
        im = im.convert("RGBA" if transparent else ("L" if im.mode in ("1", "I", "I;16") else "RGB"))
    while True:
        size = (max(1, int(w * scale + 1e-9)), max(1, int(h * scale + 1e-9)))
        out = im.resize(size, PILImage.Resampling.LANCZOS, reducing_gap=3.0) if size != (w, h) else im
        buf = io.BytesIO()
        if fmt == "JPEG":
            out.save(buf, format=fmt, quality=profile.jpeg_quality)
        else:
            out.save(buf, format=fmt, compress_level=profile.png_compress_level)
        data = buf.getvalue()
        if not profile.max_bytes or len(data) <= profile.max_bytes or min(size) <= 16:
            return EncodedImage(mime, base64.b64encode(data).decode(), sha, size[0], size[1]), False
        scale *= 0.75


# ----- caches ---------------------------------------------------------------------------------


def _memory_get(key: tuple[str, str]) -> EncodedImage | None:
    with _lock:
        enc = _memory.get(key)
        if enc is not None:
            _memory.move_to_end(key)
            stats.memory_hits += 1
        return enc


def _memory_put(key: tuple[str, str], enc: EncodedImage) -> None:
    global _memory_bytes
    with _lock:
        if key in _memory:
            return
        _memory[key] = enc
        _memory_bytes += len(enc.b64)
        while _memory_bytes > MEMORY_BUDGET and len(_memory) > 1:
            _, old = _memory.popitem(last=False)
            _memory_bytes -= len(old.b64)


def _disk_path(sha: str, profile: ImageProfile) -> Path | None:
    root = image_cache_dir()
    return None if root is None else root / profile.key / sha[:2] / f"{sha}.img"


def _disk_get(sha: str, profile: ImageProfile, raw: bytes | None, image: Image, name: str) -> EncodedImage | None:
    """A cached encoding: a JSON header line, then the encoded bytes (none when the original is kept)."""
    path = _disk_path(sha, profile)
    if path is None:
        return None
    try:
        blob = path.read_bytes()
        head, _, body = blob.partition(b"\n")
        meta = json.loads(head)
        if meta.get("same"):
            if raw is None:  # the hash came from the file index: check the file still has it
                raw = read_bytes(image)
                if hashlib.sha256(raw).hexdigest() != sha:
                    return None
            body = raw
        elif len(body) != meta["size"]:
            return None  # a torn write; encode again
        enc = EncodedImage(meta["mime"], base64.b64encode(body).decode(), sha, int(meta["w"]), int(meta["h"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    with _lock:
        stats.disk_hits += 1
    return enc


def _disk_put(enc: EncodedImage, profile: ImageProfile, same: bool) -> None:
    path = _disk_path(enc.sha256, profile)
    if path is None:
        return
    body = b"" if same else base64.b64decode(enc.b64)
    head = {"mime": enc.mime, "w": enc.width, "h": enc.height, "same": same, "size": len(body)}
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(json.dumps(head).encode() + b"\n" + body)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        return  # a read-only or full cache folder only costs speed
    with _lock:
        stats.disk_writes += 1


# ----- worker pool ----------------------------------------------------------------------------


def _pool() -> ThreadPoolExecutor:
    if not _pool_holder:
        workers = int(os.environ.get("EVALKIT_IMAGE_THREADS") or min(8, (os.cpu_count() or 2) + 2))
        _pool_holder.append(ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="evalkit-image"))
    return _pool_holder[0]


def _forget(key: tuple[Hashable, str]) -> None:
    with _lock:
        _inflight.pop(key, None)
