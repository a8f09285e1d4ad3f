"""Issue 31: accessibility in a real headless Chromium. axe-core (bundled in axe-playwright-python) audits every
page, each tab, lesson mode, presentation mode and the dark theme against WCAG 2.1 A and AA: no serious or critical
violation in our content. The known violations inside Streamlit's own components are listed in tests/a11y.py
(STREAMLIT_OWN) and in the README. The full report is written under a temporary folder (printed)."""
import json

import pytest

import a11y
from test_browser import browser, server  # noqa: F401  (fixtures: one server and browser for this module)


@pytest.mark.slow
def test_every_view_has_no_serious_accessibility_violation_in_our_content(server, browser):
    results, failed = {}, {}
    for name, path, scheme in a11y.views():
        page = browser.new_page(viewport=a11y.DESKTOP, color_scheme=scheme)
        page.goto(server + path)
        a11y.settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0, name
        results[name] = a11y.audit(page)
        page.close()
        bad = [(v["id"], v["impact"], [n[1][:120] for n in a11y.ours(v)])
               for v in results[name] if v["impact"] in a11y.SERIOUS and a11y.ours(v)]
        if bad:
            failed[name] = bad
    report = a11y.out_dir("audit") / "axe_report.json"
    a11y.save(results, report)
    print(f"\naxe report: {report}\nserious/critical, all: {a11y.counts(results)}; "
          f"ours: {a11y.counts(results, ours_only=True)}")
    assert not failed, failed


@pytest.mark.slow
def test_every_page_fits_a_phone(server, browser):
    """At 390 x 844 (a phone held upright) no page scrolls sideways, every chart fits the width, no control sticks
    out of the screen (a wide table or a tab bar scrolls inside its own box) and no label is cut short. A picture of
    every whole page is written under the printed folder."""
    shots = a11y.out_dir("phone")
    ctx = browser.new_context(viewport=a11y.PHONE, is_mobile=True, has_touch=True)
    problems = {}
    for key, path in a11y.PATHS.items():
        page = ctx.new_page()
        page.goto(server + path)
        a11y.settle(page)
        f = a11y.fit(page)
        if a11y.misfits(f):  # on a loaded machine a chart may still be laying out: measure once more, settled
            page.wait_for_timeout(3000)
            a11y.settle(page)
            f = a11y.fit(page)
        if a11y.misfits(f):
            problems[key] = f
        a11y.full_screenshot(page, shots / f"{key}.png")
        page.close()
    ctx.close()
    print(f"\nphone screenshots (390 px wide): {shots}")
    assert not problems, json.dumps(problems)  # a string: pytest prints it whole


@pytest.mark.slow
@pytest.mark.parametrize("key, label, keys, expect", a11y.KEYBOARD, ids=[k[0] for k in a11y.KEYBOARD])
def test_one_exercise_per_page_by_keyboard_alone(server, browser, key, label, keys, expect):
    """Tab (only Tab) from the top of the page to a control, every stop with a visible focus ring, the skip link
    first; then Enter, Space, arrows or typing change the view, as the address (or the page opened) shows."""
    page = browser.new_page(viewport=a11y.DESKTOP)
    page.goto(server + a11y.PATHS[key])
    a11y.settle(page)
    stops = a11y.tab_to(page, label)
    assert stops[0]["label"] == "Skip to main content"  # Streamlit's skip link: past the sidebar in one key
    a11y.press(page, keys)
    page.wait_for_url(lambda url: expect in url, timeout=90_000)
    a11y.settle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()
