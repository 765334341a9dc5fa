"""Jinja2 rendering: one autoescaping environment per language, with the asset URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from babel.support import NullTranslations
from starlette.responses import HTMLResponse

from app.assets import Assets
from app.i18n import LANGUAGES

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "frontend" / "templates"


class Templates:
    """Render a template in a language; every visitor-supplied value is escaped."""

    def __init__(self, translations: dict[str, NullTranslations], assets: Assets) -> None:
        self._environments: dict[str, jinja2.Environment] = {}
        for code, catalogue in translations.items():
            environment = jinja2.Environment(
                loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
                autoescape=True,
                extensions=["jinja2.ext.i18n"],
                undefined=jinja2.StrictUndefined,
            )
            # Strings handed to scripts as JSON stay UTF-8 (Jinja still escapes <, >, & and '): in
            # Arabic or Tigrinya, \u escapes would triple the page's weight on a slow connection.
            environment.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
            environment.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined] # added by the i18n extension
            environment.globals["static"] = assets.url
            environment.globals["language"] = LANGUAGES[code]
            environment.globals["languages"] = LANGUAGES
            self._environments[code] = environment

    def render(self, lang: str, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = self._environments[lang].get_template(name).render(**context)
        return HTMLResponse(html, status_code=status_code)
