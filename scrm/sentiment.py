"""The one wrapper around vaderSentiment: normalisation, fast batch scoring, explanations.

``FastAnalyzer`` re-implements VADER 3.3.2's ``polarity_scores`` rule for rule (and gives
the same scores: the test suite compares them on every ground-truth text), but lower-cases
each word once instead of once per rule, looks lexicon membership up once per word, and
skips the emoji pass for ASCII text. ``BatchScorer`` spreads large batches over worker
processes. Text is normalised first so that @handles, URLs, HTML entities and ``#`` do not
distort scores: stock VADER reads "@united" as the positive word "united".
"""

from __future__ import annotations

import html
import math
import os
import re
import string
import sys
import threading
import types
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

from vaderSentiment import vaderSentiment as _vader

POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05
DOMAIN_LEXICON_PATH = Path(__file__).resolve().parent / "data" / "domain_lexicon.tsv"
IN_PROCESS_BELOW = 2000  # batches smaller than this are scored without the pool

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w+")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_SPACES = re.compile(r"\s+")

_B_INCR, _B_DECR, _C_INCR, _N_SCALAR = _vader.B_INCR, _vader.B_DECR, _vader.C_INCR, _vader.N_SCALAR
_BOOSTERS = _vader.BOOSTER_DICT
_NEGATE = frozenset(_vader.NEGATE)
_SPECIAL = _vader.SPECIAL_CASES
_PUNCT = string.punctuation


def normalise(text: str) -> str:
    """Text as scored: entities unescaped, URLs and @handles removed, ``#CamelTag`` → "Camel Tag"."""
    text = html.unescape(text)
    text = _URL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    text = _HASHTAG.sub(lambda m: _CAMEL.sub(" ", m.group(1)), text)
    return _SPACES.sub(" ", text).strip()


def label_for(compound: float) -> str:
    """positive (≥ 0.05), negative (≤ −0.05) or neutral."""
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


def load_domain_lexicon(path: Path = DOMAIN_LEXICON_PATH) -> dict[str, float]:
    """The customer-service lexicon: ``token<TAB>valence[<TAB>note]`` lines, ``#`` comments."""
    out: dict[str, float] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        token, value = line.split("\t")[:2]
        out[token.strip().lower()] = float(value)
    return out


@lru_cache(maxsize=1)
def _stock() -> _vader.SentimentIntensityAnalyzer:
    return _vader.SentimentIntensityAnalyzer()


