"""Every admin and teacher page at 1,280 px and at 390 px (a phone): no sideways page scroll, the header's
user name and "Log out" on screen or folded behind an on-screen Menu button (which the menu test opens from the
keyboard), copy buttons on screen, and no serious or critical axe-core violation. One browser context per person
and width, logged in once."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.site_world import build_site
from tests.browser.steps import log_in
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

# axe-core, vendored from its npm package for tests only (the app never serves it).
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
WIDTHS = {"desktop": 1280, "phone": 390}
BLOCKING_IMPACTS = ("serious", "critical")

LAYOUT_PROBLEMS = """(fullName) => {
  const problems = [];
  const width = window.innerWidth;
  const onScreen = (element) => {
    if (!element || element.offsetParent === null) { return false; }
    const box = element.getBoundingClientRect();
    return box.width > 0 && box.left >= 0 && box.right <= width;
  };
  if (document.documentElement.scrollWidth > width) {
    problems.push(`page is ${document.documentElement.scrollWidth}px wide`);
  }
  // The header: the person's name and "Log out" on screen, or folded behind an on-screen Menu button.
  const header = document.querySelector('.site-header');
  const toggle = header.querySelector('.nav-toggle');
  const menu = document.getElementById(toggle.getAttribute('aria-controls'));
  const name = [...menu.querySelectorAll('.nav-user')].find((item) => item.textContent.trim() === fullName);
  const logOut = [...menu.querySelectorAll('button')].find((item) => item.textContent.trim() === 'Log out');
  if (!name || !logOut) {
    problems.push('the header has no name or no Log out');
  } else if (onScreen(toggle)) {
    if (toggle.getAttribute('aria-expanded') !== 'false' || onScreen(menu)) {
      problems.push('the menu is not folded behind its button');
    }
  } else if (!onScreen(name) || !onScreen(logOut)) {
    problems.push('name or Log out off screen, and no Menu button');
  }
  document.querySelectorAll('.copy-field').forEach((field) => {
    const button = field.querySelector('button');
    const input = field.querySelector('.copy-input');
    if (field.offsetParent === null) { return; }
    if (!onScreen(button)) { problems.push(`copy button for ${input.id} off screen`); }
    if (input.getBoundingClientRect().right > width) { problems.push(`copy value ${input.id} cut at the screen edge`); }
    // With room to spare a registration's URLs show whole; on a phone they may scroll inside their field.
    if (width >= 1000 && field.closest('.url-table, .guide-steps') && input.scrollWidth > input.clientWidth) {
      problems.push(`copy value ${input.id} does not fit its field`);
    }
  });
  return problems;
}"""


def axe_problems(page: Page) -> list[str]:
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"axe {item['id']} ({item['impact']}): {item['help']} at "
            + ", ".join(" ".join(node["target"]) for node in item["nodes"][:4])
            for item in results["violations"] if item["impact"] in BLOCKING_IMPACTS]


def sweep(browser, base_url: str, width: int, username: str, full_name: str, paths: list[str],
          shots: str) -> list[str]:
    # add_init_script goes through the DevTools protocol, which the page's Content-Security-Policy does not
    # govern, so axe is present on every page without relaxing the site's CSP or bypass_csp.
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": 900})
    context.add_init_script(path=str(AXE))
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page, username)
        problems = []
        for path in paths:
            response = page.goto(path)
            found = [] if response and response.ok else [f"HTTP {response.status if response else '-'}"]
            found += page.evaluate(LAYOUT_PROBLEMS, full_name) + axe_problems(page)
            problems += [f"{width}px {username} {path}: {item}" for item in found]
            if shots:
                ARTIFACTS.mkdir(exist_ok=True)
                name = path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-") or "home"
                page.screenshot(path=str(ARTIFACTS / f"{shots}-{username}-{name}.png"), full_page=True)
        return problems
    finally:
        context.close()


@pytest.mark.parametrize("width_name", list(WIDTHS))
def test_every_admin_and_teacher_page_fits_and_passes_axe(browser, live_server, width_name):
    with live_server.app.app_context():
        pages = build_site()
    width = WIDTHS[width_name]
    shots = os.environ.get("SWEEP_SCREENSHOTS") and f"layout-{width}"
    problems = sweep(browser, live_server.url, width, "admin", "Ada Administrator-Longname", pages.admin, shots)
    problems += sweep(browser, live_server.url, width, "teacher", "Terry Teacher", pages.teacher, shots)
    assert not problems, "\n".join(problems)


def test_phone_menu_opens_from_the_keyboard_and_closes_with_escape(browser, live_server):
    with live_server.app.app_context():
        build_site()
    context = browser.new_context(base_url=live_server.url, viewport={"width": WIDTHS["phone"], "height": 844})
    context.add_init_script(path=str(AXE))
    try:
        page = context.new_page()
        log_in(page, "admin")
        menu = page.get_by_role("button", name="Menu")
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(page.get_by_role("button", name="Log out")).to_be_hidden()
        menu.focus()
        page.keyboard.press("Enter")
        expect(menu).to_have_attribute("aria-expanded", "true")
        site_menu = page.locator(f"#{menu.get_attribute('aria-controls')}")
        for link in ("My courses", "Courses", "Site administration"):
            expect(site_menu.get_by_role("link", name=link, exact=True)).to_be_visible()
        expect(site_menu.get_by_text("Ada Administrator-Longname")).to_be_visible()
        expect(site_menu.get_by_role("button", name="Log out")).to_be_visible()
        assert axe_problems(page) == []
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "layout-390-menu-open.png"))

        page.keyboard.press("Tab")
        page.keyboard.press("Escape")
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(menu).to_be_focused()
        expect(site_menu).to_be_hidden()

        site_menu_link = page.get_by_role("link", name="Courses", exact=True)
        menu.click()
        site_menu_link.click()
        expect(page.get_by_role("heading", name="Courses")).to_be_visible()
        page.set_viewport_size({"width": WIDTHS["desktop"], "height": 800})
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
    finally:
        context.close()
