"""Reading one large JSON object as a stream: its members one by one, and the items of one
array member one by one, so memory holds one item at a time, not the whole file."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import Any

from ..errors import BadImportFile
from .records import ProgressReader, a_or_an

CHUNK = 1 << 20
_decoder = json.JSONDecoder()
_SPACE = " \t\n\r"


class _Buffer:
    """Decoded text of the file, read on demand, with a cursor."""

    def __init__(self, reader: ProgressReader, name: str):
        self.reader, self.name = reader, name
        self.decode = codecs.getincrementaldecoder("utf-8-sig")().decode
        self.text, self.pos, self.ended = "", 0, False

    def more(self) -> bool:
        if self.ended:
            return False
        data = self.reader.read(CHUNK)
        try:
            self.text = self.text[self.pos :] + self.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise BadImportFile(
                f"this is not {self.name} export: not UTF-8 text "
                f"(byte {self.reader.done - len(data) + exc.start})"
            ) from None
        self.pos = 0
        self.ended = not data
        return True

    def peek(self) -> str:
        """The next character that is not white space ("" at the end of the file)."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in _SPACE:
                self.pos += 1
            if self.pos < len(self.text) or not self.more():
                return self.text[self.pos : self.pos + 1]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            found = self.peek() or "the end of the file"
            raise BadImportFile(
                f"this is not {self.name} export: not JSON, or cut short "
                f"({char!r} expected, {found!r} found)"
            )
        self.pos += 1

    def value(self) -> Any:
        """The next JSON value, reading more of the file until it is complete."""
        self.peek()
        while True:
            try:
                value, end = _decoder.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                # A value cut by the chunk's end parses once more text is read; a bad one
                # stays bad at the end of the file.
                if self.more():
                    continue
                raise BadImportFile(
                    f"this is not {self.name} export: not JSON, or cut short ({exc.msg})"
                ) from None
            except RecursionError:
                raise BadImportFile(
                    f"this is not {self.name} export: JSON nested too deeply"
                ) from None
            if end == len(self.text) and not self.ended and isinstance(value, int | float):
                self.more()  # a number at the chunk's end may go on in the next chunk
                continue
            self.pos = end
            return value


def members(reader: ProgressReader, name: str, array: str) -> Iterator[tuple[str, Any]]:
    """(key, value) for each member of the file's top-level object; the member `array`, when
    it is a list, comes as (array, item) for each of its items instead."""
    name = a_or_an(name)
    buffer = _Buffer(reader, name)
    buffer.expect("{")
    if buffer.peek() == "}":
        buffer.pos += 1
        return
    while True:
        key = buffer.value()
        if not isinstance(key, str):
            raise BadImportFile(f"this is not {name} export: not a JSON object")
        buffer.expect(":")
        if key == array and buffer.peek() == "[":
            yield from _items(buffer, key)
        else:
            yield key, buffer.value()
        if buffer.peek() == "}":
            buffer.pos += 1
            break
        buffer.expect(",")
    if buffer.peek():
        raise BadImportFile(f"this is not {name} export: more after its JSON object")


def _items(buffer: _Buffer, key: str) -> Iterator[tuple[str, Any]]:
    buffer.expect("[")
    if buffer.peek() == "]":
        buffer.pos += 1
        return
    while True:
        yield key, buffer.value()
        if buffer.peek() == "]":
            buffer.pos += 1
            return
        buffer.expect(",")
