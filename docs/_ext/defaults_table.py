"""``.. defaults-table::``: the steps and schedules of ``eta0="auto"`` and
``learning_rate="auto"``, read from ``descent._plan.DEFAULTS`` when the site
is built, so that the page shows what the installed code does (the table is
written once, in the code; tests/test_defaults.py holds it to Ridge's score).
Optimizers with the same defaults share a row, as in the README.
"""

from __future__ import annotations

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

MODES = (("sample", "``batch_size=1``"), ("batch", "``batch_size=k``"),
         ("full", "``batch_size=None``"))


def _cell(eta0, schedule):
    return f"{eta0}, {schedule}" if isinstance(eta0, str) else f"{eta0:g}, {schedule}"


def table_rows():
    """[(names, cells)] from descent._plan.DEFAULTS, equal rows merged."""
    from descent._plan import DEFAULTS

    rows: list[tuple[list[str], list[str]]] = []
    for name, modes in DEFAULTS.items():
        cells = [_cell(*modes[mode]) for mode, _ in MODES]
        for names, existing in rows:
            if existing == cells:
                names.append(name)
                break
        else:
            rows.append(([name], cells))
    return rows


class DefaultsTable(SphinxDirective):
    has_content = False

    def run(self):
        lines = [".. list-table::", "   :header-rows: 1", "",
                 "   * - optimizer"]
        lines += [f"     - {label}" for _, label in MODES]
        for names, cells in table_rows():
            lines.append("   * - " + ", ".join(f'``"{n}"``' for n in names))
            lines += [f"     - {cell}" for cell in cells]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="descent._plan.DEFAULTS"),
                                self.content_offset, container)
        return container.children


def setup(app):
    app.add_directive("defaults-table", DefaultsTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
