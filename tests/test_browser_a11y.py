"""Issue 31: accessibility in a real headless Chromium. axe-core (bundled in axe-playwright-python) audits every
page, each tab, lesson mode, presentation mode and the dark theme against WCAG 2.1 A and AA: no serious or critical
violation in our content. The known violations inside Streamlit's own components are listed in tests/a11y.py
(STREAMLIT_OWN) and in the README. The full report is written under a temporary folder (printed)."""
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
