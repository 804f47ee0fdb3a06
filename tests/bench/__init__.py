"""`make bench`: speed and memory of the app, the chat pipeline, access-log ingestion, the Pulumi program
and the images, each figure taken in the same run as its baseline (see docs/performance.md)."""
