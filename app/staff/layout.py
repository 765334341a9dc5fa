"""Renders a logged-in staff member's page inside the staff layout, with the menu their role allows."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.services import Services
from app.staff import access
from app.staff.sessions import StaffSession
from app.visitor.pages import language


def staff_page(request: Request, session: StaffSession, name: str, status_code: int = 200,
               **context: Any) -> Response:
    services: Services = request.app.state.services
    return services.templates.render(
        language(request), name, status_code=status_code, session=session,
        menu=access.menu(session.role), current_path=request.url.path, **context,
    )
