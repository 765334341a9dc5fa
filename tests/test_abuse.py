"""moderation.abuse: abuse aimed at the counselor is found, what visitors tell about their abusers is not."""

from __future__ import annotations

import pytest

from moderation.abuse import MIN_REPEAT_LENGTH, abusive, fingerprint, is_repeat

# --- abusive: aimed at the counselor ---------------------------------------------------------------

# (message, a substring that must be among the findings)
POSITIVES = [
    # Swedish insults and slurs
    ("du är en jävla idiot", "du är en jävla idiot"),
    ("din hora", "din hora"),
    ("du e en idiot", "du e en idiot"),
    ("du e så jävla dum i huvudet alltså", "du e så jävla dum i huvudet"),
    ("DIN JAVLA FITTAAA!!!", "DIN JAVLA FITTAAA"),
    ("va fan håller du på med din idiot", "din idiot"),
    ("ni är värdelösa", "ni är värdelösa"),
    ("du e bög", "du e bög"),
    ("du e cp", "du e cp"),
    ("du är ju helt cp-skadad", None),
    ("din mamma är en hora", "din mamma är en hora"),
    ("du suger", "du suger"),
    ("är du dum eller?", "du dum"),
    ("ditt jävla as", "ditt jävla as"),
    # English insults and slurs
    ("you stupid bitch", "you stupid bitch"),
    ("u r a fkn loser", "u r a fkn loser"),
    ("ur such a fuckin retard", "ur such a fuckin retard"),
    ("you're a cunt", "you're a cunt"),
    ("u dumb fuck", "u dumb fuck"),
    ("youre useless", "youre useless"),
    ("shut up you piece of shit", None),
    # orders at the reader
    ("fuck you", "fuck you"),
    ("fuck off", "fuck off"),
    ("fuck dig", "fuck dig"),
    ("stick och brinn", "stick och brinn"),
    ("håll käften", "håll käften"),
    ("hall kaften fattar du inte", "hall kaften"),
    ("dra åt helvete", "dra åt helvete"),
    ("go to hell", "go to hell"),
    ("stfu", "stfu"),
    ("kys", "kys"),
    ("go kill yourself", "go kill yourself"),
    ("gå och dö", "gå och dö"),
    ("ta livet av dig", "ta livet av dig"),
    ("jag hoppas du dör", "jag hoppas du dör"),
    ("sug min kuk", "sug min kuk"),
    # sexual harassment
    ("skicka nudes", "skicka nudes"),
    ("send nudes pls", "send nudes"),
    ("kan du skicka nudes", "skicka nudes"),
    ("visa brösten", "visa brösten"),
    ("show me your tits", "show me your tits"),
    ("är du kåt", "är du kåt"),
    ("vad har du på dig?", "vad har du på dig"),
    # threats at the counselor
    ("jag ska hitta dig och döda dig", "jag ska hitta dig"),
    ("jag vet var du bor", "jag vet var du bor"),
    ("ja kommer döda dig", "ja kommer döda dig"),
    ("i will find you", "i will find you"),
    ("i'm gonna kill you", "i'm gonna kill you"),
    ("I know where you live", "I know where you live"),
    ("jag ska våldta dig", "jag ska våldta dig"),
    ("kl 22:30 kommer jag och då ska jag döda dig", "ska jag döda dig"),
    # several in one message, and the counselor quoting back at the visitor does not hide it
    ("du sa att du skulle hjälpa mig, din jävla idiot", "din jävla idiot"),
]


@pytest.mark.parametrize(("message", "expected"), POSITIVES)
def test_abuse_aimed_at_the_counselor_is_found(message: str, expected: str | None) -> None:
    found = abusive(message)
    assert found, message
    if expected is not None:
        assert expected in found
    assert all(finding in message for finding in found)  # as written


def test_every_finding_is_reported_as_written() -> None:
    message = "Du E En JÄVLA idiot. Och fuck you. Håll käften!"
    assert abusive(message) == ("Du E En JÄVLA idiot", "fuck you", "Håll käften")


def test_overlapping_findings_are_one() -> None:
    assert abusive("fuck you bitch") == ("fuck you bitch",)


# --- abusive: not aimed at the counselor ---------------------------------------------------------

