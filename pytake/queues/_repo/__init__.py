"""Everything the queues package reads from and writes to the database: teams and their
members (``teams``), canned responses (``canned``), what a queue rebuilds from
(``queue_rows``)."""
