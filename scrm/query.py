"""Brand boolean queries: parse once into a matcher, match many posts.

Language (see docs/QUERIES.md): words, "exact phrases", ``AND``, ``OR``, ``NOT`` (upper
case; ``-word`` is NOT too), parentheses, ``#hashtag``, ``@handle``, ``author:name`` and a
trailing ``*`` for a prefix. Adjacent terms mean AND; NOT binds tighter than AND, AND
tighter than OR. Matching is case-insensitive on whole words: a post is split once into
words (runs of letters and digits), so ``ford`` does not match "affordable", and a term
with punctuation inside (``at&t``, ``h&m``) is the phrase of its words. A plain word also
matches the same word written as a hashtag or handle; ``#word`` matches only the hashtag
and ``@word`` only the handle. No regular expression is built from a query, so nothing can
backtrack catastrophically.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from scrm.exceptions import QuerySyntaxError

MAX_QUERY_CHARS = 4000
MAX_DEPTH = 50
_WORDS = re.compile(r"\w+")
_TAGS = re.compile(r"(?<!\w)#(\w+)")
_HANDLES = re.compile(r"(?<!\w)@(\w+)")
_FIELD = re.compile(r"([A-Za-z_]+):")
_SPECIAL = set('()"')


@dataclass(frozen=True)
class Document:
    """A post split into words once, shared by every brand's matcher."""

    words: frozenset[str]
    joined: str  # " w1 w2 ... " for phrase search
    hashtags: frozenset[str]
    handles: frozenset[str]
    author: str


def prepare(text: str, author: str = "") -> Document:
    """Split ``text`` into lower-case words, hashtags and handles."""
    lower = text.lower()
    words = _WORDS.findall(lower)
    return Document(
        words=frozenset(words),
        joined=" " + " ".join(words) + " ",
        hashtags=frozenset(_TAGS.findall(lower)),
        handles=frozenset(_HANDLES.findall(lower)),
        author=author.strip().lstrip("@").lower(),
    )


Matcher = Callable[[Document], bool]


@dataclass(frozen=True)
class _Token:
    kind: str  # WORD PHRASE TAG HANDLE AUTHOR AND OR NOT MINUS LPAREN RPAREN
    value: str
    pos: int


class Query:
    """A parsed query; ``matches`` evaluates it on a :class:`Document`."""

    def __init__(self, source: str, matcher: Matcher | None, terms: list[str]) -> None:
        self.source = source
        self._matcher = matcher
        self._terms = terms

    def matches(self, doc: Document) -> bool:
        """True when the post satisfies the query (an empty query matches nothing)."""
        return self._matcher is not None and self._matcher(doc)

    def terms(self) -> list[str]:
        """The positive words and phrases (not under NOT), for highlighting and prefilters."""
        return list(self._terms)

    def __repr__(self) -> str:
        return f"Query({self.source!r})"