NEGATIVES = [
    # what the abuser says or does to the visitor
    "han kallar mig hora",
    "han kallar mig för en jävla idiot hela tiden",
    "he calls me a stupid bitch",
    "he said i'm a worthless whore",
    "han sa att han ska döda mig",
    "min pappa sa 'din jävla idiot' till mig",
    'han skrev "jag ska hitta dig och döda dig" på snap',
    "han skriker håll käften åt mamma",
    "he told me to shut up and go kill myself",
    "he says 'you stupid bitch' every time he's drunk",
    "hon säger att du är en hora om man går ut",
    "he makes you feel like you're worthless",
    "min kille sa du e så jävla dum",
    "hon: du är en hora",
    "pappa: din jävla idiot, du är inget värd",
    "han messade mig kl 23:15 och skrev att jag är en hora",
    # swearing that is not aimed at anyone
    "fan vad jobbigt",
    "jävla skit alltså",
    "fuck, I'm scared",
    "shit",
    "fuck fuck fuck jag vet inte vad jag ska göra",
    "what the fuck, you know?",
    "jävlar vad trött jag är",
    # sex and bodies in a help context
    "han tvingar mig att skicka nakenbilder",
    "han tog bilder på mig",
    "he wants me to send nudes or he'll leave",
    "jag fick skicka nudes till honom",
    "han tvingade mig att visa brösten",
    "han vill knulla fast jag inte vill",
    "jag fick en kys av honom",
    # the visitor's own suicidal and self-harm talk
    "jag vill döda mig själv",
    "i want to kill myself",
    "kms",
    "jag vill bara dö",
    "ibland vill jag ta livet av mig",
    # everyday talk to the counselor with "du" and "you"
    "du är så snäll, tack",
    "du är inte dum, jag bara undrar",
    "tror du att jag är dum?",
    "thank you so much",
    "are you there?",
    "du vet, han är en idiot",
    "can you find out if i can get help?",
    "jag hittar dig inte i chatten",
    "håll tyst om det här är du snäll",
    "hej! jag heter Kim och undrar om ni kan hjälpa mig",
]


@pytest.mark.parametrize("message", NEGATIVES)
def test_what_is_not_aimed_at_the_counselor_is_not_found(message: str) -> None:
    assert abusive(message) == ()


def test_a_new_sentence_after_reported_speech_is_read_on_its_own() -> None:
    assert abusive("han kallar mig hora. du är en hora") == ("du är en hora",)


def test_empty_text() -> None:
    assert abusive("") == ()


# Linear-time patterns: a pathological one would run into this bound, far above the real time.
@pytest.mark.timeout(60)
def test_long_input_is_handled() -> None:
    chunks = [
        "Hej, jag undrar om jag kan prata med någon om min kille. ",
        "du är en jävla idiot, fuck you ",
        "han kallar mig hora och säger 'jag ska döda dig' ",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa du e en jävla jävla jävla jävla jävla ",
        "'\"'”«ööö du  du  du   you you you  ",
    ]
    for chunk in chunks:
        text = (chunk * (100_000 // len(chunk) + 1))[:100_000]
        abusive(text)  # linear-time patterns: a pathological one would hit the timeout below
        assert fingerprint(text)


# --- fingerprint -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("one", "other"), [
    ("hej", "HEJ"),
    ("heeeej", "hej"),
    ("Hej!!!", "hej"),
    ("hej hur mår du", "Hej, hur mår du?"),
    ("hej   hur  mår du", "hejhurmårdu"),
    ("HJÄÄÄLP MIG", "hjälp mig!!!"),
    ("svara nu 😡😡", "svara nu"),
    ("Café", "cafe"),
    ("ring 112", "ring 112!"),
    ("SKÄRP DIG", "skärp dig"),
    ("Ärligt", "a\u0308rligt"),  # the same letter, decomposed
])
def test_same_fingerprint(one: str, other: str) -> None:
    assert fingerprint(one) == fingerprint(other)


@pytest.mark.parametrize(("one", "other"), [
    ("dö", "do"),
    ("får", "far"),
    ("hej", "hej då"),
    ("ring 112", "ring 114"),
    ("100", "10"),
    ("jag vill inte", "jag vill"),
])
def test_different_fingerprint(one: str, other: str) -> None:
    assert fingerprint(one) != fingerprint(other)


def test_fingerprint_of_punctuation_and_emoji_is_empty() -> None:
    assert fingerprint("?!?! 😀🙏 ...") == ""


# --- is_repeat ---------------------------------------------------------------------------------------

def test_the_third_identical_message_is_a_repeat() -> None:
    message = fingerprint("svara då!!")
    assert not is_repeat(message, [])
    assert not is_repeat(message, [message])
    assert is_repeat(message, [message, fingerprint("SVARA DÅÅÅ")])


def test_the_limit_is_the_number_of_identical_messages() -> None:
    message = fingerprint("svara då")
    assert not is_repeat(message, [message] * 3, limit=5)
    assert is_repeat(message, [message] * 4, limit=5)
    assert is_repeat(message, [message], limit=2)


def test_other_messages_in_between_do_not_matter() -> None:
    message = fingerprint("du är värdelös")
    recent = [message, fingerprint("hallå?"), fingerprint("svara"), message]
    assert is_repeat(message, recent)


def test_different_messages_are_not_repeats() -> None:
    recent = [fingerprint("han kommer hem snart"), fingerprint("jag är rädd")]
    assert not is_repeat(fingerprint("vad ska jag göra"), recent)


@pytest.mark.parametrize("message", ["ok", "ja", "JAAA", "nej", "?", "hej", "tack", "Tack!", "😀", "okej"])
def test_short_messages_never_repeat(message: str) -> None:
    short = fingerprint(message)
    assert len(short) < MIN_REPEAT_LENGTH
    assert not is_repeat(short, [short] * 10)


def test_a_limit_below_two_is_refused() -> None:
    with pytest.raises(ValueError):
        is_repeat(fingerprint("svara då"), [], limit=1)
