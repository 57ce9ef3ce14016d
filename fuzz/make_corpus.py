#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target under fuzz/corpus/TARGET/ (a few valid files,
kilobytes in all). Standard library only, except JPEG and GIF seeds, written when Pillow is
installed. Deterministic: rerunning it rewrites the same bytes.

The architecture-file seeds are tests/fixtures/import/arch.json and the files named on the
command line (the built-in architectures, written by `vaecam export-arch`: see
fuzz/README.md), stored minified so that mutations stay short.

Usage: python3 fuzz/make_corpus.py [NAME=ARCH.json ...]
"""

import io
import json
import struct
import sys
import zipfile
import zlib
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
CORPUS = FUZZ / "corpus"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


# --- safetensors: 8-byte little-endian header length, JSON header, data section --------
def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {
            "dtype": dtype,
            "shape": shape,
            "data_offsets": [len(data), len(data) + len(raw)],
        }
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # the format pads the header to 8 bytes
    return struct.pack("<Q", len(h)) + h + data


def f32(values):
    return struct.pack(f"<{len(values)}f", *values)


def f16(values):
    return struct.pack(f"<{len(values)}e", *values)


def bf16(values):
    return b"".join(struct.pack("<f", v)[2:] for v in values)


# The fuzz target loads into targets "weight" [2, 3] and "bias" [3]: these seeds match them.
weight, bias = [0.5, -1.0, 2.0, 0.25, 0.0, -3.5], [1.0, 2.0, 3.0]
write("safetensors", "f32.safetensors",
      safetensors([("bias", "F32", [3], f32(bias)), ("weight", "F32", [2, 3], f32(weight))]))
write("safetensors", "f16_meta.safetensors",
      safetensors([("bias", "F16", [3], f16(bias)), ("weight", "F16", [2, 3], f16(weight))],
                  {"format": "pt", "step": "7"}))
write("safetensors", "bf16_int.safetensors",
      safetensors([("bias", "BF16", [3], bf16(bias)), ("weight", "BF16", [2, 3], bf16(weight)),
                   ("num_batches_tracked", "I64", [], struct.pack("<q", 12))]))
write("safetensors", "f64_extra.safetensors",
      safetensors([("bias", "F64", [3], struct.pack("<3d", *bias)),
                   ("weight", "F32", [2, 3], f32(weight)),
                   ("unused.scalar", "F32", [], f32([4.0]))]))


# --- images ------------------------------------------------------------------------------
def png(width, height, color_type, bit_depth, rows, palette=None, trns=None):
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    raw = b"".join(b"\x00" + r for r in rows)  # filter type 0 on every row
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    if palette is not None:
        out += chunk(b"PLTE", palette)
    if trns is not None:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


W = H = 8
gray = [bytes((x * 32 + y * 4) % 256 for x in range(W)) for y in range(H)]
rgb = [bytes(v for x in range(W) for v in (x * 32, y * 32, 128)) for y in range(H)]
rgba = [bytes(v for x in range(W) for v in (x * 32, y * 32, 128, (x + y) * 16)) for y in range(H)]
gray16 = [b"".join(struct.pack(">H", (x * 8000 + y * 300) % 65536) for x in range(W))
          for y in range(H)]
gray_alpha = [bytes(v for x in range(W) for v in (x * 32, 255 - y * 32)) for y in range(H)]
palette_rows = [bytes(((x >> 1) << 4) | (x >> 1) ^ (y & 3) for x in range(0, W, 2)) for y in range(H)]
write("image", "gray8.png", png(W, H, 0, 8, gray))
write("image", "rgb8.png", png(W, H, 2, 8, rgb))
write("image", "rgba8.png", png(W, H, 6, 8, rgba))
write("image", "gray16.png", png(W, H, 0, 16, gray16))
write("image", "gray_alpha8.png", png(W, H, 4, 8, gray_alpha))
write("image", "palette4.png",
      png(W, H, 3, 4, palette_rows, palette=bytes(range(48)), trns=b"\x00\x80"))
mask = [bytes(255 if 2 <= x < 5 else 0 for x in range(W)) for y in range(H)]
write("image", "mask_0_255.png", png(W, H, 0, 8, mask))


def bmp24(width, height):
    row = (3 * width + 3) // 4 * 4
    pixels = b"".join(
        bytes(v for x in range(width) for v in (x * 30, y * 30, 200)).ljust(row, b"\x00")
        for y in range(height))
    header = struct.pack("<2sIHHI", b"BM", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return header + info + pixels


write("image", "rgb24.bmp", bmp24(W, H))
try:
    from PIL import Image

    img = Image.frombytes("RGB", (W, H), b"".join(rgb))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    write("image", "rgb.jpg", buf.getvalue())
    buf = io.BytesIO()
    img.convert("L").save(buf, format="JPEG", quality=75, progressive=True)
    write("image", "gray_progressive.jpg", buf.getvalue())
    buf = io.BytesIO()
    img.convert("P").save(buf, format="GIF")
    write("image", "palette.gif", buf.getvalue())
except ImportError:
    print("Pillow is not installed: no JPEG or GIF seeds written")


# --- npy / npz ---------------------------------------------------------------------------
def npy(descr, shape, raw, version=1):
    shape_text = repr(tuple(shape))  # what numpy writes: (5,), (2, 4, 4), ()
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}"
    prefix = 10 if version == 1 else 12
    header += " " * (-(prefix + len(header) + 1) % 64) + "\n"
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header.encode() + raw


imgs = npy("|u1", [2, 4, 4], bytes((i * 7) % 2 for i in range(32)))
values = npy("<f8", [2, 6], struct.pack("<12d", *[i / 4 for i in range(12)]))
classes = npy("<i8", [2, 6], struct.pack("<12q", *range(12)))
write("npz", "u1_3d.npy", imgs)
write("npz", "f4_1d_v2.npy", npy("<f4", [5], f32([0.0, 1.5, -2.0, 3.25, 1e-3]), version=2))
write("npz", "i4_scalar_v3.npy", npy("<i4", [], struct.pack("<i", -42), version=3))
for name, method in [("stored.npz", zipfile.ZIP_STORED), ("deflated.npz", zipfile.ZIP_DEFLATED)]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for member, data in [("imgs.npy", imgs), ("latents_values.npy", values),
                             ("latents_classes.npy", classes)]:
            info = zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, data)
    write("npz", name, buf.getvalue())


# --- idx (MNIST) ---------------------------------------------------------------------------
write("idx", "images-idx3-ubyte",
      struct.pack(">IIII", 0x803, 3, 4, 4) + bytes((i * 37) % 256 for i in range(48)))
write("idx", "labels-idx1-ubyte", struct.pack(">II", 0x801, 5) + bytes([0, 7, 3, 9, 1]))
write("idx", "empty-images-idx3-ubyte", struct.pack(">IIII", 0x803, 0, 28, 28))

# --- architecture files --------------------------------------------------------------------
def minified(path):
    return json.dumps(json.loads(Path(path).read_text()), separators=(",", ":")).encode()


write("archfile", "import_fixture.json", minified(FUZZ.parent / "tests/fixtures/import/arch.json"))
for arg in sys.argv[1:]:
    name, path = arg.split("=", 1)
    write("archfile", f"{name}.json", minified(path))

print(f"seeds written under {CORPUS}")
