"""YAML 1.2's tabs for the reference parser: ruamel.yaml refuses a tab anywhere outside quotes and flow
collections, YAML allows one wherever it separates words on a line (before a comment, after a value, inside
a plain value, alone on a blank line). Only indentation may not be a tab, and stays an error.
"""

from __future__ import annotations

from functools import cache
from typing import Any

_LINE_END = "\0\r\n\x85\u2028\u2029"


@cache
def tab_scanner() -> Any:
    """ruamel.yaml's scanner, reading separating tabs as YAML 1.2 does."""
    from ruamel.yaml.scanner import Scanner

    class TabScanner(Scanner):
        """Tabs that separate are white space; a tab before the first word of a line is indentation."""

        def _tab_separates(self) -> bool:
            reader = self.reader
            before = reader.buffer[reader.pointer - reader.column : reader.pointer]
            if before.strip(" \t"):  # something is written before it on this line
                return True
            ahead = 0
            while reader.peek(ahead) in " \t":
                ahead += 1
            return bool(reader.peek(ahead) in _LINE_END + "#")  # a blank or comment-only line

        def scan_to_next_token(self) -> Any:
            reader = self.reader
            if reader.peek() == "\t" and not self.flow_level:
                while reader.peek() in " \t" and (reader.peek() == " " or self._tab_separates()):
                    reader.forward()
            result = super().scan_to_next_token()
            # After a line break the next line may start with separating tabs too (a blank line).
            while reader.peek() == "\t" and not self.flow_level and self._tab_separates():
                while reader.peek() in " \t":
                    reader.forward()
                result = super().scan_to_next_token()
            return result

        def scan_plain_spaces(self, indent: Any, start_mark: Any) -> Any:
            reader = self.reader
            length = 0
            while reader.peek(length) in " \t":
                length += 1
            run = reader.prefix(length)
            if "\t" not in run:
                return super().scan_plain_spaces(indent, start_mark)
            reader.forward(length)
            if reader.peek() in _LINE_END and reader.peek() != "\0":
                return super().scan_plain_spaces(indent, start_mark)  # trailing: folded away
            return [run]  # between words of the value, or before a comment: kept or dropped as spaces are

    return TabScanner
