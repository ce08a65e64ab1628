"""Every SimConfig field is documented with its unit, in the code and in docs/simulator.md."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from nanolive.sim.config import SimConfig, field_docs

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"


def test_every_field_is_documented_in_code_and_docs() -> None:
    docs = field_docs()
    text = DOC.read_text()
    for f in fields(SimConfig):
        assert f.name in docs and len(docs[f.name]) > 10, f.name
        row = f"| `{f.name}` | `{f.default!r}` | {docs[f.name]} |"
        assert row in text, f"docs/simulator.md lacks the current row of {f.name}"
