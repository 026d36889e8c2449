"""Error texts are translatable: every raise site hands its error a `_()` text, and every `_()` msgid of
nexa/ has a translation in each locale's errors catalog (so a new error cannot ship in English only).
Errors are NexaError's subclasses, and ExtractionError, whose reason becomes an upload's 422."""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import nexa
from nexa.kit.errors import NotFound, TooManyRequests, ValidationFailed
from nexa.kit.lazy_text import LazyText, _, verbatim
from nexa.web.app import i18n

SOURCE = Path(nexa.__file__).parent
CATALOGS = i18n.TRANSLATIONS_DIR
# What an error's message argument may be: a msgid, words from elsewhere, or a choice between those.
TEXT_MAKERS = {"_", "verbatim"}
ERRORS = {
    "NexaError": SOURCE / "kit" / "errors.py",
    "ExtractionError": SOURCE / "knowledge" / "extraction.py",
}
TEXT_PARAMETERS = ("message", "reason")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sr]")


@functools.cache
def _python_files() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in sorted(SOURCE.rglob("*.py"))]


def _name(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


def _error_classes(files: list[tuple[Path, ast.Module]]) -> dict[str, type]:
    """Every error class defined in nexa/ (ERRORS and their subclasses), by name, found in the source and
    then imported."""
    defined: dict[str, Path] = dict(ERRORS)
    grew = True
    while grew:
        grew = False
        for path, tree in files:
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.ClassDef)
                    and node.name not in defined
                    and any(_name(base) in defined for base in node.bases)
                ):
                    defined[node.name] = path
                    grew = True
    classes = {}
    for name, path in defined.items():
        module = ".".join(path.relative_to(SOURCE.parent).with_suffix("").parts)
        classes[name] = getattr(importlib.import_module(module), name)
    return classes


def _is_text(node: ast.expr) -> bool:
    if isinstance(node, ast.IfExp):
        return _is_text(node.body) and _is_text(node.orelse)
    if isinstance(node, ast.Attribute):
        return node.attr == "text"  # another error's text passed on (`UnprocessableEntity(exc.text)`)
    return isinstance(node, ast.Call) and _name(node.func) in TEXT_MAKERS


def test_every_error_gets_a_translatable_text() -> None:
    files = _python_files()
    classes = _error_classes(files)
    assert {"NotFound", "WebhookRejected", "DatabaseUnavailable", "ExtractionError"} <= classes.keys()
    untranslatable = []
    for path, tree in files:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in classes:
                parameters = list(inspect.signature(classes[_name(node.func)].__init__).parameters)[1:]
                name = next(p for p in parameters if p in TEXT_PARAMETERS)
                position = parameters.index(name)
                message = next((k.value for k in node.keywords if k.arg == name), None)
                if message is None and len(node.args) > position:
                    message = node.args[position]
                if message is not None and not _is_text(message):
                    untranslatable.append(f"{path.relative_to(SOURCE.parent)}:{node.lineno}")
            defaults = isinstance(node, ast.Assign) and any(
                _name(t) == "default_message" for t in node.targets
            )
            if defaults and not _is_text(node.value):
                untranslatable.append(f"{path.relative_to(SOURCE.parent)}:{node.lineno} (default_message)")
    assert untranslatable == [], "wrap these messages in _() from nexa.kit.lazy_text"


def _own_scope(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.AST]:
    """The function's nodes, without those of the scopes nested in it (comprehensions, functions, lambdas)."""
    pending: list[ast.AST] = list(function.body)
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, _NESTED_SCOPES):
            pending.extend(ast.iter_child_nodes(node))


_NESTED_SCOPES = (
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.Lambda,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
)


def test_no_function_hides_the_text_marker() -> None:
    # `_, x = pair` in a function makes `_` local there: a `_("...")` in the same function would then fail.
    hidden = []
    for path, tree in _python_files():
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            nodes = list(_own_scope(function))
            binds = any(
                isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Store) for n in nodes
            )
            calls = any(isinstance(n, ast.Call) and _name(n.func) == "_" for n in nodes)
            if binds and calls:
                hidden.append(f"{path.relative_to(SOURCE.parent)}:{function.lineno}")
    assert hidden == []


@functools.cache
def _msgids() -> frozenset[str]:
    extracted = extract_from_dir(str(SOURCE), keywords={"_": None}, comment_tags=(), strip_comment_tags=True)
    return frozenset(message for _file, _line, message, _comments, _context in extracted)


def _errors_catalog(locale: str) -> dict[str, tuple[str, bool]]:
    with (CATALOGS / locale / "LC_MESSAGES" / "errors.po").open("rb") as po_file:
        return {m.id: (m.string, m.fuzzy) for m in read_po(po_file) if m.id}


@pytest.mark.parametrize("locale", ["pt_BR", "es", "en"])
def test_every_msgid_is_in_each_errors_catalog(locale: str) -> None:
    msgids = _msgids()
    assert "Resource could not be found" in msgids and "Invalid data type for %(key)s" in msgids
    catalog = _errors_catalog(locale)
    assert sorted(msgids - catalog.keys()) == [], "run `make errors-catalog` and translate the new entries"
    if locale == "en":
        return  # the msgids are English
    untranslated = [m for m in msgids if not catalog[m][0] or catalog[m][1]]
    assert untranslated == [], f"translate these in {locale}/LC_MESSAGES/errors.po"
    # A translation that names other placeholders would raise KeyError (or drop a value) when rendered.
    mismatched = [
        m for m in msgids if sorted(PLACEHOLDER.findall(m)) != sorted(PLACEHOLDER.findall(catalog[m][0]))
    ]
    assert mismatched == []


def test_texts_render_in_the_gettexts_language() -> None:
    portuguese = i18n.server_gettext("pt-BR")
    limit = _("Invalid data type for %(key)s", key="labels")
    assert str(limit) == "Invalid data type for labels"
    assert limit.render(portuguese) == "Tipo de dado inválido para labels"
    assert i18n.server_gettext("en") is not portuguese and limit.render(i18n.server_gettext("en")) == str(
        limit
    )
    # A parameter that is itself a text speaks the same language; a text without parameters keeps a lone %.
    nested = _("Email is invalid: %(reason)s", reason=_("Name can't be blank"))
    assert nested.render(portuguese) == "E-mail inválido: O nome não pode ficar em branco"
    assert _("100% sure").render(portuguese) == "100% sure"
    assert verbatim("50% off: %(x)s").render(portuguese) == "50% off: %(x)s"


def test_errors_keep_english_for_logs_and_translate_their_body() -> None:
    spanish = i18n.server_gettext("es")
    missing = NotFound()
    assert missing.message == str(missing) == "Resource could not be found"
    assert missing.body() == {"error": "Resource could not be found"}
    assert missing.body(spanish) == {"error": "No se encontró el recurso"}
    invalid = ValidationFailed(_("Name can't be blank"), ["name"])
    assert invalid.body(spanish) == {"message": "El nombre no puede estar vacío", "attributes": ["name"]}
    waiting = TooManyRequests(
        _("Too many login attempts. Try again in %(wait)s seconds.", wait=30), retry_after=30
    )
    assert waiting.message == "Too many login attempts. Try again in 30 seconds."
    assert isinstance(waiting.text, LazyText) and waiting.retry_after == 30


def test_page_catalogs_leave_the_server_texts_out() -> None:
    # The browser gets every page text in its config JSON; error texts arrive rendered, in the API's answers.
    assert "Resource could not be found" not in i18n.catalog("pt-BR").messages
    assert i18n.catalog("pt-BR").translations.gettext("Log out") == "Sair"
