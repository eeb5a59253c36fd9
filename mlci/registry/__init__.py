"""Everything that talks to MLflow lives here, and only here.

MLflow takes seconds to import, so the rest of mlci never imports it at module
level; each function in this subpackage imports it when called."""

from __future__ import annotations

import logging


def quiet_mlflow() -> None:
    """MLflow logs INFO lines (database migrations, …) that bury mlci's own output
    in CI logs; warnings and errors still show."""
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
