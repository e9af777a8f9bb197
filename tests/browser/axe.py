"""axe-core in a Playwright page, offline: the accessibility audit of the book's pages.

axe-core's script comes from the ``axe-playwright-python`` wheel (``axe.min.js``, bundled in it), read from
disk and evaluated in the page: nothing is fetched at test time. Only the two worst impacts count here
(``critical``, ``serious``): they are what keeps a screen-reader or keyboard user out of a page.
"""

from __future__ import annotations

from collections import Counter
from importlib import resources

#: The impacts a page of the book may not have.
BLOCKING = ("critical", "serious")


def axe_script() -> str:
    """axe-core's own script, as the ``axe-playwright-python`` wheel bundles it."""
    return (resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


def audit(page) -> list[dict]:
    """axe-core's violations on the page as it is now: ``{rule, impact, nodes: [html snippets]}``, every impact."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_script())
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [{"rule": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [node["html"][:160] for node in v["nodes"]]} for v in result["violations"]]


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING]


def counts_by_rule(audits: dict[str, list[dict]]) -> Counter:
    """``(impact, rule) → elements`` over every page audited."""
    counts: Counter = Counter()
    for violations in audits.values():
        for v in violations:
            counts[v["impact"], v["rule"]] += len(v["nodes"])
    return counts


def report(audits: dict[str, list[dict]]) -> str:
    """The counts by rule over every page, worst first, then each page's blocking violations with examples."""
    counts = counts_by_rule(audits)
    order = {"critical": 0, "serious": 1, "moderate": 2, "minor": 3}
    lines = [f"axe-core on {len(audits)} pages: elements in violation, by impact and rule"]
    lines += [f"  {impact:9} {rule:32} {n:5}" for (impact, rule), n in
              sorted(counts.items(), key=lambda item: (order.get(item[0][0], 9), item[0][1]))]
    for name, violations in audits.items():
        for v in blocking(violations):
            lines.append(f"{name}: {v['impact']} {v['rule']} ×{len(v['nodes'])} ({v['help']}), e.g. {v['nodes'][0]}")
    return "\n".join(lines) + "\n"
