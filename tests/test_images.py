"""The image path: resizing to a profile, errors naming the file, memory/disk caching, worker threads."""

from __future__ import annotations

import asyncio
import base64
import io
import threading
from pathlib import Path

import pytest
from PIL import Image as PILImage

from evalkit import images
from evalkit.images import ImageError, ImageProfile, encode_image, encode_image_async, encode_images_async
from evalkit.types import Image


@pytest.fixture(autouse=True)
def _fresh_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALKIT_IMAGE_CACHE", str(tmp_path / "imgcache"))
    images.clear_memory_cache()
    monkeypatch.setattr(images, "stats", images.CacheStats())


def png(path: Path, size: tuple[int, int] = (64, 32), mode: str = "RGB", color: object = (200, 30, 30)) -> Path:
    PILImage.new(mode, size, color).save(path, format="PNG")
    return path


def decoded(enc: images.EncodedImage) -> PILImage.Image:
    return PILImage.open(io.BytesIO(base64.b64decode(enc.b64)))


def test_small_png_is_sent_unchanged(tmp_path: Path) -> None:
    p = png(tmp_path / "a.png")
    enc = encode_image(Image(str(p)))
    assert base64.b64decode(enc.b64) == p.read_bytes()
    assert (enc.mime, enc.width, enc.height) == ("image/png", 64, 32)
    assert enc.sha256 == Image(str(p)).sha256


def test_resized_to_max_side_and_max_pixels(tmp_path: Path) -> None:
    p = png(tmp_path / "big.png", (1000, 500))
    enc = encode_image(Image(str(p)), ImageProfile(max_side=200, max_pixels=None, max_bytes=None))
    assert (enc.width, enc.height) == (200, 100) == decoded(enc).size
    enc2 = encode_image(Image(str(p)), ImageProfile(max_side=None, max_pixels=10_000, max_bytes=None))
    assert enc2.width * enc2.height <= 10_000 and abs(enc2.width - 2 * enc2.height) <= 1


def test_jpeg_profile_flattens_transparency(tmp_path: Path) -> None:
    p = png(tmp_path / "t.png", (40, 40), "RGBA", (0, 0, 0, 0))
    enc = encode_image(Image(str(p)), ImageProfile(format="JPEG"))
    im = decoded(enc)
    assert enc.mime == "image/jpeg" and im.format == "JPEG" and im.mode == "RGB"
    assert im.getpixel((20, 20))[0] > 240  # transparent became white, not black


def test_max_bytes_shrinks_until_it_fits(tmp_path: Path) -> None:
    import random

    rng = random.Random(0)
    noisy = PILImage.frombytes("RGB", (300, 300), bytes(rng.randrange(256) for _ in range(300 * 300 * 3)))
    p = tmp_path / "noise.png"
    noisy.save(p)
    enc = encode_image(Image(str(p)), ImageProfile(max_bytes=60_000))
    assert enc.nbytes <= 60_000 and enc.width < 300


def test_bytes_and_pil_sources(tmp_path: Path) -> None:
    pil = PILImage.new("L", (10, 20), 128)
    a = encode_image(Image(pil, label="image 1"))
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    b = encode_image(Image(buf.getvalue()))
    assert (a.width, a.height) == (b.width, b.height) == (10, 20)
    assert a.sha256 == b.sha256


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "fig_3.png"
    with pytest.raises(ImageError, match=r"fig_3\.png.*cannot read"):
        encode_image(Image(str(missing)))


def test_corrupt_and_truncated_files_name_the_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not an image at all")
    with pytest.raises(ImageError, match=r"junk\.png: not a decodable image"):
        encode_image(Image(str(junk)))
    whole = png(tmp_path / "whole.png", (300, 300), color=(1, 2, 3)).read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ImageError, match=r"cut\.png"):
        encode_image(Image(str(cut)), ImageProfile(max_side=100))


def test_urls_are_not_fetched_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVALKIT_FETCH_IMAGES", raising=False)
    with pytest.raises(ImageError, match=r"https://example\.invalid/x\.png: URLs in data are not fetched"):
        encode_image(Image("https://example.invalid/x.png"))


def test_urls_resolve_to_a_local_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "example.org" / "figs").mkdir(parents=True)
    png(mirror / "example.org" / "figs" / "a b.png", (30, 20))
    png(mirror / "flat.png", (10, 10))
    monkeypatch.setenv("EVALKIT_IMAGE_MIRROR", str(mirror))
    assert encode_image(Image("https://example.org/figs/a%20b.png")).width == 30
    assert encode_image(Image("http://cdn.example.net/x/y/flat.png")).width == 10
    with pytest.raises(ImageError, match=r"missing\.png: URLs in data are not fetched.*EVALKIT_IMAGE_MIRROR"):
        encode_image(Image("https://example.org/missing.png"))


