"""HTTP endpoints of the bi feature."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["bi"])
