"""The cattrs converter used for actor snapshots (register hooks on it for custom types)."""

import cattrs

converter = cattrs.Converter()
