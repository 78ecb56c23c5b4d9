"""Everything the conversations package reads from and writes to the database: what the
actors record (``records``) and what people read (``reads``)."""
