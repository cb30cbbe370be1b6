"""Images that are not MNIST, for the tests of your own images: letters drawn with PIL's font
at a few sizes, offsets and rotations, in colour, on pictures of different sizes, saved as
PNG, JPEG and BMP in torchvision's ImageFolder layout (one subfolder per class)."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

LETTERS = ("A", "B", "C")
FORMATS = (("PNG", ".png"), ("JPEG", ".jpg"), ("BMP", ".bmp"))
MODES = ("RGB", "L", "RGBA", "P")


def letter_image(letter: str, rng: random.Random) -> Image.Image:
    """One coloured letter, dark on light or light on dark, somewhere near the middle."""
    width, height = rng.choice([(64, 64), (96, 72), (80, 120), (150, 110)])
    font = ImageFont.load_default(size=rng.choice([20, 28, 36, 44]))
    dark = tuple(rng.randint(0, 80) for _ in range(3))
    light = tuple(rng.randint(170, 255) for _ in range(3))
    background, ink = (light, dark) if rng.random() < 0.7 else (dark, light)
    image = Image.new("RGB", (width, height), background)
    ImageDraw.Draw(image).text((width / 2 + rng.randint(-8, 8), height / 2 + rng.randint(-8, 8)),
                               letter, fill=ink, font=font, anchor="mm")
    return image.rotate(rng.uniform(-15, 15), resample=Image.Resampling.BILINEAR,
                        fillcolor=background)


def make_letters(root: Path, per_class: int = 10, letters: tuple[str, ...] = LETTERS,
                 seed: int = 0) -> Path:
    """root/<letter>/<i>.<png|jpg|bmp>, `per_class` images of each letter."""
    rng = random.Random(seed)
    for letter in letters:
        (root / letter).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            image = letter_image(letter, rng)
            image_format, suffix = FORMATS[index % len(FORMATS)]
            mode = MODES[index % len(MODES)]
            if image_format == "JPEG" and mode in ("RGBA", "P"):
                mode = "L"
            image.convert(mode).save(root / letter / f"{index}{suffix}", image_format)
    return root


def zip_folder(folder: Path, prefix: str = "") -> bytes:
    """The folder's files in a zip, under `prefix` (e.g. "letters/", as `zip -r` writes it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return buffer.getvalue()
