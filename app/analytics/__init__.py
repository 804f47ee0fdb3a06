"""Tailnet analytics: devices, user quota, access logs and dashboard usage."""
