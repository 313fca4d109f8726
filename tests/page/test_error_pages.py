"""The 401, 403 and 404 pages in the dashboard's style, and the admin in its colours (issue 16).

API paths keep their JSON answers; only HTML gets the pages. The Chromium tests
come last in the module: Playwright's sync API holds an event loop in this thread
while the module's browser is open.
"""

from __future__ import annotations

import re

import pytest
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.permissions import IsAdminUser

from tests.support.servers import live_server
from tests.support.users import PASSWORD as VIEWER_PASSWORD

PASSWORD = "error pages password 123"
STYLESHEET = "/static/server_monitor/wpdash.css"
ADMIN_STYLESHEET = "/static/server_monitor/admin.css"


def assert_dashboard_page(html: str, code: str, title: str) -> None:
    """One of ours: the dashboard's stylesheet and header, the code and the heading,
    and nothing the CSP would block."""
    assert f'<link rel="stylesheet" href="{STYLESHEET}">' in html
    assert '<header class="topbar">' in html
    assert f'<p class="error-code">{code}</p>' in html
    assert f'<h1 id="error-title">{title}</h1>' in html
    assert "<script" not in html
    assert not re.search(r"\sstyle=", html)


# --- 401: the API docs signed out ----------------------------------------------------------


def test_a_signed_out_visit_to_the_docs_gets_the_401_page_with_a_sign_in_link(client, db):
    response = client.get("/api/v1/docs/")

    assert response.status_code == 401
    assert response["Content-Type"].startswith("text/html")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    html = response.content.decode()
    assert_dashboard_page(html, "401", "Sign in to see this page")
    assert '<a class="btn primary" href="/accounts/login/?next=/api/v1/docs/">Sign in</a>' in html


def test_the_sign_in_link_leads_back_to_the_path_asked_for_and_nowhere_else(client, db):
    response = client.get("/api/v1/docs/", {"next": "https://evil.example/", "lang": "de"})

    links = re.findall(r'href="(/accounts/login/[^"]*)"', response.content.decode())
    assert links == ["/accounts/login/?next=/api/v1/docs/"]


def test_a_bad_token_at_the_docs_also_gets_the_401_page(client, db):
    response = client.get("/api/v1/docs/", HTTP_AUTHORIZATION="Bearer not.a.token")

    assert response.status_code == 401
    assert_dashboard_page(response.content.decode(), "401", "Sign in to see this page")


