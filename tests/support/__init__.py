"""Test-support layer shared by every test package: local services, the Docker engine, base images."""
