"""The run table on a sweep folder in the browser: one row per seed group, opened to its
seed rows by a click on its name and closed by another, seeds kept under their group when a
column is sorted, the group's band highlighted on the chart."""

from __future__ import annotations

from dashboard_page import GRAPH_JS, wait_for_chart

SWEEP = "/?source=folder:sweep"
GROUP = "mamba_seq32768_seeds"
# The Run column is pinned left: its cells are in their own container, one row per row.
RUN_ROWS = ".runs-table .ag-pinned-left-cols-container .ag-row"
FADED = 0.18  # app.view.FADED_OPACITY


# JavaScript: the table's rows in the order shown (row id, Run text, classes).
ROWS_JS = f"""() => Array.from(document.querySelectorAll("{RUN_ROWS}"))
    .map(r => ({{index: Number(r.getAttribute('row-index')), id: r.getAttribute('row-id'),
                run: r.innerText.trim(), cls: r.className}}))
    .sort((a, b) => a.index - b.index)"""


def _rows(page) -> list[dict]:
    """The table's rows in the order shown: row id, Run text, classes."""
    return page.evaluate(ROWS_JS)


def _wait_for_rows(page, count: int) -> None:
    page.wait_for_function(f"n => document.querySelectorAll('{RUN_ROWS}').length === n", arg=count)


def _group_cell(page):
    return page.locator(f"{RUN_ROWS}[row-id='{GROUP}'] [col-id='run']")


def test_a_seed_group_row_opens_to_its_seeds_and_closes_again(page, server_url) -> None:
    page.goto(server_url + SWEEP)
    wait_for_chart(page, min_traces=8)
    _wait_for_rows(page, 4)
    rows = _rows(page)
    assert all(r["run"].endswith("· 3 seeds") and r["run"].startswith("▸") for r in rows)
    assert all("seed-group-row" in r["cls"] for r in rows)
    final = page.locator(f".ag-center-cols-container .ag-row[row-id='{GROUP}'] [col-id='final']")
    assert " ± " in final.inner_text()
    detected = page.locator(
        f".ag-center-cols-container .ag-row[row-id='{GROUP}'] [col-id='detected']"
    )
    assert detected.inner_text().startswith("1/3 diverged (step ")

    _group_cell(page).click()
    _wait_for_rows(page, 7)
    rows = _rows(page)
    at = [r["id"] for r in rows].index(GROUP)
    assert rows[at]["run"] == "▾ Mamba 32k · 3 seeds"
    seeds = rows[at + 1 : at + 4]
    assert [r["run"] for r in seeds] == ["seed 0", "seed 1", "seed 2"]
    assert all("seed-row" in r["cls"] for r in seeds)
    # the click also selected the group: its band and mean line stand out, the rest fade
    page.wait_for_function(
        f"""g => {{ const d = {GRAPH_JS}.data;
            const mine = d.filter(t => t.meta && t.meta.run_id === g);
            const rest = d.filter(t => t.meta && t.meta.run_id && t.meta.run_id !== g);
            return mine.length >= 2 && mine.every(t => t.opacity !== {FADED})
                && rest.length > 0 && rest.every(t => t.opacity === {FADED}); }}""",
        arg=GROUP,
    )

    # sorting by a column keeps the seeds right under their group
    page.locator(".runs-table .ag-header-cell[col-id='final']").click()
    page.wait_for_function(
        f"""g => {{ const rows = ({ROWS_JS})(), at = rows.findIndex(r => r.id === g);
            return rows.slice(at + 1, at + 4).map(r => r.run).join() === 'seed 1,seed 0,seed 2'
                && rows[0].id !== g; }}""",
        arg=GROUP,
    )

    _group_cell(page).click()
    _wait_for_rows(page, 4)
    assert _rows(page)[[r["id"] for r in _rows(page)].index(GROUP)]["run"].startswith("▸")
    assert page.console_errors == []
