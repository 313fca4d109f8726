"""DRF's JSON parser, with valid JSON nested too deep answered 400 instead of 500."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """json.load raises RecursionError, not ValueError, past about 1,000 levels of nesting
    ("[[[[…]]]]" does it in 4 KiB), which DRF's parser lets through as a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deep.") from None
