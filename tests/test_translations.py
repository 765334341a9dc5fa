"""Every user-facing string has a Swedish translation; Swedish is what visitors see first."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app import i18n

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}
METHODS = [("app/**.py", "python"), ("frontend/templates/**.html", "jinja2.ext:babel_extract")]


def source_messages() -> set[str]:
    found = extract_from_dir(
        ROOT, method_map=METHODS, keywords=KEYWORDS,
        options_map={"frontend/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    )
    return {message for _, _, message, _, _ in found}


def test_every_message_in_the_source_has_a_swedish_translation():
    path = ROOT / "frontend/translations/sv/LC_MESSAGES/messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="sv")
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = source_messages() - translated
    assert not missing, f"untranslated: {sorted(missing)}"


def test_catalogues_load_and_translate():
    catalogues = i18n.load_all()
    assert catalogues["sv"].gettext("Start chat") == "Starta chatt"
    assert catalogues["en"].gettext("Start chat") == "Start chat"


def test_the_default_language_is_swedish():
    assert i18n.choose(None) == "sv" and i18n.choose("en") == "en" and i18n.choose("xx") == "sv"
