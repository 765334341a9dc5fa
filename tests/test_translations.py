"""Every user-facing string has a Swedish translation; Swedish is what visitors see first."""

import re
from pathlib import Path

import pytest
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


PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")
TRANSLATED = [code for code in i18n.LANGUAGES if code != i18n.SOURCE_LANGUAGE]


def test_the_swedish_catalogue_holds_exactly_the_messages_in_use():
    assert i18n.source_messages() == source_messages(), "drop messages no longer used from the catalogues"


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_language_translates_every_message_keeping_its_placeholders(code):
    source = i18n.source_messages()
    status = i18n.status(code, source)
    assert not status.missing, f"{code} untranslated: {status.missing}"
    with i18n.catalogue_path(code).open("rb") as handle:
        catalog = read_po(handle, locale=i18n.babel_locale(code))
    for message in catalog:
        if message.id in source:
            assert sorted(PLACEHOLDER.findall(message.id)) == sorted(PLACEHOLDER.findall(message.string)), \
                (code, message.id)
    assert {m.id for m in catalog if m.id} <= source, f"{code} has messages no longer in use"


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_catalogue_says_whether_a_native_speaker_has_checked_it(code):
    text = i18n.catalogue_path(code).read_text(encoding="utf-8")
    assert re.search(rf'^"{i18n.REVIEW_HEADER}: (yes|no)\\n"$', text, re.MULTILINE), code


def test_right_to_left_languages_are_marked_and_every_language_loads():
    catalogues = i18n.load_all()
    assert set(catalogues) == set(i18n.LANGUAGES)
    assert [code for code, lang in i18n.LANGUAGES.items() if lang.direction == "rtl"] == ["ar", "fa"]
    assert catalogues["ar"].gettext("Start chat") not in ("", "Start chat")
    assert i18n.babel_locale("lattlast") == "sv" and i18n.LANGUAGES["lattlast"].tag == "sv"
