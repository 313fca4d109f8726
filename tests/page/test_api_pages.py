"""The browsable API, the API docs and the schema look and behave like the dashboard (issue 29).

In-process first (the markup), then headless Chromium against a real daphne: the
browsable API's Sign out under the CSP, the pages in the dashboard's colours at
desktop and phone width, and the schema link signed in and out. The Chromium tests
come last in the module: Playwright's sync API holds an event loop in this thread.
"""

from __future__ import annotations

import re

import pytest
from rest_framework.views import APIView

from server_monitor.web.api.browsable import describe
from tests.support.servers import REPO, live_server

PASSWORD = "api pages password 123"
HTML = {"HTTP_ACCEPT": "text/html"}


def assert_no_inline_script_or_style(html: str) -> None:
    assert not re.search(
        r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html
    )  # DRF's JSON data block is no script
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)  # no onclick and the like


# --- descriptions ------------------------------------------------------------------------


class Described(APIView):
    """Follows `/api/v1/server/logs/{name}/ws` live,
    wrapped like a docstring.

    A second paragraph with <b>markup</b> & an unmatched ` backtick."""


def test_a_description_renders_code_spans_and_paragraphs_and_escapes_the_rest():
    html = describe(Described(), html=True)

    assert html == (
        "<p>Follows <code>/api/v1/server/logs/{name}/ws</code> live, wrapped like a docstring.</p>"
        "<p>A second paragraph with &lt;b&gt;markup&lt;/b&gt; &amp; an unmatched ` backtick.</p>"
    )
    assert describe(Described()).startswith("Follows `/api/v1/server/logs/{name}/ws` live,")  # OPTIONS: as written


# --- the browsable API's markup ---------------------------------------------------------


def test_the_browsable_api_wears_the_dashboards_header_with_a_sign_out_form(viewer_client):
    html = viewer_client.get("/api/v1/", **HTML).content.decode()

    assert '<header class="topbar">' in html
    assert '<a class="brand" href="/">wp<span>dash</span></a>' in html
    assert '<a href="/">Dashboard</a>' in html and '<a href="/api/v1/docs">API docs</a>' in html
    assert re.search(
        r'<form method="post" action="/accounts/logout/"><input type="hidden" name="csrfmiddlewaretoken" value="\w+">'
        r'<button class="btn" type="submit">Sign out</button></form>',
        html,
    )
    assert "Log out" not in html and "Django REST framework" not in html
    assert '<link rel="stylesheet" href="/static/server_monitor/api.css">' in html
    assert_no_inline_script_or_style(html)


def test_the_root_describes_itself_without_backticks(viewer_client):
    html = viewer_client.get("/api/v1/", **HTML).content.decode()
    description = html.split('<div class="pull-left">', 1)[1].split("</div>", 1)[0]

    assert "<code>/api/v1/server/logs/{name}/ws</code>" in description
    assert "`" not in description


def breadcrumbs(html: str) -> list[str]:
    trail = html.split('<ul class="breadcrumb">', 1)[1].split("</ul>", 1)[0]
    return re.findall(r"<a [^>]*>([^<]+)</a>", trail)


@pytest.mark.parametrize(
    ("path", "trail"),
    [
        ("/api/v1/", ["wpdash API"]),
        ("/api/v1/server/", ["wpdash API", "Server"]),
        ("/api/v1/server/services", ["wpdash API", "Server", "Service List"]),
    ],
)
def test_the_breadcrumb_names_each_level_once(viewer_client, fake_systemd, path, trail):
    assert breadcrumbs(viewer_client.get(path, **HTML).content.decode()) == trail


def test_the_filters_button_needs_no_inline_style(viewer_client):
    html = viewer_client.get("/api/v1/server/restarts", **HTML).content.decode()

    assert '<button class="btn btn-default request-extra" data-toggle="modal" data-target="#filtersModal">' in html
    assert_no_inline_script_or_style(html)


def test_signed_out_the_header_offers_sign_in_back_to_the_page(client, db):
    html = client.get("/api/v1/server/services", **HTML).content.decode()

    assert '<a class="btn" href="/accounts/login/?next=/api/v1/server/services">Sign in</a>' in html


# --- the docs page and the schema ---------------------------------------------------------


def test_the_docs_page_is_in_swagger_uis_dark_mode_with_the_dashboards_header(viewer_client):
    html = viewer_client.get("/api/v1/docs/").content.decode()

    assert '<html lang="en" class="dark-mode">' in html
    assert '<a href="/">Dashboard</a>' in html and "Sign out</button>" in html
    assert '<script src="/api/v1/docs/?script="></script>' in html
    assert_no_inline_script_or_style(html)


def test_a_browser_signed_out_following_the_schema_link_gets_the_sign_in_page_not_a_download(client, db):
    response = client.get("/api/v1/schema", **HTML)

    assert response.status_code == 401
    assert response["Content-Type"].startswith("text/html")
    assert '<h1 id="error-title">Sign in to see this page</h1>' in response.content.decode()
    assert '<a class="btn primary" href="/accounts/login/?next=/api/v1/schema">Sign in</a>' in response.content.decode()


