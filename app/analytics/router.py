"""HTTP endpoints of the analytics feature."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["analytics"])
