"""The photo restoration benchmark's data, from colour photos bundled inside the scikit-image and
scikit-learn wheels (no download; origins and licences in bench/photos/PHOTOS.md).

    python make_data.py OUT_DIR [--seed S] [--crops N]

Writes (all 8-bit RGB PNG):
  OUT/train/         N (default 2000) 64x64 crops at seeded random positions in the TRAIN photos,
                     the same number from each photo; 10% of them flipped left-right; crops that
                     are nearly flat (pixel standard deviation < 2/255, e.g. the black surround of
                     the retina) are drawn again
  OUT/train_full/    the TRAIN photos whole
  OUT/val/           the VAL photo(s) whole
  OUT/test/clean/    the TEST photos, cropped to their top-left 424x640 (sides divisible by 4)
  OUT/test/noisy25/  clean + Gaussian noise of sigma 25/255 (NumPy, seeded), clipped to [0, 1],
                     rounded to 8 bits
  OUT/test/lowres_x2/, OUT/test/lowres_x4/
                     clean downscaled by 2 and 4 with PIL's Image.resize(..., Image.BICUBIC)
                     (Keys a = -0.5, antialiased: the kernel is widened by the factor, as MATLAB's
                     imresize), rounded to 8 bits
  OUT/manifest.json  the split, the sources, the settings and the sha256 of every file written
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
from PIL import Image

SIGMA = 25.0
CROP = 64
FLAT_STD = 2.0 / 255.0
FLIP_FRACTION = 0.1
TEST_SIZE = (424, 640)  # rows, cols: divisible by 4

# name -> (loader, file inside the installed package)
# motorcycle_left (Middlebury 2014) is left out: scikit-image states no licence for it, and the
# weights trained here ship inside aekit.
TRAIN = ["astronaut", "chelsea", "rocket", "hubble_deep_field",
         "immunohistochemistry", "retina"]
VAL = ["coffee"]
TEST = ["china", "flower"]


def load_photo(name):
    """(H, W, 3) uint8 array and the file it came from."""
    if name in ("china", "flower"):
        import sklearn.datasets as skd
        img = skd.load_sample_image(name + ".jpg")
        path = os.path.join(os.path.dirname(skd.__file__), "images", name + ".jpg")
        return np.asarray(img), path
    # Every loader used here reads a file bundled in the wheel (no pooch download).
    import skimage
    import skimage.data as skdata
    data_dir = os.path.join(os.path.dirname(skimage.__file__), "data")
    files = {"astronaut": "astronaut.png", "chelsea": "chelsea.png", "coffee": "coffee.png",
             "rocket": "rocket.jpg", "hubble_deep_field": "hubble_deep_field.jpg",
             "immunohistochemistry": "ihc.png", "motorcycle_left": "motorcycle_left.png",
             "retina": "retina.jpg"}
    if name == "motorcycle_left":
        img = skdata.stereo_motorcycle()[0]
    else:
        img = getattr(skdata, name)()
    path = os.path.join(data_dir, files[name])
    if not os.path.isfile(path):
        sys.exit(f"error: {path} is not bundled with this scikit-image")
    img = np.asarray(img)
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8, (name, img.shape, img.dtype)
    return img, path


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save(arr, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(arr, "RGB").save(path)


def crops(photos, n, rng):
    """n crops, n // len(photos) (+1 for the first n % len(photos)) from each photo."""
    out = []
    per = [n // len(photos) + (i < n % len(photos)) for i in range(len(photos))]
    flips = set(rng.choice(n, size=int(round(FLIP_FRACTION * n)), replace=False).tolist())
    redrawn = {}
    k = 0
    for (name, img), m in zip(photos, per):
        h, w, _ = img.shape
        redrawn[name] = 0
        for _ in range(m):
            while True:
                y = int(rng.integers(0, h - CROP + 1))
                x = int(rng.integers(0, w - CROP + 1))
                c = img[y:y + CROP, x:x + CROP]
                if (c.astype(np.float64) / 255.0).std() >= FLAT_STD:
                    break
                redrawn[name] += 1
            flip = k in flips
            if flip:
                c = c[:, ::-1]
            out.append((f"{k:04d}_{name}_y{y}_x{x}{'_flip' if flip else ''}",
                        np.ascontiguousarray(c), name))
            k += 1
    return out, redrawn


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--crops", type=int, default=2000)
    a = ap.parse_args()
    out = a.out
    if os.path.exists(out) and os.listdir(out):
        sys.exit(f"error: {out} exists and is not empty")
    rng = np.random.default_rng(a.seed)
    written = []
    sources = {}

    def put(arr, rel):
        p = os.path.join(out, rel)
        save(arr, p)
        written.append(rel)

    photos = {}
    for name in TRAIN + VAL + TEST:
        img, src = load_photo(name)
        photos[name] = img
        sources[name] = {"file": os.path.relpath(src, os.path.dirname(os.path.dirname(np.__file__))),
                         "sha256": sha256(src), "shape": list(img.shape)}

    for name in TRAIN:
        put(photos[name], f"train_full/{name}.png")
    for name in VAL:
        put(photos[name], f"val/{name}.png")
    cs, redrawn = crops([(n, photos[n]) for n in TRAIN], a.crops, rng)
    for stem, c, _ in cs:
        put(c, f"train/{stem}.png")

    th, tw = TEST_SIZE
    noise_rng = np.random.default_rng([a.seed, 25])
    for name in TEST:
        img = photos[name]
        assert img.shape[0] >= th and img.shape[1] >= tw, (name, img.shape)
        clean = np.ascontiguousarray(img[:th, :tw])
        put(clean, f"test/clean/{name}.png")
        x = clean.astype(np.float64) / 255.0
        noisy = np.clip(x + (SIGMA / 255.0) * noise_rng.standard_normal(x.shape), 0.0, 1.0)
        put(np.round(noisy * 255.0).astype(np.uint8), f"test/noisy25/{name}.png")
        for s in (2, 4):
            lr = Image.fromarray(clean, "RGB").resize((tw // s, th // s), Image.BICUBIC)
            put(np.asarray(lr), f"test/lowres_x{s}/{name}.png")

    manifest = {
        "seed": a.seed,
        "split": {"train": TRAIN, "val": VAL, "test": TEST},
        "sources": sources,
        "train_crops": {"count": len(cs), "size": CROP, "flipped_left_right": sum(s.endswith("_flip") for s, _, _ in cs),
                        "per_photo": {n: sum(1 for _, _, p in cs if p == n) for n in TRAIN},
                        "flat_redrawn_per_photo": redrawn, "flat_std_below": FLAT_STD},
        "test": {"crop": "top-left %dx%d" % TEST_SIZE, "noise": "gaussian sigma 25/255, clipped to [0,1], rounded to 8 bits",
                 "noise_seed": [a.seed, 25],
                 "downscale": "PIL Image.resize BICUBIC (a=-0.5, antialiased), x2 and x4"},
        "files": {rel: sha256(os.path.join(out, rel)) for rel in sorted(written)},
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(json.dumps({"out": out, "files": len(written), "train_crops": len(cs),
                      "train": TRAIN, "val": VAL, "test": TEST}))


if __name__ == "__main__":
    main()
