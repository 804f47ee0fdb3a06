"""Energy BI for the Linares chocolate factory."""

__version__ = "0.1.0"
