"""What the app survives: fuzzing, bursts, failing upstreams, kill -9, sustained load.

See docs/performance.md.
"""
