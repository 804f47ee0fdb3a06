"""The BI assistant: retrieval over the factory data and the Claude client."""
