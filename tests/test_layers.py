"""The write path's layers: entry points → workflows → reviews.services →
relationships.services. A lower layer importing a higher one would be a cycle, or a rule
run behind the caller's back; this checks every import, including those inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# module file → packages it must never import
FORBIDDEN = {
    "relationships/services.py": {"reviews", "workflows"},
    "relationships/models.py": {"reviews", "workflows"},
    "relationships/selectors.py": {"workflows"},
    "reviews/services.py": {"workflows"},
    "reviews/models.py": {"workflows"},
}


def imported_packages(path: Path) -> set[str]:
    packages = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            packages |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            packages.add(node.module.split(".")[0])
    return packages


@pytest.mark.parametrize(("module", "forbidden"), sorted(FORBIDDEN.items()))
def test_a_lower_layer_never_imports_a_higher_one(module, forbidden):
    assert not imported_packages(ROOT / module) & forbidden


def test_no_receiver_keeps_the_review_schedule():
    """The schedule follows writes through explicit calls (workflows.lifecycle)."""
    from django.db.models.signals import post_save

    from relationships.models import Relationship

    receivers = post_save._live_receivers(Relationship)
    names = {getattr(r, "__module__", "") for group in receivers for r in group}
    assert not {name for name in names if name.startswith("reviews")}
