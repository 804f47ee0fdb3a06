"""The BI assistant: Claude with query tools over the factory data, and a keyword path without it."""
