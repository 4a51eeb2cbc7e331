import re

from renderhub.api.correlation import extend_vector, new_vector

_SHAPE = re.compile(r"^[A-Za-z0-9+/]{22}\.0$")


def test_new_vector_has_a_22_character_base() -> None:
    assert _SHAPE.match(new_vector())


def test_extends_a_clients_vector() -> None:
    assert extend_vector("5EqPJ1VdTUakDJZc6/ZhTg.3") == "5EqPJ1VdTUakDJZc6/ZhTg.3.0"


def test_replaces_junk_with_a_new_vector() -> None:
    for junk in (None, "", "not a vector", "x" * 300 + ".1"):
        assert _SHAPE.match(extend_vector(junk))
