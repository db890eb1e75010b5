"""Deterministic stand-in photos for the demo: real JPEG files, small, and never of anyone.

Each picture is a gradient, a few shapes and a dotted pattern, all drawn from one seed, so the
same seed always gives the same bytes and hence the same SHA-256: a photo reused across demo
profiles (the scam ring's stolen pictures) is found by hash like in real life.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

SIZE = 256
CONTENT_TYPE = "image/jpeg"

Colour = tuple[int, int, int]


def _colour(rng: random.Random) -> Colour:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def _gradient(rng: random.Random) -> Image.Image:
    """Blend two colours along a gradient turned a random quarter."""
    mask = Image.linear_gradient("L").rotate(rng.choice((0, 90, 180, 270)))
    return Image.composite(Image.new("RGB", (SIZE, SIZE), _colour(rng)), Image.new("RGB", (SIZE, SIZE), _colour(rng)), mask)


def _shapes(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    for _ in range(rng.randint(3, 7)):
        x, y = rng.randrange(SIZE), rng.randrange(SIZE)
        r = rng.randint(12, 70)
        box = (x - r, y - r, x + r, y + r)
        match rng.randrange(3):
            case 0:
                draw.ellipse(box, fill=_colour(rng))
            case 1:
                draw.rectangle(box, fill=_colour(rng), outline=_colour(rng), width=3)
            case _:
                draw.polygon([(x, y - r), (x + r, y + r), (x - r, y + r)], fill=_colour(rng))


def _pattern(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A grid of dots switched on by the seed's bits: the picture's fingerprint."""
    step = rng.choice((16, 24, 32))
    colour = _colour(rng)
    bits = rng.getrandbits((SIZE // step) ** 2)
    for i in range((SIZE // step) ** 2):
        if bits >> i & 1:
            x, y = (i % (SIZE // step)) * step + step // 2, (i // (SIZE // step)) * step + step // 2
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=colour)


def render_photo(seed: int) -> bytes:
    """A 256x256 JPEG that depends only on `seed`."""
    rng = random.Random(seed)
    image = _gradient(rng)
    draw = ImageDraw.Draw(image)
    _shapes(draw, rng)
    _pattern(draw, rng)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()
