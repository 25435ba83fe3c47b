"""The one sanitiser for text from outside: container and pod logs, helm output, GitLab's
answers, file names, profile values shown on a screen.

Such text may carry terminal control: OSC 0/2 retitles the terminal, OSC 52 writes the
clipboard, `ESC[2J` clears the screen, DSR/DA queries (`ESC[6n`, `ESC[c`) make the terminal
*type* an answer into our input. `clean()` makes every control character visible instead
(ESC becomes `␛`, BEL `␇`, CR `␍`, …), so a sequence shows as harmless text such as
`␛]0;title␇` and nothing in it reaches the terminal as control. Markup is a second, separate
concern: whoever renders the result shows it as plain text (Rich `Text`, `markup=False`, or
`rich.markup.escape`), never as markup.
"""

from __future__ import annotations

import re

TAB_WIDTH = 4

# C0 controls and DEL have Unicode "control pictures" (U+2400 + code, U+2421 for DEL).
_C0_PICTURES = {code: chr(0x2400 + code) for code in range(0x20)}
_C0_PICTURES[0x7F] = "\u2421"
# C1 controls (8-bit CSI, OSC, …) and the invisible characters that reorder or hide text
# (bidi overrides, zero-width, line/paragraph separators) have no pictures: shown as <U+XXXX>.
_INVISIBLE = [
    *range(0x80, 0xA0),
    0x200B, 0x200C, 0x200D, 0x200E, 0x200F,
    0x2028, 0x2029,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    0xFEFF,
]
_TABLE: dict[int, str] = {**_C0_PICTURES, **{code: f"<U+{code:04X}>" for code in _INVISIBLE}}
_LINE_TABLE = {**_TABLE, ord("\t"): " " * TAB_WIDTH}
_BLOCK_TABLE = {code: shown for code, shown in _LINE_TABLE.items() if code != ord("\n")}
_UNSAFE = re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(_TABLE)) + "]")


def clean(text: str) -> str:
    """One line as it may be shown: every control character, newline included, made visible."""
    return text.translate(_LINE_TABLE)


def clean_block(text: str) -> str:
    """Several lines as they may be shown: like `clean`, but newlines stay newlines."""
    return text.translate(_BLOCK_TABLE)


def clean_bytes(raw: bytes) -> str:
    """Bytes from a child process or a container, decoded leniently and cleaned as one line."""
    return clean(raw.decode("utf-8", "replace"))


def is_clean(text: str) -> bool:
    """Whether `text` holds nothing that `clean` would change (tabs and newlines aside)."""
    return _UNSAFE.search(text.replace("\t", " ").replace("\n", " ")) is None
