"""Rendering: one environment per language, literal messages translated at compile time."""

from __future__ import annotations

from babel.support import NullTranslations

from portal.web.rendering import Templates


class Catalogue(NullTranslations):
    """A language whose every translation is known, counting the look-ups."""

    def __init__(self, messages: dict[str, str]) -> None:
        super().__init__()
        self.messages = messages
        self.lookups = 0

    def gettext(self, message: str) -> str:
        self.lookups += 1
        return self.messages.get(message, message)


class Catalogues:
    def __init__(self, **languages: dict[str, str]) -> None:
        self.languages = {code: Catalogue(messages) for code, messages in languages.items()}

    def get(self, locale: str) -> NullTranslations:
        return self.languages[locale]


def templates(**languages: dict[str, str]) -> tuple[Templates, Catalogues]:
    catalogues = Catalogues(**languages)
    return Templates(catalogues), catalogues  # type: ignore[arg-type]


def test_a_literal_message_is_looked_up_once_not_on_every_render() -> None:
    rendering, catalogues = templates(fi={"Log out": "Kirjaudu ulos"})
    page = rendering.environment("fi").from_string('<button>{{ _("Log out") }}</button>')
    assert catalogues.languages["fi"].lookups == 1  # when compiled
    for _ in range(3):
        assert page.render() == "<button>Kirjaudu ulos</button>"
    assert catalogues.languages["fi"].lookups == 1


def test_each_language_renders_its_own_words_from_the_same_template() -> None:
    rendering, _ = templates(fi={"Place": "Paikka"}, sv={"Place": "Plats"})
    source = '{{ _("Place") }} {{ _(label) }}'
    fi = rendering.environment("fi").from_string(source)
    sv = rendering.environment("sv").from_string(source)
    assert fi.render(label="Place") == "Paikka Paikka"
    assert sv.render(label="Place") == "Plats Plats"
    assert fi.render(label="Place") == "Paikka Paikka"


def test_compiled_and_runtime_translations_give_the_same_markup() -> None:
    """A translation is trusted markup (our catalogue) either way; variables are escaped."""
    rendering, _ = templates(
        fi={"Terms &amp; rules": "Ehdot &amp; säännöt", "Hi %(name)s": "Hei %(name)s"}
    )
    env = rendering.environment("fi")
    literal = env.from_string('{{ _("Terms &amp; rules") }}').render()
    computed = env.from_string("{{ _(message) }}").render(message="Terms &amp; rules")
    assert literal == computed == "Ehdot &amp; säännöt"
    page = env.from_string('{{ _("Hi %(name)s", name=who) }}').render(who="<script>x</script>")
    assert page == "Hei &lt;script&gt;x&lt;/script&gt;"


def test_a_literal_message_inside_an_expression_is_still_translated() -> None:
    rendering, _ = templates(fi={"Yes": "Kyllä"})
    env = rendering.environment("fi")
    assert env.from_string('{{ _("Yes") | upper }}').render() == "KYLLÄ"
    assert env.from_string('<b title="{{ _(\'Yes\') }}">{{ _("Yes") }}</b>').render() == (
        '<b title="Kyllä">Kyllä</b>'
    )


def test_a_fragment_is_rendered_once_per_key_and_language() -> None:
    rendering, _ = templates(fi={}, sv={})
    rendered: list[int] = []

    def draw(n: int) -> int:
        rendered.append(n)
        return n

    source = "{% cache 'part', n %}<b>{{ draw(n) }}</b>{% endcache %}"
    fi = rendering.environment("fi").from_string(source)
    assert [fi.render(n=n, draw=draw) for n in (1, 2, 1, 1)] == ["<b>1</b>", "<b>2</b>"] + [
        "<b>1</b>"
    ] * 2
    assert rendered == [1, 2]
    assert rendering.environment("sv").from_string(source).render(n=1, draw=draw) == "<b>1</b>"
    assert rendered == [1, 2, 1]  # another language, another fragment


def test_a_cached_fragment_keeps_one_space_between_tags() -> None:
    rendering, _ = templates(fi={})
    page = rendering.environment("fi").from_string(
        "{% cache 'k' %}<select>\n    <option>a</option>\n    <option>b</option>\n</select>"
        "<b>x</b>  text  <i>y</i>{% endcache %}"
    )
    assert page.render() == (
        "<select> <option>a</option> <option>b</option> </select><b>x</b>  text  <i>y</i>"
    )


def test_the_fragments_kept_are_bounded_in_size() -> None:
    rendering, _ = templates(fi={})
    environment = rendering.environment("fi")
    page = environment.from_string("{% cache 'k', n %}{{ 'x' * 1000 }}{{ n }}{% endcache %}")
    cache = environment.extensions["portal.web.rendering.FragmentCache"]
    cache.CHARACTERS = 10_000  # type: ignore[attr-defined]
    for n in range(25):
        assert page.render(n=n) == "x" * 1000 + str(n)
        assert cache.characters <= 10_000  # type: ignore[attr-defined]
    assert 0 < len(cache.fragments) < 10  # type: ignore[attr-defined]
