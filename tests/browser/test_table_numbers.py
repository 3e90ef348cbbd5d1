"""The run table's numbers read at a glance: four significant digits, powers of ten for
exploded losses (not 733300 beside 0.09218), thousands separators in counts."""

from __future__ import annotations

import re

from dashboard_page import wait_for_chart

LOSS = re.compile(r"^-?(\d+(\.\d+)?)(e[+-]\d+)?$")


def _digits(text: str) -> int:
    mantissa = LOSS.match(text)
    assert mantissa, text
    return len(mantissa.group(1).replace(".", "").lstrip("0"))


def test_loss_cells_have_four_significant_digits_and_powers_of_ten(page, server_url) -> None:
    page.goto(server_url)
    wait_for_chart(page, min_traces=10)
    page.wait_for_selector(".runs-table .ag-row")
    cells = page.evaluate(
        '() => Array.from(document.querySelectorAll(\'.runs-table .ag-cell[col-id="final"],'
        ' .runs-table .ag-cell[col-id="min"], .runs-table .ag-cell[col-id="mean"]\'))'
        ".map(c => c.innerText.trim())"
    )
    assert len(cells) >= 30
    assert all(_digits(t) <= 4 for t in cells), cells
    assert any("e+" in t for t in cells)  # Mamba's exploded finals
    assert not any(re.fullmatch(r"\d{5,}", t) for t in cells)
    assert page.console_errors == []
