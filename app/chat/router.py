"""HTTP endpoints of the chat feature."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["chat"])
