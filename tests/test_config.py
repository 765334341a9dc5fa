import pytest
from cryptography.fernet import Fernet

from app.config import ConfigError, Settings, declared, load_settings

SECRET = "s" * 16 + "0123456789abcdefXYZ"


def test_defaults_need_nothing_in_development():
    settings = load_settings({})
    assert settings == Settings()
    assert not settings.production
    assert settings.conversation_retention_seconds == 1800


def test_values_are_parsed_by_type():
    settings = load_settings({
        "MESSAGE_MAX_CHARS": "500", "COOKIE_SECURE": "yes",
        "ALLOWED_ORIGINS": "https://a.example, https://b.example", "REDIS_URL": "redis://h:1/0",
    })
    assert settings.message_max_chars == 500
    assert settings.cookie_secure is True
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.durable_url == "redis://h:1/0"  # defaults to the ephemeral server


def test_a_malformed_number_names_the_setting():
    with pytest.raises(ConfigError, match="MESSAGE_MAX_CHARS"):
        load_settings({"MESSAGE_MAX_CHARS": "lots"})


def test_a_malformed_boolean_names_the_setting():
    with pytest.raises(ConfigError, match="COOKIE_SECURE"):
        load_settings({"COOKIE_SECURE": "maybe"})


def test_limits_must_be_positive():
    with pytest.raises(ConfigError, match="QUEUE_MAX"):
        load_settings({"QUEUE_MAX": "0"})


def test_production_refuses_to_start_without_its_secrets():
    with pytest.raises(ConfigError, match="SECRET_KEY") as error:
        load_settings({"APP_ENV": "production"})
    assert all(name in str(error.value) for name in ("OPENING_HOURS", "INTAKE_KEYS", "CALLBACK_KEYS"))


def test_production_refuses_a_short_or_placeholder_secret():
    with pytest.raises(ConfigError, match="32"):
        load_settings({"APP_ENV": "production", "SECRET_KEY": "short",
                       "OPENING_HOURS": "mon-fri 08:00-16:00"})
    with pytest.raises(ConfigError, match="placeholder"):
        load_settings({"APP_ENV": "production", "SECRET_KEY": "change-me" + "x" * 40,
                       "OPENING_HOURS": "mon-fri 08:00-16:00"})


def test_production_starts_with_its_secrets_and_forces_secure_cookies():
    settings = load_settings({"APP_ENV": "production", "SECRET_KEY": SECRET,
                              "OPENING_HOURS": "mon-fri 08:00-16:00",
                              "INTAKE_KEYS": Fernet.generate_key().decode(),
                              "CALLBACK_KEYS": Fernet.generate_key().decode()})
    assert settings.production and settings.secure_cookies


@pytest.mark.parametrize("env", ["INTAKE_KEYS", "CALLBACK_KEYS"])
def test_sealing_keys_must_be_fernet_keys(env):
    with pytest.raises(ConfigError, match=env):
        load_settings({env: "not-a-key"})
    two = f"{Fernet.generate_key().decode()}, {Fernet.generate_key().decode()}"
    assert getattr(load_settings({env: two}), env.lower()) == two


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="APP_ENV"):
        load_settings({"APP_ENV": "staging"})


def test_every_setting_has_an_environment_name_and_help():
    names = [f.metadata["env"] for f in declared()]
    assert len(names) == len(set(names))
    assert all(f.metadata["help"] for f in declared())


def test_malformed_opening_hours_are_refused_at_start():
    with pytest.raises(ConfigError, match="OPENING_HOURS"):
        load_settings({"OPENING_HOURS": "weekdays 9 to 5"})


def test_a_return_code_never_shortens_how_long_a_conversation_is_kept():
    assert load_settings({}).return_code_retention_seconds == 7 * 24 * 3600
    with pytest.raises(ConfigError, match="RETURN_CODE_RETENTION_SECONDS"):
        load_settings({"RETURN_CODE_RETENTION_SECONDS": "600"})  # shorter than the idle time
    with pytest.raises(ConfigError, match="LETTERS_MAX"):
        load_settings({"LETTERS_MAX": "0"})
