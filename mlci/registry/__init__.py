"""Everything that talks to MLflow lives here, and only here.

MLflow takes seconds to import, so the rest of mlci never imports it at module
level; each function in this subpackage imports it when called."""
