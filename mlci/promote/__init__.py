"""`mlci promote`, `rollback` and `history`: gated alias moves with a history kept in the registry.

Gates read result documents from the out folder and must have been earned by
the very model being promoted; the alias moves through a protocol that
queues, reads back and records (see `protocol`), so a move is never half made
or made twice, and a rollback undoes only what it can show was done. Nothing
heavy is imported here, so `mlci --help` stays fast."""