def test_signing_in_through_the_link_leads_back_to_the_docs(client, viewer):
    response = client.post(
        "/accounts/login/", {"username": "viewer", "password": VIEWER_PASSWORD, "next": "/api/v1/docs/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/api/v1/docs/"
    assert client.get("/api/v1/docs/").status_code == 200


def test_a_signed_in_user_the_docs_refuse_gets_the_403_page(viewer_client, monkeypatch):
    monkeypatch.setattr(SpectacularSwaggerSplitView, "permission_classes", [IsAdminUser])

    response = viewer_client.get("/api/v1/docs/")

    assert response.status_code == 403
    html = response.content.decode()
    assert_dashboard_page(html, "403", "Not allowed")
    assert "You do not have permission to perform this action." in html


def test_the_schema_stays_an_openapi_answer_for_the_signed_out(client, db):
    response = client.get("/api/v1/schema/")

    assert response.status_code == 401
    assert not response["Content-Type"].startswith("text/html")
    assert b"Authentication credentials were not provided." in response.content


# --- 403 and 404 on pages; JSON on the API -------------------------------------------------


def test_a_user_without_the_restart_permission_gets_the_403_page(viewer_client):
    response = viewer_client.get("/services/nginx/restart")

    assert response.status_code == 403
    html = response.content.decode()
    assert_dashboard_page(html, "403", "Not allowed")
    assert "You do not have the permission to restart services." in html
    assert '<span class="muted">viewer</span>' in html  # the header knows who is signed in
    assert "/accounts/login/?next=" not in html  # signed in: no sign-in link


def test_a_page_that_does_not_exist_gets_the_404_page(client, db):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    html = response.content.decode()
    assert_dashboard_page(html, "404", "Page not found")
    assert '<span class="mono">/no-such-page</span>' in html


def test_the_404_page_escapes_the_path_it_names(client, db):
    response = client.get("/<b>bold</b>")

    assert response.status_code == 404
    assert b"<b>bold</b>" not in response.content


def test_an_api_path_that_does_not_exist_is_still_json(viewer_client):
    response = viewer_client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_api_refusals_are_still_json(anonymous_client, viewer_client, fake_systemd):
    signed_out = anonymous_client.get("/api/v1/server/services")
    refused = viewer_client.post("/api/v1/server/services/nginx/restart")

    assert signed_out.status_code == 401
    assert signed_out.json() == {"detail": "Authentication credentials were not provided."}
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/json"
    assert refused.json() == {"detail": "You do not have the permission to restart services."}
    assert fake_systemd.restarts() == []


# --- the admin ---------------------------------------------------------------------------


def test_every_admin_page_loads_the_palette_and_says_wpdash(client, superuser):
    signed_out = client.get("/admin/login/")
    client.force_login(superuser)
    index = client.get("/admin/")

    for response in (signed_out, index):
        html = response.content.decode()
        assert f'<link rel="stylesheet" href="{ADMIN_STYLESHEET}">' in html
        assert '<div id="site-name"><a href="/admin/">wp<span>dash</span> admin</a></div>' in html
        assert "| wpdash admin</title>" in html


# --- Chromium against a real daphne ----------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("error-pages")) as server:
        server.create_user("viewer", PASSWORD)
        server.create_user("boss", PASSWORD, is_staff=True, is_superuser=True)
        yield server


def csp_errors(page) -> list[str]:
    """The page's Content-Security-Policy violations, as they happen."""
    found: list[str] = []

    def note(message) -> None:
        if "Content Security Policy" in message.text:
            found.append(message.text)

    page.on("console", note)
    return found


def background(page, selector: str = "body") -> str:
    return page.eval_on_selector(selector, "element => getComputedStyle(element).backgroundColor")


def dashboard_background(browser, server) -> str:
    """The status page's colour, as the browser computes it from wpdash.css."""
    page = browser.new_page()
    page.goto(server.url + "/accounts/login/")
    colour = background(page)
    page.close()
    assert colour not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), colour
    return colour


def luminance(colour: str) -> float:
    channels = [int(value) / 255 for value in re.findall(r"\d+", colour)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, back: str) -> float:
    light, dark = sorted((luminance(foreground), luminance(back)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def sign_in(page, username: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.browser
def test_in_chromium_the_docs_signed_out_offer_a_sign_in_that_leads_back_to_them(browser, site):
    page = browser.new_page()
    blocked = csp_errors(page)

    response = page.goto(site.url + "/api/v1/docs/")

    assert response is not None and response.status == 401
    assert page.locator("h1").inner_text() == "Sign in to see this page"
    assert background(page) == dashboard_background(browser, site)
    assert blocked == []  # on our page; Swagger UI's own inline styles are another matter
    page.get_by_role("link", name="Sign in").click()
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/api/v1/docs/$"))
    sign_in(page, "viewer")
    page.wait_for_url(site.url + "/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info .title:has-text('wpdash API')", timeout=15000)
    page.close()


@pytest.mark.browser
def test_in_chromium_a_missing_page_is_the_styled_404(browser, site):
    page = browser.new_page()
    blocked = csp_errors(page)

    response = page.goto(site.url + "/no-such-page")

    assert response is not None and response.status == 404
    assert page.locator(".topbar .brand").inner_text() == "wpdash"
    assert page.locator("h1").inner_text() == "Page not found"
    assert background(page) == dashboard_background(browser, site)
    assert background(page, ".card") != background(page)  # the card is drawn: the stylesheet applied
    page.get_by_role("link", name="Go to the status page").click()
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/$"))
    assert blocked == []
    page.close()


@pytest.mark.browser
def test_in_chromium_a_restart_without_the_permission_is_the_styled_403(browser, site):
    page = browser.new_page()
    blocked = csp_errors(page)
    page.goto(site.url + "/accounts/login/")
    sign_in(page, "viewer")
    page.wait_for_url(site.url + "/")

    response = page.goto(site.url + "/services/nginx/restart")

    assert response is not None and response.status == 403
    assert page.locator("h1").inner_text() == "Not allowed"
    assert "You do not have the permission to restart services." in page.locator("main").inner_text()
    assert page.locator(".topbar nav").get_by_text("viewer").is_visible()
    assert background(page) == dashboard_background(browser, site)
    assert blocked == []
    page.close()


@pytest.mark.browser
def test_in_chromium_the_admin_wears_the_dashboards_colours_and_stays_readable(browser, site):
    page = browser.new_page()
    blocked = csp_errors(page)
    page.emulate_media(color_scheme="light")  # a light system theme changes nothing
    page.goto(site.url + "/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(site.url + "/admin/")

    body = background(page)

    assert body == dashboard_background(browser, site)
    assert page.locator("#site-name").inner_text() == "wpdash admin"
    text = page.eval_on_selector("body", "element => getComputedStyle(element).color")
    link = page.eval_on_selector("#content-main th[scope=row] a", "element => getComputedStyle(element).color")
    caption = page.eval_on_selector(".module caption a", "element => getComputedStyle(element).color")
    assert contrast(text, body) >= 4.5
    assert contrast(link, body) >= 4.5
    assert contrast(caption, background(page, ".module caption")) >= 4.5
    assert page.locator(".theme-toggle").first.is_hidden()
    assert blocked == []
    page.close()
