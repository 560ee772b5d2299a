"""Characters that text from a record or a request may hold but an output must not.

Records can hold control characters the API never meant to accept (older rows,
other paths in); these functions make what we emit valid whatever they hold.
"""

from __future__ import annotations

import re

# XML 1.0 (Fifth Edition) §2.2, the Char production: #x9 | #xA | #xD | [#x20-#xD7FF]
# | [#xE000-#xFFFD] | [#x10000-#x10FFFF]. Everything else (most of C0, lone
# surrogates, U+FFFE, U+FFFF) makes a document not well-formed.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# C0, DEL and C1 (Unicode category Cc), with line breaks and tabs among them.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# Line and paragraph separators too: some mail clients break a subject at them.
_LINE_BREAKING_RUN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_CONTROL_BUT_WHITESPACE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (dropped, not replaced)."""
    return _NOT_XML.sub("", text)


def one_line(text: str) -> str:
    """``text`` as one line: each run of control characters (CR, LF, tab and the
    rest) and of U+2028/U+2029 becomes one space, and the ends are trimmed. For
    header fields such as an email subject, whose body RFC 5322 §2.2 forbids CR
    and LF in."""
    return _LINE_BREAKING_RUN.sub(" ", text).strip()


def undecodable(text: str, *, multiline: bool = False) -> bool:
    """Whether typed input holds what no one types: a control character (tab, CR
    and LF excepted when ``multiline``) or U+FFFD, which a decoder puts where the
    bytes were not valid UTF-8 (so storing it would keep a corruption)."""
    pattern = _CONTROL_BUT_WHITESPACE if multiline else _CONTROL
    return "\ufffd" in text or pattern.search(text) is not None