class FastAnalyzer:
    """VADER's scoring, faithfully and faster; optionally with the domain lexicon added."""

    def __init__(self, *, domain_lexicon: bool = True) -> None:
        stock = _stock()
        self.lexicon: dict[str, float] = dict(stock.lexicon)
        if domain_lexicon:
            self.lexicon.update(load_domain_lexicon())
        self.emojis: dict[str, str] = stock.emojis

    # -- public ---------------------------------------------------------------------------
    def compound(self, text: str) -> float:
        """The compound score (−1…1) of ``text`` after :func:`normalise`."""
        return self.polarity_scores(normalise(text))["compound"]

    def polarity_scores(self, text: str) -> dict[str, float]:
        """Same as VADER's ``polarity_scores`` on ``text`` as given."""
        text, _, sentiments = self._valences(text)
        return _score_valence(sentiments, text)

    def word_valences(self, text: str) -> tuple[list[str], list[float]]:
        """The words of ``text`` as VADER splits them, and each one's final valence."""
        _, words, sentiments = self._valences(text)
        return words, sentiments

    # -- VADER's rules -------------------------------------------------------------------
    def _demojise(self, text: str) -> str:
        if text.isascii():
            return text.strip()
        emojis = self.emojis
        out: list[str] = []
        prev_space = True
        for ch in text:
            description = emojis.get(ch)
            if description is not None:
                if not prev_space:
                    out.append(" ")
                out.append(description)
                prev_space = False
            else:
                out.append(ch)
                prev_space = ch == " "
        return "".join(out).strip()

    def _valences(self, text: str) -> tuple[str, list[str], list[float]]:
        text = self._demojise(text)
        words = []
        for token in text.split():
            stripped = token.strip(_PUNCT)
            words.append(token if len(stripped) <= 2 else stripped)
        n = len(words)
        caps = sum(1 for w in words if w.isupper())
        is_cap_diff = 0 < n - caps < n
        lowers = [w.lower() for w in words]
        lexicon = self.lexicon
        in_lex = [w in lexicon for w in lowers]
        sentiments: list[float] = []
        for i in range(n):
            low = lowers[i]
            if low in _BOOSTERS or (low == "kind" and i < n - 1 and lowers[i + 1] == "of"):
                sentiments.append(0)
                continue
            if not in_lex[i]:
                sentiments.append(0)
                continue
            sentiments.append(self._valence(i, words, lowers, in_lex, is_cap_diff))
        if "but" in lowers:
            sentiments = _but_check(lowers, sentiments)
        return text, words, sentiments

    def _valence(
        self, i: int, words: list[str], lowers: list[str], in_lex: list[bool], is_cap_diff: bool
    ) -> float:
        lexicon = self.lexicon
        low = lowers[i]
        n = len(words)
        valence = lexicon[low]
        if low == "no" and i != n - 1 and in_lex[i + 1]:
            valence = 0.0
        if (
            (i > 0 and lowers[i - 1] == "no")
            or (i > 1 and lowers[i - 2] == "no")
            or (i > 2 and lowers[i - 3] == "no" and lowers[i - 1] in ("or", "nor"))
        ):
            valence = lexicon[low] * _N_SCALAR
        if is_cap_diff and words[i].isupper():
            valence = valence + _C_INCR if valence > 0 else valence - _C_INCR
        for start_i in range(3):
            j = i - (start_i + 1)
            if i > start_i and not in_lex[j]:
                s = _scalar_inc_dec(words[j], lowers[j], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = _negation_check(valence, lowers, start_i, i)
                if start_i == 2:
                    valence = _special_idioms_check(valence, lowers, i)
        if i > 1 and not in_lex[i - 1] and lowers[i - 1] == "least":
            if lowers[i - 2] != "at" and lowers[i - 2] != "very":
                valence = valence * _N_SCALAR
        elif i > 0 and not in_lex[i - 1] and lowers[i - 1] == "least":
            valence = valence * _N_SCALAR
        return valence


def _negated(word: str) -> bool:
    return word in _NEGATE or "n't" in word


def _scalar_inc_dec(word: str, low: str, valence: float, is_cap_diff: bool) -> float:
    scalar = 0.0
    if low in _BOOSTERS:
        scalar = _BOOSTERS[low]
        if valence < 0:
            scalar *= -1
        if word.isupper() and is_cap_diff:
            scalar = scalar + _C_INCR if valence > 0 else scalar - _C_INCR
    return scalar


def _negation_check(valence: float, w: list[str], start_i: int, i: int) -> float:
    if start_i == 0:
        if _negated(w[i - 1]):
            valence = valence * _N_SCALAR
    elif start_i == 1:
        if w[i - 2] == "never" and (w[i - 1] == "so" or w[i - 1] == "this"):
            valence = valence * 1.25
        elif w[i - 2] == "without" and w[i - 1] == "doubt":
            pass
        elif _negated(w[i - 2]):
            valence = valence * _N_SCALAR
    else:
        if (w[i - 3] == "never" and (w[i - 2] == "so" or w[i - 2] == "this")) or (
            w[i - 1] == "so" or w[i - 1] == "this"
        ):
            valence = valence * 1.25
        elif w[i - 3] == "without" and (w[i - 2] == "doubt" or w[i - 1] == "doubt"):
            pass
        elif _negated(w[i - 3]):
            valence = valence * _N_SCALAR
    return valence


def _special_idioms_check(valence: float, w: list[str], i: int) -> float:
    onezero = f"{w[i - 1]} {w[i]}"
    twoonezero = f"{w[i - 2]} {w[i - 1]} {w[i]}"
    twoone = f"{w[i - 2]} {w[i - 1]}"
    threetwoone = f"{w[i - 3]} {w[i - 2]} {w[i - 1]}"
    threetwo = f"{w[i - 3]} {w[i - 2]}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in _SPECIAL:
            valence = _SPECIAL[seq]
            break
    n = len(w)
    if n - 1 > i:
        zeroone = f"{w[i]} {w[i + 1]}"
        if zeroone in _SPECIAL:
            valence = _SPECIAL[zeroone]
    if n - 1 > i + 1:
        zeroonetwo = f"{w[i]} {w[i + 1]} {w[i + 2]}"
        if zeroonetwo in _SPECIAL:
            valence = _SPECIAL[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in _BOOSTERS:
            valence = valence + _BOOSTERS[n_gram]
    return valence


def _but_check(lowers: list[str], sentiments: list[float]) -> list[float]:
    # VADER's own loop, quirks included (list.index finds the first equal value).
    bi = lowers.index("but")
    for sentiment in sentiments:
        si = sentiments.index(sentiment)
        if si < bi:
            sentiments.pop(si)
            sentiments.insert(si, sentiment * 0.5)
        elif si > bi:
            sentiments.pop(si)
            sentiments.insert(si, sentiment * 1.5)
    return sentiments


def _score_valence(sentiments: list[float], text: str) -> dict[str, float]:
    if not sentiments:
        return {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}
    sum_s = float(sum(sentiments))
    ep = min(text.count("!"), 4) * 0.292
    qm_count = text.count("?")
    qm = 0 if qm_count <= 1 else (qm_count * 0.18 if qm_count <= 3 else 0.96)
    amplifier = ep + qm
    if sum_s > 0:
        sum_s += amplifier
    elif sum_s < 0:
        sum_s -= amplifier
    compound = _vader.normalize(sum_s)
    pos_sum = neg_sum = 0.0
    neu_count = 0
    for s in sentiments:
        if s > 0:
            pos_sum += float(s) + 1
        if s < 0:
            neg_sum += float(s) - 1
        if s == 0:
            neu_count += 1
    if pos_sum > math.fabs(neg_sum):
        pos_sum += amplifier
    elif pos_sum < math.fabs(neg_sum):
        neg_sum -= amplifier
    total = pos_sum + math.fabs(neg_sum) + neu_count
    return {
        "neg": round(math.fabs(neg_sum / total), 3),
        "neu": round(math.fabs(neu_count / total), 3),
        "pos": round(math.fabs(pos_sum / total), 3),
        "compound": round(compound, 4),
    }


_ANALYZERS: dict[bool, FastAnalyzer] = {}
_ANALYZERS_LOCK = threading.Lock()


def get_analyzer(*, domain_lexicon: bool = True) -> FastAnalyzer:
    """The process-wide analyzer (built once per lexicon choice)."""
    with _ANALYZERS_LOCK:
        if domain_lexicon not in _ANALYZERS:
            _ANALYZERS[domain_lexicon] = FastAnalyzer(domain_lexicon=domain_lexicon)
        return _ANALYZERS[domain_lexicon]


def score_texts(texts: Sequence[str], *, domain_lexicon: bool = True) -> list[float]:
    """Compound scores of ``texts`` (normalised first), in this process."""
    analyzer = get_analyzer(domain_lexicon=domain_lexicon)
    return [analyzer.compound(t) if t and not t.isspace() else 0.0 for t in texts]


def _worker_init(domain_lexicon: bool) -> None:
    get_analyzer(domain_lexicon=domain_lexicon)


@contextmanager
def _no_script_main() -> Iterator[None]:
    """Start workers without the caller's ``__main__`` script.

    Workers start lazily, on submit, and re-run ``__main__`` from its file. Under Streamlit
    (and its AppTest) ``__main__`` is app.py, which a worker must never run (it would load the
    demo again and start workers of its own): hide it while workers may start.
    """
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None or not getattr(main, "__file__", None):
        yield
        return
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class BatchScorer:
    """Scores batches across worker processes (``workers=1``: in this process)."""

    def __init__(self, *, workers: int = 0, domain_lexicon: bool = True) -> None:
        self.workers = workers if workers > 0 else (os.cpu_count() or 1)
        self.domain_lexicon = domain_lexicon
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = get_context("forkserver")
            context.set_forkserver_preload([__name__])
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_worker_init,
                initargs=(self.domain_lexicon,),
            )
        return self._pool

    def submit(self, texts: list[str]) -> Future[list[float]]:
        """Start scoring ``texts``; small batches are scored at once in this process."""
        if self.workers == 1 or len(texts) < IN_PROCESS_BELOW:
            done: Future[list[float]] = Future()
            done.set_result(score_texts(texts, domain_lexicon=self.domain_lexicon))
            return done
        size = -(-len(texts) // self.workers)
        with _no_script_main():
            parts = [
                self._executor().submit(score_texts, texts[i : i + size], domain_lexicon=self.domain_lexicon)
                for i in range(0, len(texts), size)
            ]
        return _gather(parts)

    def score(self, texts: Sequence[str]) -> list[float]:
        """Compound scores of ``texts``, in order."""
        return self.submit(list(texts)).result()

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> BatchScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _gather(parts: list[Future[list[float]]]) -> Future[list[float]]:
    out: Future[list[float]] = Future()
    remaining = [len(parts)]
    lock = threading.Lock()

    def finished(_f: Future[list[float]]) -> None:
        with lock:
            remaining[0] -= 1
            if remaining[0]:
                return
        failed = next((p.exception() for p in parts if p.exception() is not None), None)
        if failed is not None:
            out.set_exception(failed)
        else:
            out.set_result([score for p in parts for score in p.result()])

    for part in parts:
        part.add_done_callback(finished)
    return out


@dataclass(frozen=True)
class WordContribution:
    """A word and its valence after VADER's negation, booster, caps and "but" rules."""

    word: str
    valence: float


@dataclass(frozen=True)
class Explanation:
    """Why a text scored as it did."""

    text: str
    normalised: str
    compound: float
    label: str
    words: list[WordContribution]


def explain(text: str, *, domain_lexicon: bool = True) -> Explanation:
    """The compound score of ``text`` and the words (valence ≠ 0, in text order) that drove it."""
    analyzer = get_analyzer(domain_lexicon=domain_lexicon)
    clean = normalise(text)
    compound = analyzer.polarity_scores(clean)["compound"]
    words, valences = analyzer.word_valences(clean)
    contributions = [WordContribution(w, round(v, 4)) for w, v in zip(words, valences, strict=True) if v != 0]
    return Explanation(
        text=text, normalised=clean, compound=compound, label=label_for(compound), words=contributions
    )
