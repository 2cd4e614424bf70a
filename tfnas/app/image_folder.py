"""An image folder (one sub-folder per class) as `FileImages` and labels, checked without decoding the images.

The layout is Keras's `image_dataset_from_directory`: the class names are
the sorted sub-folder names, the label ids their positions, and the images
any `.png`, `.jpg`/`.jpeg`, `.bmp` or `.gif` file below each of them. The
labels come from the file list; no pixel is read here.

Every file's header is read up front with Pillow (about 50 µs a file, a
second for 20,000), so an unreadable file, a folder that mixes grayscale
and colour images, or (without `image_size`) mixed sizes are reported
before any training, naming the file.
"""

from __future__ import annotations

import collections
import os
from typing import Any

import numpy as np

from tfnas.errors import TfnasInputError
from tfnas.image_files import CHANNELS
from tfnas.image_files import FileImages

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
GRAY_MODES = ("1", "L", "LA", "I", "F")  # Pillow's modes of one colour channel (plus alpha), "I;16" included


def folder_classes(path: str) -> list[str]:
    """The class names of an image folder: its sub-folders, sorted (the order that gives the label ids)."""
    return sorted(e for e in os.listdir(path) if os.path.isdir(os.path.join(path, e)) and not e.startswith("."))


def read_image_folder(path: str, image_size: Any, color_mode: str) -> tuple[FileImages, np.ndarray]:
    """The folder's images (not decoded) and their labels.

    Raises:
        TfnasInputError: no class folder or no image, an unreadable file,
            mixed grayscale and colour images, mixed sizes without `image_size`.
    """
    if image_size is not None and (len(image_size) != 2 or not all(isinstance(s, int) and s > 0 for s in image_size)):
        raise TfnasInputError(f"data.image_size must be [height, width] in pixels. Received: {image_size!r}")
    if color_mode not in CHANNELS:
        raise TfnasInputError(f"data.color_mode must be one of {sorted(CHANNELS)}. Received: {color_mode!r}")
    classes = folder_classes(path)
    paths: list[str] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        found = _image_files(os.path.join(path, name))
        paths.extend(found)
        labels.extend([label] * len(found))
    if not paths:
        raise TfnasInputError(
            f"No images in {path!r}: put .png/.jpg/.bmp/.gif files in one sub-folder per class (found classes {classes})."
        )
    if len(classes) < 2:
        raise TfnasInputError(
            f"{path!r} has one class folder ({classes}): classification needs one sub-folder per class, two or more."
        )
    sizes = check_headers(paths)
    if image_size is None:
        image_size = _common_size(sizes, path)
    images = FileImages(paths, tuple(image_size), CHANNELS[color_mode], class_names=classes)
    return images, np.asarray(labels, dtype=np.int64)


def check_headers(paths: list[str]) -> dict[str, tuple[int, int]]:
    """`(height, width)` per file from its header (Pillow), after checking every file opens and channels do not mix."""
    from PIL import Image  # here, not at the top: the CLI checks a config before the image libraries load
    sizes: dict[str, tuple[int, int]] = {}
    first: dict[bool, str] = {}
    for path in paths:
        try:
            with Image.open(path) as image:
                mode, (width, height) = image.mode, image.size
        except Exception as e:  # Pillow raises several types (UnidentifiedImageError, OSError, SyntaxError)
            raise TfnasInputError(
                f"Cannot read the image {path!r} ({type(e).__name__}: {e}): replace or remove the file."
            ) from None
        sizes[path] = (height, width)
        first.setdefault(mode.startswith(GRAY_MODES), path)
    if len(first) == 2:
        gray = sum(1 for p in paths if _is_gray(p))
        raise TfnasInputError(
            f"The folder mixes grayscale and colour images ({gray} grayscale, e.g. {first[True]!r}; "
            f"{len(paths) - gray} colour, e.g. {first[False]!r}): convert them to one kind "
            "(e.g. PIL's image.convert('RGB')) so the model sees one kind of input."
        )
    return sizes


def _is_gray(path: str) -> bool:
    from PIL import Image

    with Image.open(path) as image:
        return image.mode.startswith(GRAY_MODES)


def _common_size(sizes: dict[str, tuple[int, int]], folder: str) -> tuple[int, int]:
    """The one size every image has, or an error asking for `image_size`."""
    counts = collections.Counter(sizes.values())
    if len(counts) > 1:
        (a, _), (b, _) = counts.most_common(2)
        example = {size: path for path, size in sizes.items()}
        raise TfnasInputError(
            f"The images in {folder!r} have {len(counts)} sizes, e.g. {a[0]}x{a[1]} ({example[a]!r}) and {b[0]}x{b[1]} "
            f"({example[b]!r}): set data.image_size: [height, width] to resize them all."
        )
    return next(iter(counts))


def _image_files(folder: str) -> list[str]:
    """The image files below `folder` (sub-folders included), in sorted order."""
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found.extend(os.path.join(root, f) for f in sorted(files) if f.lower().endswith(IMAGE_EXTENSIONS))
    return found
