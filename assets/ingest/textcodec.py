"""Character encoding of CSV files, and the characters a value may not hold.

A control character (NUL, the other C0 controls except tab / line feed /
carriage return, DEL, the C1 controls) or U+FFFD (bytes that could not be
decoded) is a problem of the value that holds it, not of the file: the file is
decoded and read, and the value is judged by ``core`` (docs/ingest.md,
"Control characters"). Only a file whose bytes are mostly not text (a large
share of NUL or other control bytes: binary data, or UTF-16 written without a
byte-order mark) is refused as a whole, and then as an encoding problem.

Encoding detection looks at the bytes that are text: control bytes are taken
out before the candidate encodings are tried, so one NUL does not make a UTF-8
or GB18030 file undecodable.
"""
from __future__ import annotations

import codecs
import re

import polars as pl

# C0 controls except \t \n \r, DEL, C1 controls, and U+FFFD (undecodable bytes)
BAD_CHARS = [chr(i) for i in (*range(0, 9), 11, 12, *range(14, 32), *range(127, 160))] + ["\ufffd"]
# the same characters as a polars (Rust) regex
BAD_RE = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\x{FFFD}]"
_CONTROL_BYTES = bytes([*range(0, 9), 11, 12, *range(14, 32), 127])
_CONTROL_RE = re.compile(b"[" + re.escape(_CONTROL_BYTES) + b"]")

SAMPLE = 1 << 16  # bytes looked at to tell text from binary
BINARY_SHARE = 0.10  # more control bytes than this in the sample: not text
COMMON_SHARE = 0.70  # GB18030 text: at least this share of its non-ASCII characters are common Chinese
SUPPORTED_ZH = "支持 UTF-8、UTF-8 BOM、GB18030、带 BOM 的 UTF-16"
SUPPORTED_EN = "UTF-8, UTF-8 with BOM, GB18030 and UTF-16 with BOM are read"
_UNSUPPORTED_GUESSES = ("big5", "cp950", "big5hkscs", "shift_jis", "cp932", "euc_jp", "iso2022_jp", "shift_jis_2004",
                        "euc_jis_2004", "euc_kr", "cp949", "johab", "iso2022_kr", "utf_16", "utf_16_le", "utf_16_be",
                        "utf_32", "utf_32_le", "utf_32_be", "hz")


class EncodingProblem(Exception):
    def __init__(self, message_zh: str, message_en: str):
        super().__init__(f"{message_zh} / {message_en}")
        self.message_zh, self.message_en = message_zh, message_en


def bad_char_names(value: str) -> str:
    """'U+0000, U+001F' for the bad characters of a value (distinct, in order)."""
    seen = dict.fromkeys(f"U+{ord(c):04X}" for c in value if c in _BAD_SET)
    return ", ".join(seen)


_BAD_SET = frozenset(BAD_CHARS)


def visible(expr: pl.Expr) -> pl.Expr:
    """Control characters shown as <U+0000> (in reasons and findings)."""
    return expr.str.replace_many(BAD_CHARS, [f"<U+{ord(c):04X}>" for c in BAD_CHARS])


def _not_text(sample: bytes, name: str) -> EncodingProblem | None:
    """Refuse a sample that is mostly control bytes; name UTF-16 without BOM
    (NUL in every second byte) when that is what it looks like."""
    if not sample:
        return None
    nul = sample.count(b"\x00")
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if controls <= len(sample) * BINARY_SHARE:
        return None
    even, odd = sample[0::2].count(b"\x00"), sample[1::2].count(b"\x00")
    if nul >= len(sample) * BINARY_SHARE and max(even, odd) >= 0.9 * nul:
        order = "大端 BE" if even > odd else "小端 LE"
        return EncodingProblem(
            f"文件 {name} 的字符编码疑似无 BOM 的 UTF-16({order}),无法读取({SUPPORTED_ZH});请另存为 UTF-8",
            f"file {name}: the character encoding looks like UTF-16 without a byte-order mark, which cannot be "
            f"read ({SUPPORTED_EN}); save it as UTF-8")
    return EncodingProblem(
        f"文件 {name} 不是文本文件({controls}/{len(sample)} 个字节为控制字符,可能为二进制文件或编码不受支持;"
        f"{SUPPORTED_ZH}),未载入",
        f"file {name} is not a text file ({controls} of {len(sample)} bytes are control bytes: binary data or an "
        f"unsupported encoding; {SUPPORTED_EN}); not loaded")


