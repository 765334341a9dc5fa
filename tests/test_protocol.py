import json

import pytest

from app.chat.protocol import parse
from app.errors import Malformed, TooLong


def frame(**fields):
    return json.dumps(fields)


def test_a_message_is_trimmed_and_kept():
    parsed = parse(frame(type="msg", text="  hej\r\nhopp ", client_id="abc"), 100)
    assert (parsed.type, parsed.text, parsed.client_id) == ("msg", "hej\nhopp", "abc")


def test_the_limit_counts_characters_not_bytes():
    assert parse(frame(type="msg", text="å" * 10, client_id="a"), 10).text == "å" * 10
    with pytest.raises(TooLong):
        parse(frame(type="msg", text="å" * 11, client_id="a"), 10)


@pytest.mark.parametrize("raw", [
    "not json", "[]", "null", frame(type="nope"), frame(type="msg", text="", client_id="a"),
    frame(type="msg", text="hi"), frame(type="msg", text=5, client_id="a"),
    frame(type="msg", text="hi", client_id="bad id!"), frame(type="seen", id="12"),
    frame(type="take", conv="abc"),  # visitors cannot take
    frame(type="hello", token=["x"]), frame(type="hello", last_id="0-0; DROP"),
])
def test_malformed_frames_are_refused(raw):
    with pytest.raises(Malformed):
        parse(raw, 100)


def test_staff_frames_must_name_the_conversation():
    with pytest.raises(Malformed):
        parse(frame(type="msg", text="hi", client_id="a"), 100, staff=True)
    assert parse(frame(type="take", conv="c1"), 100, staff=True).conv == "c1"


def test_staff_hello_lists_known_chats():
    hello = parse(frame(type="hello", chats={"c1": "5-0"}), 100, staff=True)
    assert hello.chats == {"c1": "5-0"}
    with pytest.raises(Malformed):
        parse(frame(type="hello", chats={"c1": "five"}), 100, staff=True)


def test_hello_defaults_to_the_beginning():
    assert parse(frame(type="hello", token="t"), 100).last_id == "0-0"


def test_only_visitors_ask_for_codes_and_only_staff_open_letters():
    assert parse(frame(type="code"), 100).type == "code"
    assert parse(frame(type="open_letter", conv="c1"), 100, staff=True).conv == "c1"
    assert parse(frame(type="close_letter", conv="c1"), 100, staff=True).type == "close_letter"
    for raw, staff in ((frame(type="code"), True), (frame(type="open_letter", conv="c1"), False),
                       (frame(type="close_letter", conv="c1"), False), (frame(type="open_letter"), True)):
        with pytest.raises(Malformed):
            parse(raw, 100, staff=staff)
