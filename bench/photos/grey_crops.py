#!/usr/bin/env python3
# Issue 13 probe: 64x64 crops of scikit-image's bundled grey photos (CC0 / no known restrictions:
# camera, brick, grass, gravel, coins), replicated to RGB, added to make_data.py's train crops.
#
#   python grey_crops.py SRC OUT PER    # SRC: make_data.py's folder; OUT gets SRC's train/ (copied)
#                                       # + PER crops of each grey photo, and SRC's val/ and test/
# Seeded (numpy default_rng(1)). NOTES.md, "grey CC0 photos added", has the figures.
import os, sys, shutil
import numpy as np
from PIL import Image
import skimage.data as skd
src, out, per = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(1)
os.makedirs(out + "/train", exist_ok=True)
for f in os.listdir(src + "/train"):
    shutil.copy(os.path.join(src, "train", f), os.path.join(out, "train", f))
for d in ("val", "test"):
    if not os.path.exists(os.path.join(out, d)):
        shutil.copytree(os.path.join(src, d), os.path.join(out, d))
k = 0
for name in ("camera", "brick", "grass", "gravel", "coins"):
    img = getattr(skd, name)()
    assert img.ndim == 2 and img.dtype == np.uint8, (name, img.shape)
    h, w = img.shape
    for _ in range(per):
        while True:
            y, x = int(rng.integers(0, h - 63)), int(rng.integers(0, w - 63))
            c = img[y:y + 64, x:x + 64]
            if (c / 255.0).std() >= 2 / 255:
                break
        if rng.random() < 0.1:
            c = c[:, ::-1]
        Image.fromarray(np.repeat(c[:, :, None], 3, axis=2), "RGB").save(f"{out}/train/g{k:04d}_{name}_y{y}_x{x}.png")
        k += 1
print(out, k, "grey crops added;", len(os.listdir(out + "/train")), "in train")