def _mostly_common_chinese(text: str) -> bool:
    """True when the non-ASCII characters of a GB18030-decoded sample are mostly
    common Chinese (GB2312 punctuation rows A1/A3 and level-1/2 hanzi): Big5 or
    Shift-JIS bytes also decode as GB18030, but into rare characters, kana and
    box-drawing signs."""
    counts: dict[str, int] = {}
    for ch in text:
        if ord(ch) > 127:
            counts[ch] = counts.get(ch, 0) + 1
    total = sum(counts.values())
    if total < 20:
        return True
    common = 0
    for ch, n in counts.items():
        try:
            b = ch.encode("gb2312")
        except UnicodeEncodeError:
            continue
        if len(b) == 2 and (b[0] in (0xA1, 0xA3) or 0xB0 <= b[0] <= 0xF7):
            common += n
    return common >= COMMON_SHARE * total


def _guess(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1 << 20]).best()
    return None if best is None else best.encoding


def _unsupported(name: str, encoding: str) -> EncodingProblem:
    return EncodingProblem(f"文件 {name} 的字符编码为 {encoding},不受支持({SUPPORTED_ZH});请另存为 UTF-8",
                           f"file {name}: the character encoding is {encoding}, which is not read ({SUPPORTED_EN}); "
                           f"save it as UTF-8")


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def decode_bytes(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding). UTF-16 by BOM; else the encoding of the text bytes
    (control bytes taken out): strict UTF-8 (BOM stripped), strict GB18030 when
    its text is plausibly Chinese, UTF-8 with a few undecodable bytes (they
    become U+FFFD, a value problem), else charset-normalizer's guess — a guess
    of Big5, Shift-JIS, EUC-KR or BOM-less UTF-16/32 is refused by name. The
    text is the whole file decoded with the chosen encoding (control
    characters kept: they are judged per value). Raises EncodingProblem."""
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    problem = _not_text(data[:SAMPLE], name)
    if problem is not None:
        raise problem
    # without control bytes the text bytes are the data: no copy, and a trial decode is the text
    clean = _CONTROL_RE.search(data) is None
    text_bytes = data if clean else data.translate(None, _CONTROL_BYTES)
    chosen = text = None
    try:
        text = text_bytes.decode("utf-8-sig")
        chosen = "utf-8-sig"
    except UnicodeDecodeError:
        try:
            sample = text_bytes[:SAMPLE * 4].decode("gb18030", errors="ignore")
            text = text_bytes.decode("gb18030")
            if _mostly_common_chinese(sample):
                chosen = "gb18030"
        except UnicodeDecodeError:
            pass
    if not clean or chosen is None:
        text = None
    if chosen is None:
        lenient = text_bytes[: 1 << 22].decode("utf-8", errors="replace")
        n_bad = lenient.count("\ufffd")
        n_good = sum(1 for ch in lenient if ord(ch) > 127) - n_bad
        if n_bad <= max(3, n_good // 200):  # a few stray bytes in UTF-8 text: those values are bad, not the file
            chosen = "utf-8"
        else:
            guess = (_guess(text_bytes) or "").lower().replace("-", "_")
            if guess.startswith("gb") and _decodes(text_bytes, "gb18030"):
                chosen = "gb18030"  # rare characters, but the detector agrees: GB18030
            elif guess in _UNSUPPORTED_GUESSES:
                raise _unsupported(name, guess)
            elif not guess or guess.startswith(("gb", "utf")):
                raise EncodingProblem(f"文件 {name} 的字符编码无法识别({SUPPORTED_ZH}),未载入",
                                      f"file {name}: unrecognised character encoding ({SUPPORTED_EN}); not loaded")
            else:
                chosen = guess
    if text is None:
        text = data.decode(chosen, errors="replace")
    return text.lstrip("\ufeff") if chosen == "utf-8-sig" else text, chosen
