"""moderation.assess: risk labels per language, negation, past, third parties, idioms and context."""

from __future__ import annotations

import pytest

from moderation import LABELS, Assessment, Context, assess, assess_conversation
from moderation.assess import THRESHOLD
from tests.moderation_eval import load_messages

EVAL_TEXTS = {m.texts[0] for m in load_messages()}


def labels(text: str) -> set[str]:
    return set(assess(text).labels)


def check_not_in_eval_set(text: str) -> None:
    assert text not in EVAL_TEXTS, "unit tests use their own messages, not the evaluation's"


# --- imminent danger -----------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    # Swedish, also as young people write it
    "han sa precis att han ska döda mig när han kommer hem",
    "han kommer hem snart och har sagt att han ska slå ihjäl mig",
    "hjälp han slår mig",
    "han slår mig nu",
    "hjälp!! han står utanför min dörr och skriker",
    "han har en kniv och hotar mig nu",
    "mitt ex hotar att döda mig",
    "han e på väg och sa han ska döda mej",
    "han kmr döda mig ikväll",
    "han stryper mig",
    "han har låst in mig och jag kommer inte ut",
    "han försöker sparka in dörren",
    "min pojkvän hotade att döda mig igår",
    "Han Har Hotat Att Mörda Mig",
    "dööööda mig ska han göra sa han. han ska döda mig",
    # English
    "he says he's going to kill me when he gets back",
    "he is choking me",
    "he just threatened to kill me with a knife",
    "my ex is banging on my door right now",
    "my husband is hitting me right now",
    "he locked me in the bedroom and took my phone",
    "he's gonna kill me tonight",
    "hes outside with a gun",
    # Arabic, Persian, Somali in script and Latin letters
    "زوجي قال سيقتلني",
    "زوجي يضربني الان",
    "rah yi2tilni",
    "شوهرم گفت منو میکشه",
    "mano mikoshe",
    "ninkaygu wuu i dili doonaa",
])
def test_imminent_danger(text):
    check_not_in_eval_set(text)
    assert "imminent_danger" in labels(text)


# --- suicide risk --------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "jag vill inte leva längre",
    "jag vill dö",
    "ja vill bara dö",
    "vill dö asså",
    "orkar inte leva mer",
    "jag tänker ta livet av mig",
    "jag ska ta livet av mej ikväll",
    "jag har självmordstankar",
    "har sjävmordstankar",
    "vill int leva mer",
    "orkar ej mer nu",
    "ngl kms",
    "tänker på att unalive mig",
    "min kompis säger att hon ska ta livet av sig",
    "önskar att jag var död ibland",
    "i want to die",
    "honestly i want to kill myself",
    "there is no reason to live",
    "i'm thinking about suicide",
    "my sister wants to kill herself",
    "i don't want to live anymore",
    "أنا أريد أن أموت",
    "ana bidi mout",
    "wallah abi amut",
    "فقط می‌خواهم بمیرم",
    "فقط میخواهم بمیرم",
    "faghat mikham bemiram",
    "waan daalay, waxaan rabaa inaan dhinto",
    "caawa waan is dilayaa",
])
def test_suicide_risk(text):
    check_not_in_eval_set(text)
    assert "suicide_risk" in labels(text)


# --- child at risk -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "pappa slår min lillasyster",
    "min styvpappa slår min lillebror varje kväll",
    "mamma slår mig och jag är 11",
    "jag är 13 och min pappa slår mig",
    "ja e 12 och pappa sparkar mej",
    "min man slår barnen",
    "barnen såg när han misshandlade mig",
    "my dad beats my little brother",
    "i'm 13 and my stepdad hits me",
    "he hits the kids when he's drunk",
    "أبي يضرب أختي",
    "babam khaharam ro mizane",
    "aabbe wuu garaacayaa walaashay",
])
def test_child_at_risk(text):
    check_not_in_eval_set(text)
    assert "child_at_risk" in labels(text)


def test_several_labels_at_once():
    text = "jag är 14, pappa säger att han ska döda mig och jag vill inte leva längre"
    assert labels(text) == set(LABELS)