def _tokenise(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(_Token("LPAREN" if ch == "(" else "RPAREN", ch, i))
            i += 1
        elif ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError('Unterminated quote: close the phrase with "', position=i, query=text)
            tokens.append(_Token("PHRASE", text[i + 1 : end], i))
            i = end + 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in _SPECIAL:
                i += 1
            word = text[start:i]
            if word in ("AND", "OR", "NOT"):
                tokens.append(_Token(word, word, start))
            elif word == "-" or (word.startswith("-") and len(word) > 1):
                tokens.append(_Token("MINUS", "-", start))
                if len(word) > 1:
                    i = start + 1
            else:
                tokens.append(_term_token(text, word, start, i))
                if tokens[-1].kind == "AUTHOR" and not tokens[-1].value and i < n and text[i] == '"':
                    end = text.find('"', i + 1)
                    if end < 0:
                        raise QuerySyntaxError("Unterminated quote after author:", position=i, query=text)
                    tokens[-1] = _Token("AUTHOR", text[i + 1 : end], start)
                    i = end + 1
    return tokens


def _term_token(text: str, word: str, start: int, end: int) -> _Token:
    field = _FIELD.match(word)
    if field:
        name = field.group(1).lower()
        if name != "author":
            raise QuerySyntaxError(
                f"Unknown field {field.group(1)!r}: only author: is supported "
                "(quote the text to search for it)",
                position=start,
                query=text,
            )
        value = word[field.end() :]
        if not value and (end >= len(text) or text[end] != '"'):
            raise QuerySyntaxError("author: needs a name", position=start, query=text)
        return _Token("AUTHOR", value, start)
    if word[0] in "#@":
        body = word[1:]
        if not _WORDS.fullmatch(body or "-"):
            sign = "hashtag" if word[0] == "#" else "handle"
            raise QuerySyntaxError(
                f"{word[0]} needs a {sign} made of letters or digits", position=start, query=text
            )
        return _Token("TAG" if word[0] == "#" else "HANDLE", body.lower(), start)
    if not _WORDS.search(word):
        raise QuerySyntaxError(f"{word!r} has no letters or digits to match", position=start, query=text)
    return _Token("WORD", word, start)


class _Parser:
    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        self.terms: list[str] = []
        self.negated = 0

    def error(self, message: str, pos: int | None = None) -> QuerySyntaxError:
        return QuerySyntaxError(message, position=len(self.text) if pos is None else pos, query=self.text)

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def parse(self) -> Matcher:
        matcher = self.or_expr()
        tok = self.peek()
        if tok is not None:
            raise self.error(
                "Unexpected ')': no parenthesis is open"
                if tok.kind == "RPAREN"
                else f"Unexpected {tok.value!r}",
                tok.pos,
            )
        return matcher

    def or_expr(self) -> Matcher:
        parts = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.i += 1
            if self.peek() is None or self.peek().kind in ("OR", "AND", "RPAREN"):
                raise self.error("OR needs a term after it", self._next_pos())
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else _any(parts)

    def and_expr(self) -> Matcher:
        parts = [self.unary()]
        while (tok := self.peek()) is not None and tok.kind not in ("OR", "RPAREN"):
            if tok.kind == "AND":
                self.i += 1
                if self.peek() is None or self.peek().kind in ("OR", "AND", "RPAREN"):
                    raise self.error("AND needs a term after it", self._next_pos())
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else _all(parts)

    def unary(self) -> Matcher:
        tok = self.peek()
        if tok is None:
            raise self.error("A term is missing at the end")
        if tok.kind in ("NOT", "MINUS"):
            self.i += 1
            if self.peek() is None or self.peek().kind in ("OR", "AND", "RPAREN"):
                raise self.error(f"{tok.value} needs a term after it", self._next_pos())
            self._enter(tok.pos)
            self.negated += 1
            inner = self.unary()
            self.negated -= 1
            self.depth -= 1
            return lambda d: not inner(d)
        return self.primary()

    def primary(self) -> Matcher:
        tok = self.peek()
        assert tok is not None
        self.i += 1
        if tok.kind == "LPAREN":
            self._enter(tok.pos)
            if self.peek() is not None and self.peek().kind == "RPAREN":
                raise self.error("Empty parentheses: put a term inside", self.peek().pos)
            if self.peek() is None:
                raise self.error("Unclosed parenthesis", tok.pos)
            inner = self.or_expr()
            close = self.peek()
            if close is None or close.kind != "RPAREN":
                raise self.error("Unclosed parenthesis", tok.pos)
            self.i += 1
            self.depth -= 1
            return inner
        if tok.kind in ("AND", "OR"):
            raise self.error(f"{tok.value} needs a term before it", tok.pos)
        if tok.kind == "RPAREN":
            raise self.error("Unexpected ')'", tok.pos)
        return self.term(tok)

    def term(self, tok: _Token) -> Matcher:
        if tok.kind == "TAG":
            tag = tok.value
            return lambda d: tag in d.hashtags
        if tok.kind == "HANDLE":
            handle = tok.value
            return lambda d: handle in d.handles
        if tok.kind == "AUTHOR":
            name = tok.value.strip().lstrip("@").lower()
            if not name:
                raise self.error("author: needs a name", tok.pos)
            return lambda d: d.author == name
        value = tok.value.lower()
        if tok.kind == "WORD" and value.endswith("*") and _WORDS.fullmatch(value[:-1] or "-"):
            prefix = value[:-1]
            self._term(prefix + "*")
            return lambda d: any(w.startswith(prefix) for w in d.words)
        words = _WORDS.findall(value)
        if not words:
            raise self.error(
                "Empty phrase: put words between the quotes"
                if tok.kind == "PHRASE"
                else f"{tok.value!r} has no letters or digits",
                tok.pos,
            )
        self._term(" ".join(words))
        if len(words) == 1:
            word = words[0]
            return lambda d: word in d.words
        needle = " " + " ".join(words) + " "
        return lambda d: needle in d.joined

    def _term(self, value: str) -> None:
        if not self.negated and value not in self.terms:
            self.terms.append(value)

    def _enter(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"Nested deeper than {MAX_DEPTH} levels", pos)

    def _next_pos(self) -> int:
        tok = self.peek()
        return tok.pos if tok is not None else len(self.text)


def _all(parts: list[Matcher]) -> Matcher:
    return lambda d: all(p(d) for p in parts)


def _any(parts: list[Matcher]) -> Matcher:
    return lambda d: any(p(d) for p in parts)


def parse_query(text: str) -> Query:
    """Parse a query, raising :class:`QuerySyntaxError` that says where it is wrong."""
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(
            f"Query longer than {MAX_QUERY_CHARS} characters", position=MAX_QUERY_CHARS, query=text[:100]
        )
    tokens = _tokenise(text)
    if not tokens:
        return Query(text, None, [])
    parser = _Parser(text, tokens)
    matcher = parser.parse()
    return Query(text, matcher, parser.terms)


def validate_query(text: str) -> str | None:
    """None when ``text`` is a valid query, else the error message (for live editing)."""
    try:
        parse_query(text)
    except QuerySyntaxError as exc:
        return str(exc)
    return None


class BrandMatcher:
    """Every brand's query, parsed once; a post is tokenised once for all of them."""

    def __init__(self, queries: Mapping[str, str]) -> None:
        self._queries: list[tuple[str, Query]] = []
        for name, text in queries.items():
            try:
                self._queries.append((name, parse_query(text)))
            except QuerySyntaxError as exc:
                raise QuerySyntaxError(
                    f"Query of brand {name!r}: {exc.args[0].rsplit(' at position', 1)[0]}",
                    position=exc.position,
                    query=text,
                ) from None

    def __len__(self) -> int:
        return len(self._queries)

    def match(self, text: str, author: str = "") -> list[str]:
        """Names of the brands whose query matches the post, in the order given."""
        doc = prepare(text, author)
        return [name for name, query in self._queries if query.matches(doc)]

    def match_many(self, texts: Sequence[str], authors: Sequence[str]) -> list[list[str]]:
        """:meth:`match` for many posts."""
        return [self.match(t, a) for t, a in zip(texts, authors, strict=True)]