def test_a_browser_signed_in_reads_the_schema_with_its_downloads(viewer_client):
    html = viewer_client.get("/api/v1/schema", **HTML).content.decode()

    assert '<h1 id="schema-title">OpenAPI schema</h1>' in html
    assert "openapi: 3.0.3" in html and "/api/v1/server/services:" in html
    assert '<a class="btn" href="?format=openapi" download="wpdash-api.yaml">Download YAML</a>' in html
    assert_no_inline_script_or_style(html)


def test_clients_still_get_the_schema_itself(viewer_client):
    as_yaml = viewer_client.get("/api/v1/schema")
    downloaded = viewer_client.get("/api/v1/schema", {"format": "openapi"}, **HTML)
    as_json = viewer_client.get("/api/v1/schema", HTTP_ACCEPT="application/json")

    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert downloaded["Content-Type"].startswith("application/vnd.oai.openapi")
    assert as_json.json()["info"]["title"] == "wpdash API"


# --- in Chromium ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("api-pages"), WPDASH_METRICS_SOURCE="local") as server:
        server.create_user("viewer", PASSWORD)
        yield server


def watch_console(page) -> list[str]:
    """Errors in the page's console, CSP violations included, as they happen."""
    found: list[str] = []
    page.on("console", lambda message: found.append(message.text) if message.type == "error" else None)
    return found


def sign_in(page, server, then: str) -> None:
    page.goto(f"{server.url}/accounts/login/?next={then}")
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + then)


def colour(page, selector: str, prop: str = "backgroundColor") -> str:
    return page.eval_on_selector(selector, f"element => getComputedStyle(element).{prop}")


DASHBOARD_BACKGROUND = "rgb(15, 20, 25)"  # wpdash.css --bg
DASHBOARD_TEXT = "rgb(230, 237, 243)"  # wpdash.css --text


@pytest.mark.browser
def test_in_chromium_sign_out_on_the_browsable_api_works_under_the_csp(browser, site):
    page = browser.new_page()
    errors = watch_console(page)
    sign_in(page, site, "/api/v1/")

    page.get_by_role("button", name="Sign out").click()

    page.wait_for_url(site.url + "/accounts/login/?signed_out=1")  # "You have signed out."
    assert errors == []  # nothing blocked on the way out
    again = page.goto(site.url + "/api/v1/")
    assert again is not None and again.status == 401  # the session is gone
    assert page.get_by_role("link", name="Sign in").is_visible()
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/api/v1/", "/api/v1/server/restarts", "/api/v1/docs"])
def test_in_chromium_the_api_pages_wear_the_dashboards_colours_and_break_no_csp_rule(browser, site, path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = watch_console(page)
    sign_in(page, site, path)
    if path.endswith("docs"):
        page.wait_for_selector(".swagger-ui .info .title:has-text('wpdash API')", timeout=15000)
        # Swagger UI's dark mode, in our text colour: its light mode draws the title in #3b4151.
        assert colour(page, ".swagger-ui .info .title", "color") == DASHBOARD_TEXT
        assert colour(page, ".swagger-ui .opblock-tag", "color") == DASHBOARD_TEXT

    assert colour(page, "body") == DASHBOARD_BACKGROUND
    assert colour(page, ".topbar") == "rgb(23, 29, 36)"  # --panel: the dashboard's header
    assert errors == []
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url(site.url + "/")
    page.close()


@pytest.mark.browser
def test_in_chromium_the_filters_open_and_the_breadcrumb_reads_once_each(browser, site):
    page = browser.new_page()
    errors = watch_console(page)
    sign_in(page, site, "/api/v1/server/restarts")

    assert page.locator(".breadcrumb li").all_inner_texts() == ["wpdash API", "Server", "Restart Action List"]
    page.get_by_role("button", name="Filters").click()
    page.wait_for_selector("#filtersModal.in")
    assert colour(page, "#filtersModal .modal-content") == "rgb(23, 29, 36)"
    assert errors == []
    page.close()


@pytest.mark.browser
def test_in_chromium_the_schema_link_is_a_page_signed_in_and_the_sign_in_page_signed_out(browser, site):
    page = browser.new_page()
    sign_in(page, site, "/api/v1/")

    page.locator(".response-info a", has_text="/api/v1/schema").click()
    page.wait_for_selector("h1:has-text('OpenAPI schema')")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(site.url + "/accounts/login/?signed_out=1")  # "You have signed out."
    signed_out = page.goto(site.url + "/api/v1/schema")

    assert signed_out is not None and signed_out.status == 401
    assert page.locator("h1").inner_text() == "Sign in to see this page"
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/api/v1/server/services", "/api/v1/docs"])
def test_in_chromium_the_api_pages_fit_a_phone(browser, site, path):
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    sign_in(page, site, path)
    if path.endswith("docs"):
        page.wait_for_selector(".swagger-ui .info .title", timeout=15000)

    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert page.get_by_role("button", name="Sign out").is_visible()
    page.screenshot(path=str(REPO / "test-artifacts" / f"api-phone-{path.rsplit('/', 1)[1]}.png"), full_page=False)
    page.close()
