"""The page at ``/`` in real headless Chromium (the system's, driven by Playwright):
pick a user and see ten titled recommendations, open similar items, then build a new
user from a title search; on a service with a token and without histories, give the
token once and see recommendations alone."""

from __future__ import annotations

import socket
import threading
import time

import pytest


def started(app):
    uvicorn = pytest.importorskip("uvicorn")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)


def opened(browser, url):
    """A page at ``url``, and the list its script errors are collected in."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    return page, errors


@pytest.fixture(scope="module")
def server(service):
    from ncf.serving.app import create_app

    yield from started(create_app(service))


@pytest.fixture(scope="module")
def guarded_server(service):
    from ncf.serving.app import create_app

    yield from started(create_app(service, token="the-token-of-the-page", history=False))


def test_pick_a_user_then_a_new_user(server, browser, service, tmp_path):
    page, errors = opened(browser, server)
    page.wait_for_selector("#model-name:has-text('ials')")
    corner = page.inner_text("#metrics")
    assert "test" in corner and "ranked against every item" in corner
    # recall@10 equals hr@10 with one held-out item per user: shown once
    assert "hr@10" in corner and "recall@10" not in corner

    # an id that is no user is named so
    page.fill("#user-search", "99999")
    page.press("#user-search", "Enter")
    page.wait_for_selector("#user-status:has-text(\"unknown user id '99999'\")")

    # a known user: history beside ten recommendations, with their titles
    page.fill("#user-search", "196")
    page.click("#user-options li:has-text('user 196')")
    rows = page.locator("#recommendations tbody tr")
    rows.nth(9).wait_for()
    assert rows.count() == 10
    shown = page.locator("#recommendations tbody td.title").all_inner_texts()
    expected = service.rec.recommend([196], k=10)["title"].tolist()
    assert shown == expected
    assert page.locator("#history tbody tr").count() == 39
    assert "Operation Dumbo Drop (1995)" in page.inner_text("#history")
    page.screenshot(path=str(tmp_path / "user.png"))

    # similar items of the first recommendation
    rows.first.click()
    page.locator("#similar-items tbody tr").nth(9).wait_for()
    assert page.inner_text("#similar-title") == expected[0]
    assert "item vectors" in page.inner_text("#similar-path")
    page.screenshot(path=str(tmp_path / "similar.png"))
    page.click("#similar-close")

    # a list longer than the service allows is cut to its cap, and the box says so
    page.fill("#k", "500")
    page.press("#k", "Enter")
    page.locator("#recommendations tbody tr").nth(99).wait_for()
    assert page.input_value("#k") == "100"
    page.uncheck("#exclude-seen")  # seen items come back, marked
    page.wait_for_selector("#recommendations .badge:has-text('seen')")

    # Enter right after typing takes what is typed, not an out-of-date suggestion
    page.fill("#user-search", "42")
    page.press("#user-search", "Enter")
    page.wait_for_selector("#user-status:has-text('User 42.')")
    assert page.input_value("#user-search") == "42"
    page.wait_for_timeout(400)  # a late search must not reopen the list over the page
    assert page.is_hidden("#user-options")

    # a new user: the most popular items, then live recommendations from a picked title
    page.fill("#k", "10")
    page.press("#k", "Enter")
    page.click("#tab-new")
    page.wait_for_selector("#new-path:has-text('most popular')")
    assert page.locator("#new-recommendations tbody tr").count() == 10
    assert page.inner_text("#new-recommendations th.score") == "INTERACTIONS"
    page.fill("#new-search", "no such film at all")
    page.wait_for_selector("#item-options li.empty:has-text('no matches')")
    page.fill("#new-search", "star wars")
    page.click("#item-options li:has-text('Star Wars (1977)')")
    page.wait_for_selector("#new-path:has-text('least squares')")
    assert page.inner_text("#picked").startswith("Star Wars (1977)")
    titles = page.locator("#new-recommendations tbody td.title").all_inner_texts()
    assert len(titles) == 10 and "Star Wars (1977)" not in titles
    answer = service.recommend_items([50], k=10)
    assert titles == [row["title"] for row in answer["items"]]
    page.screenshot(path=str(tmp_path / "new-user.png"))
    assert not errors


def test_the_page_asks_for_the_token_once(guarded_server, browser, service, tmp_path):
    page, errors = opened(browser, guarded_server)
    page.wait_for_selector("#token-form:not([hidden])")
    page.fill("#token", "not-the-token")
    page.press("#token", "Enter")
    page.wait_for_selector("#token-note:has-text('refused')")
    page.screenshot(path=str(tmp_path / "token.png"))
    page.fill("#token", "the-token-of-the-page")
    page.press("#token", "Enter")
    page.wait_for_selector("#model-name:has-text('ials')")
    assert page.is_hidden("#token-form")
    # without histories: a user id typed in gives recommendations alone
    page.fill("#user-search", "196")
    page.press("#user-search", "Enter")
    page.locator("#recommendations tbody tr").nth(9).wait_for()
    shown = page.locator("#recommendations tbody td.title").all_inner_texts()
    assert shown == service.rec.recommend([196], k=10)["title"].tolist()
    assert page.is_hidden("#history") and page.is_hidden("#exclude-seen")
    page.wait_for_timeout(400)
    assert page.is_hidden("#user-options")  # no user search without histories
    page.screenshot(path=str(tmp_path / "no-history.png"))
    page.reload()  # the token is kept for the tab
    page.wait_for_selector("#model-name:has-text('ials')")
    assert page.is_hidden("#token-form")
    assert not errors