# --- negatives -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    # negation
    "jag vill inte dö, jag vill bara att det ska sluta",
    "han har aldrig hotat att döda mig",
    "jag skulle aldrig ta livet av mig, jag har mina barn",
    "i don't want to kill myself",
    "he has never hit the kids",
    "jag har inte självmordstankar",
    # the past
    "för sju år sen hotade han att döda mig",
    "när jag var liten slog min pappa mig",
    "he used to hit me years ago",
    "som barn blev jag slagen",
    # idioms, hyperbole, games
    "jag dör av skratt haha",
    "dödstrött efter jobbet",
    "mamma kommer döda mig om jag kommer hem sent igen",
    "jag skäms ihjäl när jag tänker på det",
    "döda batteriet innan du laddar",
    "min bror dödade mig i fortnite igen",
    "killing it at work lately",
    "this math homework is killing me",
    "my mom will kill me if i fail the test",
    # hypothetical and informational
    "vad händer om nån hotar att döda ens barn",
    "hur anmäler man olaga hot?",
    "is it illegal to threaten someone",
    # ordinary counselling talk
    "jag vet inte om det här räknas som psykiskt våld",
    "han kontrollerar min telefon och min bankapp",
    "han läser alla mina sms och bestämmer vad jag får ha på mig",
    "han skriker mycket men har aldrig slagit mig",
    "vi har tre barn och jag vill skiljas",
    "hej, jag vill bara prata lite",
    "he checks my location all the time",
    "i'm 15 and my parents are divorcing",
    "jag är 16 och vill veta mer om kontaktförbud",
    "مرحبا، هل يمكنني التحدث معكم؟",
    "سلام، من به کمک نیاز دارم",
    "haye, waxaan u baahanahay caawimaad",
])
def test_no_labels(text):
    check_not_in_eval_set(text)
    assert labels(text) == set(), assess(text)


def test_third_party_suicide_counts():
    assert "suicide_risk" in labels("min bästis vill ta livet av sig")
    assert "suicide_risk" in labels("my friend says he wants to die")


def test_threat_to_take_my_life_is_not_suicide():
    assert labels("min man sa att han ska ta livet av mig") == {"imminent_danger"}


def test_past_as_a_child_is_not_a_child_at_risk_now():
    assert "child_at_risk" not in labels("när jag var liten slog pappa mig ofta")
    assert "child_at_risk" in labels("pappa slår mig, jag är 12")


def test_the_past_does_not_cancel_what_is_said_now():
    text = "för fem år sen slog han mig. nu har han hittat mig och säger att han ska döda mig"
    assert "imminent_danger" in labels(text)


# --- context -------------------------------------------------------------------------------------

def test_a_later_message_raises_earlier_ones():
    first, later = "han är på väg hem", "han sa att han ska döda mig"
    assert labels(first) == set()
    result = assess_conversation([first, later])
    assert result.labels == ("imminent_danger",)
    assert any("på väg" in e for e in result.evidence["imminent_danger"])
    assert any("döda mig" in e for e in result.evidence["imminent_danger"])


def test_weak_signals_add_up_across_messages():
    assert labels("he's on his way") == set()
    assert labels("he has a knife") == set()
    assert "imminent_danger" in assess_conversation(["he's on his way", "he has a knife"]).labels


def test_an_age_given_earlier_makes_the_writer_a_child():
    assert "child_at_risk" not in labels("min pojkvän slår mig")
    assert "child_at_risk" in assess_conversation(["jag är 13", "min pojkvän slår mig"]).labels


def test_a_growing_context_assesses_like_the_conversation_of_its_last_messages():
    texts = ["jag är 13", "hej", "han är på väg hem", "ok", "han sa att han ska döda mig", "tack", "hm"]
    context = Context(3)
    for seen, text in enumerate(texts, start=1):
        context.add(text)
        assert context.assess() == assess_conversation(texts[max(0, seen - 3):seen])
    assert "child_at_risk" not in context.assess().labels  # "jag är 13" has left the window


