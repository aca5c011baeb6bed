"""Photos of tips: re-encoded from their pixels only, so nothing but the picture is kept."""

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from db.text import N_, Problem

# Telegram lets bots download 20 MB at most; a phone photo is far smaller.
MAX_PHOTO_BYTES = 20 * 1024 * 1024
# Larger pictures are scaled down: enough to read a number plate, small enough to store.
MAX_SIDE = 2048
# A decompression bomb guard well above any phone camera (about 100 megapixels).
MAX_PIXELS = 100_000_000
JPEG_QUALITY = 85


def clean_photo(data: bytes) -> bytes:
    """A JPEG of the same picture without EXIF, GPS, XMP, ICC profile or comments.

    The picture is turned upright first (EXIF orientation), then copied pixel by pixel
    into a new image, so no metadata of the original can come along. Raises a Problem
    for anything that is not a picture or is too large.
    """
    if len(data) > MAX_PHOTO_BYTES:
        raise Problem(N_("Ảnh quá lớn (tối đa 20 MB)."))
    try:
        with Image.open(io.BytesIO(data)) as original:
            # Opening reads only the header: refuse huge pictures before decoding them.
            if original.width * original.height > MAX_PIXELS:
                raise Problem(N_("Ảnh có quá nhiều điểm ảnh."))
            rgb = ImageOps.exif_transpose(original).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise Problem(N_("Tệp này không phải là ảnh đọc được.")) from None
    rgb.thumbnail((MAX_SIDE, MAX_SIDE))
    pixels = Image.frombytes("RGB", rgb.size, rgb.tobytes())
    out = io.BytesIO()
    pixels.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()
