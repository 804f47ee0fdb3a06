"""Tests of the BI chatbot: retrieval, the Claude client against a Messages API stand-in, endpoints."""
