#!/usr/bin/python3
# make_docs_pictures.py - the README's pictures of the dialog, from the screenshots the GIMP GUI test takes (step 5 of
# tests/gimp/gui_session.scm): the whole dialog in the overlay view, and the preview area in each view mode side by
# side, each cut out where the dialog's report says the preview is drawn. Not a test; needs python3-pil.
# Usage: tests/gimp/make_docs_pictures.py WORK_DIR DOCS_DIR   (WORK_DIR: the GIMP tests' work-release folder)
import re
import sys

from PIL import Image, ImageDraw

MODES = [("overlay", "Overlay"), ("on-black", "On black"), ("on-white", "On white"),
         ("on-checkerboard", "On checkerboard"), ("alpha", "Alpha"), ("trimap", "Trimap"),
         ("cutout", "Cut-out (decontaminated)")]


def picture_box(report):
    """The preview's drawn picture on the screen: (left, top, right, bottom)."""
    with open(report) as f:
        m = re.search(r"^preview-picture: (\d+) (\d+) (\d+) (\d+)$", f.read(), re.M)
    x, y, w, h = map(int, m.groups())
    return x, y, x + w, y + h


def main(work, docs):
    Image.open(f"{work}/dialog-preview-overlay.png").save(f"{docs}/dialog-preview.png", optimize=True)
    tiles = []
    for mode, title in MODES:
        shot = Image.open(f"{work}/gui-preview-{mode}.png").convert("RGB")
        tile = shot.crop(picture_box(f"{work}/preview-{mode}.txt"))
        tiles.append((tile, title))
    w, h = tiles[0][0].size
    columns, caption, gap = 4, 22, 8
    rows = (len(tiles) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * (w + gap) + gap, rows * (h + caption + gap) + gap), (60, 60, 60))
    draw = ImageDraw.Draw(sheet)
    for i, (tile, title) in enumerate(tiles):
        x = gap + (i % columns) * (w + gap)
        y = gap + (i // columns) * (h + caption + gap)
        draw.text((x, y + 4), title, fill=(230, 230, 230))
        sheet.paste(tile, (x, y + caption))
    sheet.save(f"{docs}/preview-modes.png", optimize=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
