"""Images per second through evalkit's image path: read → decode → resize → encode (→ cache).

Sets: the bundled generated figures (``tasks/figures/data``, 200 PNGs) and, when present, the
GAOKAO-MM figures (``../shared/data/gaokao-mm``, 142 PNGs). For each set and adapter profile it
prints:

* ``cold``      every image decoded, resized and encoded on one thread, no cache;
* ``pool``      the same through ``encode_images_async`` (worker threads), no cache;
* ``resume``    a new process's view: memory cache empty, encodings read back from the disk cache;
* ``memory``    the same images asked again in one process (in-memory hits).

Run: ``.venv/bin/python benchmarks/image_path.py [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from evalkit import images  # noqa: E402
from evalkit.images import ImageProfile, encode_image, encode_images_async  # noqa: E402
from evalkit.types import Image  # noqa: E402

PROFILES = {
    "png-2048 (default)": ImageProfile(),
    "jpeg-768": ImageProfile(max_side=768, max_pixels=768 * 768, format="JPEG"),
    "png-512": ImageProfile(max_side=512, max_pixels=512 * 512),
}


def image_sets() -> dict[str, list[Path]]:
    sets = {"figures (generated)": sorted((REPO / "tasks" / "figures" / "data" / "img").glob("*.png"))}
    mm = REPO.parent / "shared" / "data" / "gaokao-mm" / "Data"
    if mm.is_dir():
        sets["gaokao-mm figures"] = sorted(mm.rglob("*.png"))
    return {k: v for k, v in sets.items() if v}


def timed(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        images.clear_memory_cache()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def run(paths: list[Path], profile: ImageProfile, repeat: int, cache_root: Path) -> dict[str, float]:
    n = len(paths)
    fresh = lambda: [Image(str(p)) for p in paths]  # noqa: E731 - new Image objects: no hash carried over

    os.environ["EVALKIT_IMAGE_CACHE"] = "0"
    cold = timed(lambda: [encode_image(img, profile) for img in fresh()], repeat)
    pool = timed(lambda: asyncio.run(encode_images_async(fresh(), profile)), repeat)

    os.environ["EVALKIT_IMAGE_CACHE"] = str(cache_root)
    images.clear_memory_cache()
    for img in fresh():  # fill the disk cache
        encode_image(img, profile)
    resume = timed(lambda: [encode_image(img, profile) for img in fresh()], repeat)

    for img in fresh():
        encode_image(img, profile)
    start = time.perf_counter()
    for img in fresh():
        encode_image(img, profile)
    memory = time.perf_counter() - start
    return {"cold": n / cold, "pool": n / pool, "resume": n / resume, "memory": n / max(memory, 1e-9)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="best of N timings (default 3)")
    args = ap.parse_args()
    workers = os.environ.get("EVALKIT_IMAGE_THREADS") or min(8, (os.cpu_count() or 2) + 2)
    print(f"image path throughput, images/s (best of {args.repeat}); {os.cpu_count()} CPUs, {workers} worker threads")
    print(f"{'set':<22} {'n':>4} {'MB':>6} {'profile':<20} {'cold':>8} {'pool':>8} {'resume':>8} {'memory':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, paths in image_sets().items():
            mb = sum(p.stat().st_size for p in paths) / 1e6
            for pname, profile in PROFILES.items():
                r = run(paths, profile, args.repeat, Path(tmp) / pname.split()[0])
                print(f"{name:<22} {len(paths):>4} {mb:>6.2f} {pname:<20} {r['cold']:>8.0f} {r['pool']:>8.0f} "
                      f"{r['resume']:>8.0f} {r['memory']:>9.0f}")


if __name__ == "__main__":
    main()