def test_second_encoding_comes_from_memory(tmp_path: Path) -> None:
    p = png(tmp_path / "m.png", (500, 500))
    prof = ImageProfile(max_side=100)
    first = encode_image(Image(str(p)), prof)
    second = encode_image(Image(str(p)), prof)  # a fresh Image object for the same file
    assert first == second
    assert images.stats.decoded == 1 and images.stats.memory_hits == 1


def test_resume_reads_encodings_from_disk_without_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [png(tmp_path / f"r{i}.png", (400, 300), color=(i, 0, 0)) for i in range(5)]
    prof = ImageProfile(max_side=128)
    before = [encode_image(Image(str(p)), prof) for p in paths]
    assert images.stats.decoded == 5 and images.stats.disk_writes == 5
    images.clear_memory_cache()  # as a new process would start

    def no_decode(*_a: object, **_k: object) -> None:
        raise AssertionError("decoded again on resume")

    monkeypatch.setattr(images, "_decode", no_decode)
    after = [encode_image(Image(str(p)), prof) for p in paths]
    assert after == before and images.stats.disk_hits == 5


def test_profiles_are_cached_separately(tmp_path: Path) -> None:
    p = png(tmp_path / "p.png", (400, 400))
    small = encode_image(Image(str(p)), ImageProfile(max_side=100))
    big = encode_image(Image(str(p)), ImageProfile(max_side=200))
    assert (small.width, big.width) == (100, 200)
    assert images.stats.decoded == 2


def test_torn_disk_entry_is_encoded_again(tmp_path: Path) -> None:
    p = png(tmp_path / "torn.png", (300, 300))
    prof = ImageProfile(max_side=50)
    enc = encode_image(Image(str(p)), prof)
    entry = images._disk_path(enc.sha256, prof)
    assert entry is not None and entry.exists()
    entry.write_bytes(entry.read_bytes()[:-10])
    images.clear_memory_cache()
    assert encode_image(Image(str(p)), prof) == enc
    assert images.stats.decoded == 2


def test_disk_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALKIT_IMAGE_CACHE", "0")
    encode_image(Image(str(png(tmp_path / "off.png", (300, 300)))), ImageProfile(max_side=50))
    assert images.stats.disk_writes == 0


def test_async_decodes_on_worker_threads_and_shares_jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = png(tmp_path / "a.png", (600, 600))
    threads: list[int] = []
    real = images._decode

    def spy(*args: object, **kw: object) -> object:
        threads.append(threading.get_ident())
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(images, "_decode", spy)

    async def main() -> tuple[int, list[images.EncodedImage]]:
        loop_thread = threading.get_ident()
        img = Image(str(p))
        many = await asyncio.gather(*(encode_image_async(img, ImageProfile(max_side=64)) for _ in range(8)))
        return loop_thread, list(many)

    loop_thread, many = asyncio.run(main())
    assert threads and loop_thread not in threads
    assert len(threads) == 1  # eight awaits, one decode
    assert all(e == many[0] for e in many) and many[0].width == 64


def test_async_error_names_the_file(tmp_path: Path) -> None:
    ok = png(tmp_path / "ok.png")
    with pytest.raises(ImageError, match="gone.png"):
        asyncio.run(encode_images_async([Image(str(ok)), Image(str(tmp_path / "gone.png"))]))


def test_resume_does_not_read_originals_whose_encoding_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = png(tmp_path / "big.png", (900, 600))
    prof = ImageProfile(max_side=90)
    first = encode_image(Image(str(p)), prof)
    images.clear_memory_cache()  # a new process

    def no_read(*_a: object, **_k: object) -> bytes:
        raise AssertionError("read the original again")

    monkeypatch.setattr(images, "read_bytes", no_read)
    assert encode_image(Image(str(p)), prof) == first


def test_a_changed_file_is_encoded_again(tmp_path: Path) -> None:
    p = png(tmp_path / "c.png", (300, 200), color=(255, 0, 0))
    prof = ImageProfile(max_side=30)
    red = encode_image(Image(str(p)), prof)
    png(p, (300, 210), color=(0, 0, 255))  # same name, new content
    images.clear_memory_cache()
    blue = encode_image(Image(str(p)), prof)
    assert blue.sha256 != red.sha256 and decoded(blue).convert("RGB").getpixel((5, 5)) == (0, 0, 255)


@pytest.mark.parametrize("mode", ["P", "1", "LA", "CMYK", "I;16"])
def test_every_common_mode_resizes(tmp_path: Path, mode: str) -> None:
    p = tmp_path / f"m.{'jpg' if mode == 'CMYK' else 'png'}"
    PILImage.new("RGB", (400, 100), (10, 200, 30)).convert(mode).save(p)
    for fmt in ("PNG", "JPEG"):
        enc = encode_image(Image(str(p)), ImageProfile(max_side=100, format=fmt))
        assert (enc.width, enc.height) == (100, 25) == decoded(enc).size
