"""Photos of tips: re-encoded from their pixels only, so nothing but the picture is kept; and
sealed in the tip's draft between the moment they arrive and the tip's sending."""

import base64
import hashlib
import io

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from PIL import Image, ImageOps, UnidentifiedImageError

from db.services.tip_sealing import TipKeys
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


def _draft_box(keys: TipKeys) -> SecretBox:
    """The key of photos kept in drafts: derived from the lookup secret (not in the database)."""
    return SecretBox(hashlib.blake2b(b"binhyen draft photos", key=keys.lookup_secret[:64],
                                     digest_size=SecretBox.KEY_SIZE).digest())


def seal_for_draft(keys: TipKeys, photo: bytes) -> str:
    """A cleaned photo as the draft keeps it (conversation state may live in Redis): sealed,
    as text."""
    return base64.b64encode(_draft_box(keys).encrypt(photo)).decode("ascii")


def open_from_draft(keys: TipKeys, kept: object) -> bytes:
    """The photo seal_for_draft kept; ValueError when it is not one (another secret sealed it,
    or a draft from before photos were fetched on arrival)."""
    try:
        return _draft_box(keys).decrypt(base64.b64decode(str(kept), validate=True))
    except (CryptoError, ValueError) as error:
        raise ValueError("not a photo kept in a draft") from error
