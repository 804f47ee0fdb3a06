"""Stand-ins for services that cannot be reached here, speaking their real wire formats on real sockets.

Each is runnable as its own process (`python -m tests.standins.<name> ...`) so the code under test talks
to it exactly as it would to the real service.
"""
