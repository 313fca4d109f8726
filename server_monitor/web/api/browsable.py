"""The API in a browser, in the dashboard's words and looks.

DRF's browsable API and drf-spectacular's pages are themed by template overrides
(templates/rest_framework/api.html, templates/drf_spectacular/swagger_ui.html); this
module holds the Python half:

- `describe`, DRF's VIEW_DESCRIPTION_FUNCTION: the docstring as paragraphs with
  `code` spans, instead of raw backticks (DRF renders Markdown only with the
  markdown package, and then with an inline <style> our CSP blocks);
- `ServerRootView`, the router's root at /api/v1/server/, named so the breadcrumb
  reads "wpdash API / Server / …" rather than "Api Root / Api Root / …";
- `SchemaView`: /api/v1/schema as before for clients, and for a browser (which asks
  for text/html) a page: the 401 sign-in page signed out, instead of a 90-byte YAML
  file to download, and the schema as text with its download links signed in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.html import escape
from django.utils.safestring import mark_safe
from drf_spectacular.renderers import OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import TemplateHTMLRenderer
from rest_framework.routers import APIRootView
from rest_framework.views import APIView, get_view_description

_PARAGRAPHS = re.compile(r"\n\s*\n")


def describe(view: APIView, html: bool = False) -> str:
    """VIEW_DESCRIPTION_FUNCTION: DRF's own, with `code` spans as <code> in HTML.

    Paragraphs are separated by blank lines and a docstring's wrapped lines are
    joined, as Markdown would. A paragraph with an odd number of backticks is shown
    as written, rather than guessed at.
    """
    text = get_view_description(view, html=False)
    if not html:
        return text
    paragraphs = [" ".join(part.split()) for part in _PARAGRAPHS.split(text.strip()) if part.strip()]
    return mark_safe("".join(f"<p>{_code_spans(paragraph)}</p>" for paragraph in paragraphs))  # noqa: S308 (escaped)


def _code_spans(paragraph: str) -> str:
    parts = paragraph.split("`")
    if len(parts) % 2 == 0:
        return escape(paragraph)
    return "".join(f"<code>{escape(part)}</code>" if index % 2 else escape(part) for index, part in enumerate(parts))


class ServerRootView(APIRootView):
    """The server's resources: services and their restarts, the restart audit, logs, metrics and sites."""

    name = "Server"


class SchemaPageRenderer(TemplateHTMLRenderer):
    """text/html for the schema: what a browser asks for when it follows a link to it.

    Listed after the OpenAPI renderers, so a client that accepts anything still gets
    YAML. A refusal renders templates/401.html or 403.html, as the docs page does.
    """

    media_type = "text/html"
    format = "html"
    template_name = "api/schema.html"

    def get_template_context(self, data: Any, renderer_context: Mapping[str, Any]) -> Any:
        if renderer_context["response"].exception:
            return super().get_template_context(data, renderer_context)
        text = OpenApiYamlRenderer().render(data, renderer_context=renderer_context)
        return {"schema": text.decode() if isinstance(text, bytes) else text}


class SchemaView(SpectacularAPIView):
    renderer_classes = [*SpectacularAPIView.renderer_classes, SchemaPageRenderer]
