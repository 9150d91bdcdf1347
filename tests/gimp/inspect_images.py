# inspect_images.py - the GIMP integration tests' eyes: reads the XCF files the Script-Fu tests saved.
# Runs inside gimp-console-3.0 (python-fu-eval), since only GIMP reads XCF and only libgimp reads drawables.
#
# For each XCF named in $VMP_INSPECT_LIST (one path a line) it writes, next to the file:
#   NAME.state      one line per fact: image size and precision, each layer's name, offsets, size, whether it has a
#                   mask (and, on a line of its own, whether the mask is switched on), and SHA-256 fingerprints of
#                   its pixels ("R'G'B'A float") and mask ("Y float"); each
#                   channel's name and fingerprint; the selection's fingerprint. Two states are equal exactly when
#                   the images are (as far as the plug-in could have changed them).
#   NAME.layerN.mask.f32   the mask of layer N as raw floats ("VMPF\n<w> <h>\n" then little-endian float32), for
#                   tests/gimp/compare_results.c.
#   NAME.layerN.pixels.f32 the pixels of layer N in the layer's own encoding (linear, non-linear or perceptual,
#                   with its alpha channel if any) as floats ("VMPC\n<w> <h> <channels>\n" then float32), for the
#                   decontamination checks of compare_results.c. (The selection's values do not survive XCF exactly in GIMP 3.0.4,
#                   so the Script-Fu side copies a selection to check into a layer mask first.)
import hashlib
import os

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio  # noqa: E402


def read(drawable, fmt):
    w, h = drawable.get_width(), drawable.get_height()
    buf = drawable.get_buffer()
    return w, h, bytes(buf.get(Gegl.Rectangle.new(0, 0, w, h), 1.0, fmt, Gegl.AbyssPolicy.NONE))


def fingerprint(drawable, fmt):
    return hashlib.sha256(read(drawable, fmt)[2]).hexdigest()[:16]


def dump(drawable, path):
    w, h, data = read(drawable, "Y float")
    with open(path, "wb") as f:
        f.write(b"VMPF\n%d %d\n" % (w, h))
        f.write(data)


def own_encoding(image, layer):
    """The babl encoding of the layer's own model with float samples, e.g. "R'G'B'A float"."""
    nick = image.get_precision().value_nick
    trc = "" if nick.endswith("-linear") and not nick.endswith("non-linear") else (
        "~" if nick.endswith("perceptual") else "'")
    grey = image.get_base_type() == Gimp.ImageBaseType.GRAY
    model = ("Y" + trc) if grey else "R{0}G{0}B{0}".format(trc)
    return model + ("A" if layer.has_alpha() else "") + " float", (1 if grey else 3) + (1 if layer.has_alpha() else 0)


def dump_pixels(image, layer, path):
    encoding, channels = own_encoding(image, layer)
    w, h, data = read(layer, encoding)
    with open(path, "wb") as f:
        f.write(b"VMPC\n%d %d %d\n" % (w, h, channels))
        f.write(data)


def inspect(path):
    base = path[:-4] if path.endswith(".xcf") else path
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))
    lines = ["image %dx%d base=%s precision=%s" % (image.get_width(), image.get_height(),
                                                   image.get_base_type().value_nick,
                                                   image.get_precision().value_nick)]
    for i, layer in enumerate(image.get_layers()):
        ok, ox, oy = layer.get_offsets()
        mask = layer.get_mask()
        lines.append("layer %d name=%s offset=%d,%d size=%dx%d alpha=%s mask=%s pixels=%s mask_pixels=%s" % (
            i, layer.get_name(), ox, oy, layer.get_width(), layer.get_height(), layer.has_alpha(),
            "yes" if mask else "no", fingerprint(layer, "R'G'B'A float"),
            fingerprint(mask, "Y float") if mask else "-"))
        lines.append("layer %d visible=%s" % (i, layer.get_visible()))
        dump_pixels(image, layer, "%s.layer%d.pixels.f32" % (base, i))
        if mask:
            lines.append("layer %d mask-applied=%s" % (i, layer.get_apply_mask()))
            dump(mask, "%s.layer%d.mask.f32" % (base, i))
    for channel in image.get_channels():
        lines.append("channel name=%s pixels=%s" % (channel.get_name(), fingerprint(channel, "Y float")))
    selection = image.get_selection()
    lines.append("selection empty=%s pixels=%s" % (Gimp.Selection.is_empty(image),
                                                   fingerprint(selection, "Y float")))
    with open(base + ".state", "w") as f:
        f.write("\n".join(lines) + "\n")
    image.delete()


with open(os.environ["VMP_INSPECT_LIST"]) as listing:
    for name in listing.read().split():
        inspect(name)
