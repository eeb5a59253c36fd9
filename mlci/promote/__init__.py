"""`mlci promote` and `mlci rollback`: gated alias moves with a history kept in the registry.

Gates read result documents from the out folder and must have been earned by
the very model being promoted; the alias moves through a protocol that
queues, reads back and records (see `protocol`). Nothing heavy is imported
here, so `mlci --help` stays fast."""
