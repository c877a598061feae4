"""Reading XML exports safely and as a stream: no entities, no DTD tricks, constant memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from ..errors import BadImportFile
from .records import Progress, ProgressReader


class _MendedHead:
    """A file whose first bytes (up to the root element's start tag) pass through `mend`."""

    HEAD = 64 * 1024

    def __init__(self, source: ProgressReader, mend: Callable[[bytes], bytes]) -> None:
        self.head: bytes | None
        self.source, self.mend, self.head = source, mend, None

    def read(self, size: int = -1) -> bytes:
        if self.head is None:
            self.head = self.mend(self.source.read(self.HEAD))
        if self.head:
            data, self.head = self.head, b""
            return data
        return self.source.read(size)


def records(
    path: str,
    progress: Progress | None,
    *,
    depth: int,
    name: str,
    root: str,
    namespace: str | None = None,
    mend: Callable[[bytes], bytes] | None = None,
) -> Iterator[Element]:
    """The complete elements `depth` levels below the root, each freed once the caller has it.

    The file must have the root element `root` (and declare `namespace`, when given), or it is
    not an export of the format `name`. `mend` may correct a known slip of a format's exporter
    in the file's head.
    """
    with ProgressReader(path, progress) as reader:
        source = _MendedHead(reader, mend) if mend else reader
        stack: list[Element] = []
        try:
            # Entity declarations are refused outright, which also stops expansion bombs at
            # their first declaration, in constant time and memory.
            events = iterparse(
                source,
                events=("start", "end", "start-ns"),
                forbid_dtd=False,
                forbid_entities=True,
                forbid_external=True,
            )
            declared: set[str] = set()
            for event, item in events:
                if event == "start-ns":
                    declared.add(item[1])
                    continue
                if event == "start":
                    if not stack and (
                        item.tag != root
                        or (namespace and not any(uri.startswith(namespace) for uri in declared))
                    ):
                        raise BadImportFile(
                            f"this is not a {name} export "
                            f"(its root element is <{_local(item.tag)}>)"
                        )
                    stack.append(item)
                    continue
                stack.pop()
                if len(stack) == depth:
                    yield item
                    stack[-1].remove(item)
        except ParseError as exc:
            line, column = exc.position
            reason = str(exc).split(":")[0]
            if reader.total == 0:
                raise BadImportFile("the file is empty") from None
            if reader.done == reader.total and reason in _CUT_SHORT and (line, column) != (1, 0):
                # expat names where the unfinished part began, not where the file ends.
                where = (
                    ""
                    if reason == "no element found"
                    else (f", inside what begins at line {line}, column {column}")
                )
                raise BadImportFile(
                    f"the file ends too early{where}: it is cut short; export it again"
                ) from None
            if line == 1 and column == 0 or "no element found" in reason and not stack:
                raise BadImportFile(
                    f"this is not a {name} export: not an XML file "
                    f"({reason} at line {line}, column {column})"
                ) from None
            raise BadImportFile(
                f"not well-formed XML at line {line}, column {column}: {reason}"
                " (a wrong encoding or a damaged file)"
            ) from None
        except LookupError as exc:  # the XML declaration names an encoding nobody knows
            raise BadImportFile(f"the file declares an unknown encoding ({exc})") from None
        except DefusedXmlException as exc:
            raise BadImportFile(
                f"the file declares XML entities or a DTD, which are refused: {type(exc).__name__}"
            ) from None


# What expat says when the file ends inside the document.
_CUT_SHORT = ("no element found", "unclosed token", "unclosed CDATA section", "partial character")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def text_of(
    element: Element | None, path: str | None = None, ns: dict[str, str] | None = None
) -> str:
    """The stripped text of an element, or of its child at `path`; "" when absent."""
    if element is not None and path is not None:
        element = element.find(path, ns)
    if element is None or element.text is None:
        return ""
    return element.text.strip()


def flag(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "yes")
