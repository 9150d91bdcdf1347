#!/usr/bin/env python3
"""Composites of real photographs with a known foreground, for testing and evaluating foreground estimation.

Owns the scenes: a foreground photo F and a different background photo B from scikit-image's sample data (Debian
package python3-skimage; chelsea and coffee are CC0, astronaut and rocket are NASA / SpaceX public-domain
photographs, see skimage.data's docstrings), an alpha with a soft-edged subject and hair-like strands, and the
composite I = alpha F + (1 - alpha) B rounded to 8 bits as a camera file would be. The true F is known exactly.

The alpha is synthetic but shaped like a real matte: an irregular blob with a soft (3-6 px) edge, and a few
hundred thin curved strands drawn at 4x resolution and box-filtered (partial coverage, widths about 0.3-1.5 px,
fading towards their tips), so that most of the unknown band is sub-pixel detail, as with hair or fur.
"""
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SCENES = [
    dict(name="chelsea-on-rocket", fg="chelsea", bg="rocket", seed=1),
    dict(name="astronaut-on-coffee", fg="astronaut", bg="coffee", seed=2),
    dict(name="coffee-on-chelsea", fg="coffee", bg="chelsea", seed=3),
    dict(name="rocket-on-astronaut", fg="rocket", bg="astronaut", seed=4),
]


def photo(name, w, h):
    """A scikit-image sample photo cropped to the aspect ratio w:h (centre) and resized with Lanczos, float32 0..1
    holding 8-bit values."""
    import skimage.data
    im = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
    W, H = im.size
    if W * h > H * w:  # too wide: crop the width
        cw = H * w // h
        im = im.crop(((W - cw) // 2, 0, (W - cw) // 2 + cw, H))
    else:
        ch = W * h // w
        im = im.crop((0, (H - ch) // 2, W, (H - ch) // 2 + ch))
    im = im.resize((w, h), Image.LANCZOS)
    return np.asarray(im, dtype=np.float32) / np.float32(255)


def hair_alpha(w, h, seed):
    """Soft blob plus hair strands, float32 0..1 (h x w)."""
    rng = np.random.default_rng(seed)
    s = 4  # supersampling of the strands
    cx, cy = w * 0.5, h * 0.55
    rx, ry = w * 0.3, h * 0.33
    # The blob: an ellipse with a wobbly radius, its edge softened by a smoothstep over a few pixels.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    ang = np.arctan2((yy - cy) / ry, (xx - cx) / rx)
    wobble = 1 + 0.08 * np.sin(3 * ang + rng.uniform(0, 6)) + 0.05 * np.sin(7 * ang + rng.uniform(0, 6))
    r = np.hypot((xx - cx) / rx, (yy - cy) / ry) / wobble
    soft = 4.0 / min(rx, ry)
    t = np.clip((1 + soft - r) / (2 * soft), 0, 1)
    blob = t * t * (3 - 2 * t)
    # The strands: random walks outward from the blob's edge, drawn at s x resolution.
    canvas = Image.new("L", (w * s, h * s), 0)
    draw = ImageDraw.Draw(canvas)
    n = int(0.9 * (w + h))
    for _ in range(n):
        a = rng.uniform(-np.pi, np.pi)
        wob = 1 + 0.08 * np.sin(3 * a) + 0.05 * np.sin(7 * a)
        x, y = cx + 0.9 * rx * wob * np.cos(a), cy + 0.9 * ry * wob * np.sin(a)
        heading = a + rng.normal(0, 0.35)
        length = rng.uniform(0.06, 0.22) * min(w, h)
        steps = 12
        width = rng.uniform(0.3, 1.5) * s
        pts = [(x * s, y * s)]
        for _k in range(steps):
            heading += rng.normal(0, 0.12)
            x += np.cos(heading) * length / steps
            y += np.sin(heading) * length / steps
            pts.append((x * s, y * s))
        for k in range(steps):  # fade towards the tip
            level = int(255 * (1 - 0.8 * k / steps))
            draw.line([pts[k], pts[k + 1]], fill=level, width=max(1, int(round(width))))
    strands = canvas.filter(ImageFilter.BoxBlur(s // 2)).resize((w, h), Image.BOX)
    hair = np.asarray(strands, dtype=np.float64) / 255
    alpha = np.maximum(blob, hair)
    return alpha.astype(np.float32)


def make_scene(scene, w, h):
    """(image, alpha, true F): image is the 8-bit composite as float32 0..1 (h x w x 3)."""
    F = photo(scene["fg"], w, h)
    B = photo(scene["bg"], w, h)
    alpha = hair_alpha(w, h, scene["seed"])
    a = alpha[:, :, None].astype(np.float64)
    I = np.round((a * F + (1 - a) * B) * 255) / 255
    return I.astype(np.float32), alpha, F


if __name__ == "__main__":
    import sys
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp"
    for sc in SCENES:
        I, a, F = make_scene(sc, 480, 360)
        Image.fromarray((I * 255).round().astype(np.uint8)).save(f"{out}/{sc['name']}.png")
        Image.fromarray((a * 255).round().astype(np.uint8)).save(f"{out}/{sc['name']}-alpha.png")
        band = (a > 0) & (a < 1)
        print(sc["name"], "unknown band", band.mean())
