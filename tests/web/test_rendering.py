"""Rendering: one environment per language, literal messages translated at compile time,
blocks shared between visitors rendered from their key alone."""

from __future__ import annotations

import pytest
from babel.support import NullTranslations
from jinja2 import ChoiceLoader, DictLoader, Environment, UndefinedError

from portal.web.rendering import Fixed, NotABlock, Templates


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


def with_templates(rendering: Templates, locale: str, **sources: str) -> Environment:
    """The language's environment, with these templates found before the portal's."""
    environment = rendering.environment(locale)
    environment.loader = ChoiceLoader([DictLoader(sources), environment.loader])  # type: ignore[list-item]
    return environment


def test_a_block_is_rendered_once_per_key_and_language() -> None:
    rendering, _ = templates(fi={}, sv={})
    rendered: list[int] = []

    def draw(n: int) -> int:
        rendered.append(n)
        return n

    block = {"blocks/part.html": "<b>{{ draw(n) }}</b>"}
    page = "{{ cached_block('blocks/part.html', n=n, draw=draw) }}"
    fi = with_templates(rendering, "fi", **block).from_string(page)
    assert [fi.render(n=n, draw=draw) for n in (1, 2, 1, 1)] == ["<b>1</b>", "<b>2</b>"] + [
        "<b>1</b>"
    ] * 2
    assert rendered == [1, 2]
    sv = with_templates(rendering, "sv", **block).from_string(page)
    assert sv.render(n=1, draw=draw) == "<b>1</b>"
    assert rendered == [1, 2, 1]  # another language, another block


def test_a_block_sees_its_key_and_its_language_and_nothing_else() -> None:
    """The threat: one person's page in a block shown to the next person. A block that
    names anything outside its key (the page's CSRF field, its account, a global) fails
    when it is first rendered, so it can never be kept with someone's data in it."""
    rendering, _ = templates(fi={"Place": "Paikka"})
    environment = with_templates(
        rendering,
        "fi",
        **{
            "blocks/fair.html": '{{ _("Place") }}: {{ place }}',
            "blocks/csrf.html": "{{ place }} {{ csrf_field }}",
            "blocks/account.html": "{% if account %}{{ account }}{% endif %}{{ place }}",
            "blocks/global.html": "{{ place }} {{ locale }}",
            "blocks/include.html": '{{ place }} {% include "partials/peek.html" %}',
            "partials/peek.html": "{{ csrf_field }}",
        },
    )
    page = {"csrf_field": "canary-csrf-1234", "account": "canary-account-5678", "place": "x"}
    for name in ("csrf", "account", "global", "include"):
        template = environment.from_string(
            f"{{{{ cached_block('blocks/{name}.html', place=place) }}}}"
        )
        with pytest.raises(UndefinedError):
            template.render(page)
    fair = environment.from_string("{{ cached_block('blocks/fair.html', place=place) }}")
    assert fair.render(page) == "Paikka: x"
    assert list(rendering.blocks("fi").kept.values()) == ["Paikka: x"]


def test_only_a_template_under_blocks_is_a_cached_block() -> None:
    rendering, _ = templates(fi={})
    environment = with_templates(rendering, "fi", **{"partials/part.html": "<b>x</b>"})
    with pytest.raises(NotABlock):
        environment.from_string("{{ cached_block('partials/part.html') }}").render()


def test_what_was_typed_cannot_be_a_key() -> None:
    """A form's typed values are a dict, and a dict is not hashable: it cannot key a block."""
    rendering, _ = templates(fi={})
    environment = with_templates(rendering, "fi", **{"blocks/part.html": "{{ values }}"})
    page = environment.from_string("{{ cached_block('blocks/part.html', values=values) }}")
    with pytest.raises(TypeError, match="unhashable"):
        page.render(values={"wishes": "canary-typed-9911"})
    assert rendering.blocks("fi").kept == {}


def test_a_fixed_constant_is_the_same_key_only_as_itself() -> None:
    rendering, _ = templates(fi={})
    environment = with_templates(rendering, "fi", **{"blocks/part.html": "{{ n.value }}"})
    page = environment.from_string("{{ cached_block('blocks/part.html', n=n) }}")
    one, same, other = Fixed((1,)), Fixed((1,)), Fixed((2,))
    assert [page.render(n=n) for n in (one, one, same, other)] == ["(1,)"] * 3 + ["(2,)"]
    assert len(rendering.blocks("fi").kept) == 3  # one and same are two constants


def test_a_cached_block_keeps_one_space_between_tags() -> None:
    rendering, _ = templates(fi={})
    environment = with_templates(
        rendering,
        "fi",
        **{
            "blocks/k.html": "<select>\n    <option>a</option>\n    <option>b</option>\n</select>"
            "<b>x</b>  text  <i>y</i>"
        },
    )
    assert environment.from_string("{{ cached_block('blocks/k.html') }}").render() == (
        "<select> <option>a</option> <option>b</option> </select><b>x</b>  text  <i>y</i>"
    )


def test_the_blocks_kept_are_bounded_in_size() -> None:
    rendering, _ = templates(fi={})
    environment = with_templates(rendering, "fi", **{"blocks/k.html": "{{ 'x' * 1000 }}{{ n }}"})
    page = environment.from_string("{{ cached_block('blocks/k.html', n=n) }}")
    blocks = rendering.blocks("fi")
    blocks.CHARACTERS = 10_000
    for n in range(25):
        assert page.render(n=n) == "x" * 1000 + str(n)
        assert blocks.characters <= 10_000
    assert 0 < len(blocks.kept) < 10


def test_calendar_columns_write_the_day_in_the_languages_own_order() -> None:
    """English tables show 12/7/26: the week's columns must not say 7.12. beside them."""
    from datetime import date

    rendering, _ = templates(en={}, fi={})
    monday = date(2026, 12, 7)
    assert rendering.environment("en").filters["weekday"](monday) == "Mon, 12/7"
    assert rendering.environment("fi").filters["weekday"](monday) == "ma 7.12."
