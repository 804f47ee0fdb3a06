"""Energy prices, weather and production: stores, ingestion clients and queries."""
