"""Tests of the BI assistant: query tools, tool loop and keyword path, against a Messages API stand-in."""
