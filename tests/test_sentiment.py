"""The VADER wrapper: normalisation, equality with stock VADER, labels, explanations, batches."""

from __future__ import annotations

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from scrm.config import get_settings
from scrm.evaluation import GROUND_TRUTH_FILES, load_ground_truth
from scrm.sentiment import (
    BatchScorer,
    FastAnalyzer,
    explain,
    get_analyzer,
    label_for,
    load_domain_lexicon,
    normalise,
    score_texts,
)

GT = get_settings().ground_truth_dir
TRICKY = [
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "Not bad at all",
    "Today only kinda sux! But I'll get by, lol",
    "The plot was good, but the characters are uncompelling and the dialog is not great.",
    "kind of good",
    "sort of great",
    "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "Without a doubt, excellent idea.",
    "never so good",
    "no or nor good",
    "Roger Dodger is one of the least compelling variations on this theme.",
    "at least good",
    "very least good",
    "the shit",
    "bus stop",
    "yeah right great",
    "I am NOT happy at ALL",
    "no good no bad but but good good",
    "?",
    "",
    "???? ok !!!! great",
    "GREAT",
    "isn't it lovely",
    "without doubt good",
    "this is kind of bad ass",
    ":) :( :D",
]


def _ground_truth_texts() -> list[str]:
    if not GT.is_dir():
        pytest.skip(f"VADER ground truth not found at {GT} (set SCRM_GROUND_TRUTH_DIR)")
    texts: list[str] = []
    for name in GROUND_TRUTH_FILES.values():
        texts += load_ground_truth(GT / name)[0]
    return texts


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("@united thanks!", "thanks!"),
        ("Great &amp; fast https://t.co/abc www.x.com/y", "Great & fast"),
        ("#fail again #NeverAgain", "fail again Never Again"),
        ("mail me at bob@example.com", "mail me at bob@example.com"),
        ("  lots   of\nspace ", "lots of space"),
    ],
)
def test_normalise(raw: str, clean: str) -> None:
    assert normalise(raw) == clean


def test_handles_do_not_count_as_words() -> None:
    stock = SentimentIntensityAnalyzer()
    assert stock.polarity_scores("@united")["compound"] > 0.3  # the problem normalisation solves
    assert score_texts(["@united"], domain_lexicon=False) == [0.0]


def test_same_scores_as_stock_vader_on_every_ground_truth_text() -> None:
    stock = SentimentIntensityAnalyzer()
    fast = FastAnalyzer(domain_lexicon=False)
    texts = _ground_truth_texts() + TRICKY
    mismatches = [
        t for t in texts for x in (t, normalise(t)) if stock.polarity_scores(x) != fast.polarity_scores(x)
    ]
    assert mismatches == []


def test_domain_lexicon_equals_stock_with_the_entries_added() -> None:
    stock = SentimentIntensityAnalyzer()
    stock.lexicon.update(load_domain_lexicon())
    fast = FastAnalyzer(domain_lexicon=True)
    texts = [
        *TRICKY,
        "flight delayed 3 hours and no refund",
        "please help, my card is blocked",
        "smooth and quick",
    ]
    assert [fast.polarity_scores(t) for t in texts] == [stock.polarity_scores(t) for t in texts]
    assert fast.compound("please help") == 0.0 and stock.lexicon["please"] == 0.0


@pytest.mark.parametrize(
    ("compound", "label"),
    [
        (0.05, "positive"),
        (0.0499, "neutral"),
        (-0.05, "negative"),
        (-0.0499, "neutral"),
        (1.0, "positive"),
        (-1.0, "negative"),
    ],
)
def test_label_thresholds(compound: float, label: str) -> None:
    assert label_for(compound) == label


def test_explanation_names_the_words_after_rules() -> None:
    e = explain("@united the food was not good")
    assert e.label == "negative" and e.normalised == "the food was not good"
    assert [w.word for w in e.words] == ["good"] and e.words[0].valence < 0
    thanks = explain("@united thanks")
    assert [w.word for w in thanks.words] == ["thanks"]
    assert explain("   ").compound == 0.0 and explain("   ").words == []


def test_batch_scorer_in_processes_equals_in_process() -> None:
    texts = [
        f"{word} service number {i}" for i, word in enumerate(["great", "awful", "ok", "terrible"] * 700)
    ]
    with BatchScorer(workers=2) as scorer:
        assert scorer.score(texts) == score_texts(texts)
        assert scorer.submit(texts[:10]).result() == score_texts(texts[:10])
    assert BatchScorer(workers=1).score(["", " ", "good"]) == [0.0, 0.0, get_analyzer().compound("good")]
