"""The Sites section of the status page, its refreshed fragment, and a page per site.

Server-rendered like the rest of the page: the range switch is a link, a site's logs
open in the status page's log panel (?log=NAME#logs), where live follow is the only
part that needs JavaScript.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from server_monitor.errors import DomainError
from server_monitor.workflows.sites import figures


def sites_range(request: HttpRequest) -> str:
    wanted = request.GET.get("range", figures.DEFAULT_RANGE)
    return wanted if wanted in figures.RANGES else figures.DEFAULT_RANGE


def sites_context(range_name: str) -> dict[str, Any]:
    """Every enabled site, worst first (unreadable or format not understood, a high 5xx
    share or a certificate about to expire first, then by 5xx share and p95)."""
    try:
        found = figures.all_sites(range_name)
    except DomainError as error:
        return {"sites": [], "sites_error": error.detail, "range": range_name}
    rows = [
        {"figures": site, "values": site.figures(), "requests": site.series()["requests_per_second"]}
        for site in sorted(found, key=lambda site: site.worst_first_key())
    ]
    return {"sites": rows, "sites_problem": figures.discovery_problem(), "range": range_name}


@login_required
def sites_fragment(request: HttpRequest) -> HttpResponse:
    return render(request, "server_monitor/fragments/sites_rows.html", sites_context(sites_range(request)))


def top_lists(found: figures.SiteFigures) -> list[dict[str, Any]]:
    lists = found.top_lists()
    cut = lists["top_lists_cut"]
    return [
        {
            "key": "paths",
            "title": "Paths",
            "heading": "Path",
            "counting": "Requests",
            "items": [(item["path"], item["requests"]) for item in lists["top_paths"]],
            "cut": cut["paths"],
        },
        {
            "key": "error_paths",
            "title": "Paths answering 5xx",
            "heading": "Path",
            "counting": "5xx",
            "items": [(item["path"], item["responses_5xx"]) for item in lists["top_error_paths"]],
            "cut": cut["error_paths"],
        },
        {
            "key": "clients",
            "title": "Client addresses",
            "heading": "Address",
            "counting": "Requests",
            "items": [(item["address"], item["requests"]) for item in lists["top_clients"]],
            "cut": cut["clients"],
        },
    ]


@login_required
def site_page(request: HttpRequest, name: str) -> HttpResponse:
    range_name = sites_range(request)
    try:
        found = figures.one_site(name, range_name)
    except (figures.UnknownSite, figures.SiteNotFound):
        raise Http404("No such site.") from None
    context = {
        "found": found,
        "site": found.site,
        "values": found.figures(),
        "series": found.series(),
        "tops": top_lists(found),
        "range": range_name,
        "ranges": list(figures.RANGES),
        "samples": found.unparsed_samples(),
    }
    return render(request, "server_monitor/site.html", context)