@pytest.mark.parametrize("texts", [
    ["hej", "jag vill dö", "tack"],
    ["han sa att han ska döda mig", "ok"],
    ["vi har det bra", "pappa slår min lillebror"],
])
def test_a_conversation_is_never_weaker_than_a_message(texts):
    together = assess_conversation(texts)
    for text in texts:
        alone = assess(text)
        assert set(alone.labels) <= set(together.labels)
        for label in LABELS:
            assert together.scores[label] >= alone.scores[label]


# --- the result ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Han Säger Att Han SKA döda mej ikväll!!",
    "jag vill ta livet av mig",
    "زوجي سيقتلني الليلة",
    "می‌خواهم بمیرم",
    "pappa slår min lillebror och jag är 10",
])
def test_evidence_is_written_as_in_the_text(text):
    result = assess(text)
    assert result.labels
    for label in result.labels:
        assert result.evidence[label]
        for words in result.evidence[label]:
            assert words in text


def test_the_shape_of_an_assessment():
    result = assess("jag vill dö")
    assert isinstance(result, Assessment)
    assert set(result.scores) == set(LABELS) == set(result.evidence)
    assert all(0.0 <= score <= 1.0 for score in result.scores.values())
    assert result.labels == tuple(label for label in LABELS if result.scores[label] >= THRESHOLD)
    assert result.evidence["child_at_risk"] == ()


def test_lang_is_accepted():
    assert assess("i want to die", lang="en").labels == assess("i want to die").labels


@pytest.mark.parametrize("text", ["", " ", "\n\n", "?!.", "😀😀", "a" * 5000])
def test_empty_and_odd_input(text):
    result = assess(text)
    assert result.labels == ()
    assert all(score == 0.0 for score in result.scores.values())


def test_no_messages():
    assert assess_conversation([]).labels == ()


# Linear-time patterns: a pathological one would run into this bound, far above the real time.
@pytest.mark.timeout(60)
def test_very_long_input_is_handled():
    chunk = "jag vet inte vad jag ska göra, han kontrollerar allt och jag är trött. "
    text = chunk * (100_000 // len(chunk) + 1) + "han sa att han ska döda mig"
    assert len(text) > 100_000
    result = assess(text)
    assert result.labels == ("imminent_danger",)


# Linear-time patterns: a pathological one would run into this bound, far above the real time.
@pytest.mark.timeout(60)
def test_long_input_full_of_risk_words_is_handled():
    text = "han ska döda mig. jag vill dö. pappa slår min lillebror. " * 2000
    result = assess(text)
    assert result.labels == LABELS


# Linear-time patterns: a pathological one would run into this bound, far above the real time.
@pytest.mark.timeout(60)
def test_long_input_full_of_negated_risk_is_handled():
    text = "jag vill inte dö, jag vet inte. han har aldrig hotat att döda mig. " * 1500
    result = assess(text)
    assert result.labels == ()


# --- general phrasing (second held-out round) ---------------------------------------------------

@pytest.mark.parametrize("text", [
    "kan ni ringa polisen åt mig",
    "ja har låst in mej på toan han skriker utanför",
    "han har tagit sig in genom fönstret",
    "han viftar med en kniv",
    "han sa att jag ska få betala för det här ikväll",
    "he's drunk and smashing things, im scared",
])
def test_imminent_danger_general_phrasing(text):
    assert "imminent_danger" in labels(text)


@pytest.mark.parametrize("text", [
    "pillerburken är framme",
    "ingen skulle sakna mig",
    "i've been stockpiling my meds",
    "alla hade haft det bättre utan mig",
    "i wrote my goodbye letters",
])
def test_suicide_risk_general_phrasing(text):
    assert "suicide_risk" in labels(text)


@pytest.mark.parametrize("text", [
    "jag har bestämt mig för att lämna honom",
    "hon har tagit 2 alvedon för huvudvärken",
    "min psykolog frågade om jag tänkt på att ta livet av mig, det har jag inte",
    "we have been married 12 years and he hit me once",
])
def test_general_phrasing_negatives(text):
    assert labels(text) & {"suicide_risk", "child_at_risk"} == set()


def test_a_child_writer_in_danger_is_a_child_at_risk():
    assert "child_at_risk" in labels("jag är 14 och min pappa skriker att han ska slå ihjäl mamma")
