"""Leads: posts that show purchase intent or a wish to leave a competitor, and their funnel.

**The detector** (:func:`detect`) is a small set of transparent rules, each a compiled
regular expression with a name, a lead kind and a weight (see docs/LEADS.md):

* ``purchase_intent``: the author wants to get a product or service: "looking for a new
  bank", "any recommendations for a savings account", "which card should I get",
  "best bank for freelancers", "thinking of opening a joint account"...
* ``switching``: the author means to leave their provider: "thinking of switching",
  "moving my account", "leaving X for Y", "done with X", "closing my account"...
* ``competitor_complaint``: a complaint that expresses churn without a plan yet: "fed up
  with X", "the last straw", "never banking with them again", "I regret opening"...

Most rules need a product or service noun next to the cue ("looking for *a bank*", not
"looking for my card"); a negation just before a cue ("not thinking of switching"), a
third-person subject ("Summit Mutual is switching to a new app") or a sarcasm marker
("said no one", "/s") cancels it. When several kinds match, switching wins over a
complaint, and a complaint over purchase intent. The score is the weight of the best
rule of that kind plus 0.05 for every other rule that fired (at most 1.0).

Every quantifier is bounded and no two adjacent parts can match the same text, so a rule
runs in time linear in the post (at most :data:`MAX_TEXT` characters are read).

**Leads** (:func:`find_leads`) are stored for brand mentions the detector flags, once per
mention. Purchase intent counts whatever the brand; switching and complaints count only
when the post is about a competitor (``Brand.is_own`` false) the author is leaving: the
same words about our own brand are churn, which the inbox handles, not a lead. When a post
names both, our brand must be where the author is going ("leaving Harbor *for Northwind*",
"switching *to* Northwind"); see :func:`lead_brand`. A lead is linked to the customer
behind the author when a :class:`~scrm.models.SocialIdentity` links them.

**The funnel**: ``new → qualified → contacted → won`` and ``lost`` from any open stage
(:data:`TRANSITIONS`); every move is audited in :class:`~scrm.models.AuditLog`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pandas as pd
import plotly.graph_objects as go
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from scrm.exceptions import NotFoundError, ScrmError
from scrm.export import neutralise
from scrm.filters import Filters
from scrm.ingest.batches import dialect_insert
from scrm.models import AuditLog, Author, Brand, Customer, Lead, Mention, MentionBrand, SocialIdentity
from scrm.timeutil import utcnow

KINDS = ("purchase_intent", "switching", "competitor_complaint")
STAGES = ("new", "qualified", "contacted", "won", "lost")
OPEN_STAGES = ("new", "qualified", "contacted")
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"qualified", "lost"}),
    "qualified": frozenset({"contacted", "lost"}),
    "contacted": frozenset({"won", "lost"}),
    "won": frozenset(),
    "lost": frozenset(),
}
PRIORITY = {"switching": 0, "competitor_complaint": 1, "purchase_intent": 2}
MAX_TEXT = 2000
BATCH = 2000
MAX_SCAN = 500_000
CONVERSION_BY = {"brand", "source", "kind"}

_M = Mention.__table__
_MB = MentionBrand.__table__
_A = Author.__table__
_B = Brand.__table__
_C = Customer.__table__
_SI = SocialIdentity.__table__
_L = Lead.__table__
_AUDIT = AuditLog.__table__


# -- the detector ---------------------------------------------------------------------

# Products and services a post may want: banking first, then everyday purchases.
_PRODUCT = (
    r"(?:banks?|bank accounts?|(?:current|savings?|joint|student|business|kids?|children's|junior|"
    r"easy access|basic|packaged|premium) accounts?|accounts?|savings|isas?|mortgages?|"
    r"(?:re)?mortgage deals?|loans?|lenders?|(?:mortgage )?brokers?|(?:credit|debit|travel|"
    r"prepaid|cashback) cards?|cards?|overdrafts?|pensions?|investment platforms?|banking apps?|"
    r"credit unions?|building societ(?:y|ies)|insurance|insurers?|broadband|(?:broadband|energy|mobile|"
    r"internet|phone|network) (?:providers?|suppliers?|deals?|contracts?|plans?)|providers?|suppliers?|"
    r"networks?|(?:phone|mobile|sim) (?:contracts?|deals?|plans?)|contracts?|tariffs?|phones?|"
    r"laptops?|tablets?|cars?|e-?bikes?|bikes?|gyms?|mattress(?:es)?|washing machines?|"
    r"coffee machines?|machines?|shoes|tvs?|televisions?|fridges?|boilers?|vacuums?|"
    r"headphones|cameras?|accountants?|(?:financial |mortgage )?advis[eo]rs?|solicitors?|"
    r"plumbers?|electricians?|builders?|recommendations?|suggestions)"
)
_GAP = r"(?:[\w'&.-]+[ /]+){0,%d}?"  # up to N words (each ends at a space: one way to split)
_SUBJECT = (
    r"(?:i'?m|i am|we'?re|we are|i'?ll|we'?ll|i will|we will|i|we|gonna|going to|about to|"
    r"time to|want to|wanna|need to|needed to|decided to|planning to|plan to|ready to|looking to|"
    r"have to|got to|gotta|i'?d like to)"
)
_ASK = (
    r"(?:any (?:ideas|recommendations?|recs|suggestions|advice|tips|thoughts)|what would you (?:suggest|recommend)|"
    r"who(?:'s| is) (?:good|best|cheapest|quickest)|where(?:'s| is) (?:best|cheapest|good)|recommendations\?|"
    r"suggestions\?|help me (?:choose|pick|decide))"
)


@dataclass(frozen=True)
class Rule:
    """One named cue: its kind, its weight (0–1), its compiled pattern and its anchors.

    ``anchors``: strings of which one is in every text the pattern matches (the pattern
    requires it), so a rule whose anchors are all absent is skipped without running it.
    """

    name: str
    kind: str
    weight: float
    pattern: re.Pattern[str]
    anchors: tuple[str, ...]


def _rule(name: str, kind: str, weight: float, pattern: str) -> Rule:
    return Rule(name, kind, weight, re.compile(pattern), _ANCHORS[name])


_ANCHORS: dict[str, tuple[str, ...]] = {
    "in the market for": ("in the market for",),
    "looking for a product": ("looking for", "searching for", "hunting for", "shopping"),
    "looking to open/get/buy": ("looking to",),
    "recommendations for a product": ("recommendation", "recs", "suggestions", "ideas", "tips"),
    "can anyone recommend": ("recommend", "suggest", "point me"),
    "which … should I get/buy/open": ("should i", "should we", "shall i", "shall we"),
    "should I go with … product": ("should i", "should we"),
    "which provider do you use": ("which", "what", "who do"),
    "which product is best": ("which",),
    "best … for": ("best",),
    "thinking of opening/getting": ("thinking", "thought about", "looking at", "considering"),
    "want/plan to open": ("to open", "to get", "to buy", "to take out", "to apply", "to find", "want "),
    "about to apply": ("about to",),
    "need a product": ("need",),
    "I'm after a product": ("after ",),
    "anyone know a product": ("know",),
    "a product + asking for advice": (
        "any ",
        "what would you",
        "who's",
        "who is",
        "where's",
        "where is",
        "recommendations?",
        "suggestions?",
        "help me",
    ),
    "is there a product that": ("is there",),
    "advice please: product": ("advice", "recommendation", "recs", "suggestions", "help"),
    "where's the best place to get": ("the best", "the cheapest"),
    "can I open a product": ("can i", "can we"),
    "choose between": ("between",),
    "comparing … for a product": ("comparing",),
    "thinking of switching": ("thinking", "thought", "considering", "debating"),
    "moving my account": ("mov",),
    "taking my money out": ("transfer", "tak", "pull"),
    "going elsewhere": ("elsewhere",),
    "moving to a bank": ("mov",),
    "the switch to": ("the switch",),
    "moved accounts away from": ("away from", "out of"),
    "looking at other banks": ("looking", "searching", "look elsewhere"),
    "had my last penny": ("last ",),
    "leaving X for": ("leaving",),
    "to leave X": ("leav", "ditch", "quit", "dump"),
    "done with X": ("done with",),
    "I'm switching": ("switch",),
    "switching to/from": ("switch",),
    "switch banks": ("switch ",),
    "closing my account": ("clos", "cancel"),
    "porting my number": ("port",),
    "lost a customer (you've)": ("lost",),
    "fed up with": ("fed up", "sick", "tired"),
    "fed up (at the end)": ("fed up",),
    "the last straw": ("last straw",),
    "never again": ("never ",),
    "had enough": ("enough",),
    "regret opening": ("regret",),
    "wish I'd never": ("wish",),
    "lost my trust": ("lost", "losing"),
    "why do I still": ("still", "stayed with"),
    "how are they still in business": ("still",),
    "I'm out": ("out", "gone", "off", "over"),
    "not staying": ("staying", "renewing", "reconsider"),
    "so hard to close": ("so hard to",),
    "can't wait to get out": ("wait",),
    "nothing more to do with them": ("nothing", "patience"),
    "I'm done": ("done",),
    "one more and I'm leaving": ("one more",),
    "losing patience": ("patience", "worth the", "time to", "avoid"),
}


RULES: tuple[Rule, ...] = (
    # purchase intent
    _rule("in the market for", "purchase_intent", 0.9, r"\bin the market for\b"),
    _rule(
        "looking for a product",
        "purchase_intent",
        0.85,
        r"\b(?:looking|searching|hunting|shopping(?: around)?) for "
        r"(?!(?:my|our|his|her|their|your|this|that|its|an? answer|answers)\b|the (?!best|cheapest))"
        r"(?:a |an |some |another )?(?:new |better |cheaper |good |decent |reliable |proper |the best |"
        r"the cheapest |any |recommendations for (?:a |an )?)?" + (_GAP % 4) + _PRODUCT + r"\b",
    ),
    _rule(
        "looking to open/get/buy",
        "purchase_intent",
        0.8,
        r"\blooking to (?:open|get|buy|take out|apply for|find|choose)\b ?" + (_GAP % 4) + _PRODUCT + r"\b",
    ),
    _rule(
        "recommendations for a product",
        "purchase_intent",
        0.8,
        r"\b(?:any )?(?:recommendations?|recs|suggestions|ideas|tips) (?:for|on) (?!how\b)"
        + (_GAP % 5)
        + _PRODUCT
        + r"\b",
    ),
    _rule(
        "can anyone recommend",
        "purchase_intent",
        0.8,
        r"\b(?:(?:can|could|would) )?(?:any ?one|any ?body|someone|somebody|you) (?:recommend|suggest|"
        r"point me (?:to|towards|at))\b ?" + (_GAP % 4) + _PRODUCT + r"\b",
    ),
    _rule(
        "which … should I get/buy/open",
        "purchase_intent",
        0.85,
        r"\b(?:which|who) (?!(?:branch|form|way|queue|button|number|app)\b)"
        + (_GAP % 4)
        + r"(?:should|shall) "
        r"(?:i|we) (?:get|buy|open|choose|pick|go (?:with|for)|apply (?:for|to|with)|sign up (?:for|with)|"
        r"join|take out|bank with)\b",
    ),
    _rule(
        "should I go with … product",
        "purchase_intent",
        0.75,
        r"\bshould (?:i|we) (?:get|buy|open|choose|pick|go (?:with|for)|apply (?:for|with)|sign up (?:for|with)|"
        r"bank with) " + (_GAP % 5) + _PRODUCT + r"\b",
    ),
    _rule(
        "which provider do you use",
        "purchase_intent",
        0.7,
        r"\b(?:what|which) (?:bank|banks|provider|network|supplier|broadband|insurer|credit card|card|"
        r"energy supplier|mortgage lender|lender)s? (?:do|would|did) (?:\w+ ){1,2}?(?:use|recommend|"
        r"bank with|go with|have)\b|\bwho do (?:\w+ ){1,2}?(?:use|bank with|go with|recommend)\b",
    ),
    _rule(
        "which product is best",
        "purchase_intent",
        0.7,
        r"\bwhich (?:is|one is|would be|are) (?:better|best|cheaper|cheapest) (?:for )?"
        + (_GAP % 4)
        + _PRODUCT
        + r"\b|\bwhich "
        + _PRODUCT
        + r" (?:gives|has|offers|pays|is) (?:the )?(?:best|cheapest|highest|lowest)\b",
    ),
    _rule(
        "best … for",
        "purchase_intent",
        0.75,
        r"(?<!is the )(?<!are the )\bbest (?!way\b)"
        + (_GAP % 3)
        + _PRODUCT
        + r"(?: for\b| (?:in|near|around) [^.!?]{0,40}\?)",
    ),
    _rule(
        "thinking of opening/getting",
        "purchase_intent",
        0.8,
        r"\b(?:thinking (?:of|about)|thought about|looking at|considering) (?:opening|getting|buying|taking out|"
        r"applying for|signing up (?:for|with)|joining|upgrading|replacing) (?:(?:one|it)\b|"
        + (_GAP % 4)
        + _PRODUCT
        + r"\b)",
    ),
    _rule(
        "want/plan to open",
        "purchase_intent",
        0.75,
        r"\b(?:want|would like|'d like|wanna|plan|planning|hoping|intend|need) to (?:open|get|buy|"
        r"take out|apply for|find) "
        + (_GAP % 4)
        + _PRODUCT
        + r"\b|\bwant (?:my own|a new|a different|a better) "
        + (_GAP % 1)
        + r"(?:one\b|"
        + _PRODUCT
        + r"\b)",
    ),
    _rule("about to apply", "purchase_intent", 0.7, r"\babout to (?:apply|open one|sign up|buy one)\b"),
    _rule(
        "need a product",
        "purchase_intent",
        0.6,
        r"(?<!do i )(?<!do we )(?<!will i )(?<!would i )\bneeds? (?:a|an|a new|some|another|a better|a cheaper|a good|(?:my|his|her|their|our) first|"
        r"a first) " + (_GAP % 2) + _PRODUCT + r"\b",
    ),
    _rule(
        "I'm after a product",
        "purchase_intent",
        0.75,
        r"\b(?:i'?m|we'?re|i am|we are) after (?:a|an|some|a new|a good|a decent) "
        + (_GAP % 3)
        + _PRODUCT
        + r"\b",
    ),
    _rule(
        "anyone know a product",
        "purchase_intent",
        0.7,
        r"\b(?:any ?one|any ?body|does any ?one|do you|do any of you) know (?:of )?(?:a|an|any) "
        r"(?:good |decent |cheap |reliable )?" + _PRODUCT + r"\b",
    ),
    _rule(
        "a product + asking for advice",
        "purchase_intent",
        0.65,
        r"\b(?:a|an|some|new|first) (?:good |decent |cheap |new |reliable |first )?"
        + _PRODUCT
        + r"\b[^.!?]{0,80}?[.,!?]? ?"
        + _ASK,
    ),
    _rule(
        "is there a product that",
        "purchase_intent",
        0.7,
        r"\bis there (?:a|an|any) (?:good |decent |cheap )?"
        + _PRODUCT
        + r" (?:that|which|with|without|for)\b",
    ),
    _rule(
        "advice please: product",
        "purchase_intent",
        0.7,
        r"\b(?:advice|recommendations?|recs|suggestions|help)(?: please| needed| wanted)?[:,-] ?"
        r"(?:a |an |my |our |first |new )?" + (_GAP % 2) + _PRODUCT + r"\b",
    ),
    _rule(
        "where's the best place to get",
        "purchase_intent",
        0.75,
        r"\bwhere(?:'s| is| are) the (?:best|cheapest) (?:place|places|way) to (?:get|buy|open|find|take out)\b",
    ),
    _rule(
        "can I open a product",
        "purchase_intent",
        0.7,
        r"\bcan (?:i|we) (?:open|get|apply for|sign up for) (?:a|an) " + (_GAP % 2) + _PRODUCT + r"\b",
    ),
    _rule(
        "choose between",
        "purchase_intent",
        0.8,
        r"\b(?:trying to (?:choose|decide|pick)|can'?t decide|deciding) between\b",
    ),
    _rule(
        "comparing … for a product",
        "purchase_intent",
        0.6,
        r"\bcomparing "
        + (_GAP % 5)
        + r"for (?:a|an|my first|my|our|a first) "
        + (_GAP % 2)
        + _PRODUCT
        + r"\b",
    ),
    # switching
    _rule(
        "thinking of switching",
        "switching",
        0.9,
        r"\b(?:thinking|thought|considering|debating) (?:of |about )?(?:switching|moving|leaving|changing)\b",
    ),
    _rule(
        "moving my account",
        "switching",
        0.9,
        r"\bmov(?:e|ing) (?:my|our|all my|all our|all of my|the family's) "
        + (_GAP % 2)
        + r"(?:accounts?|money|"
        r"savings|mortgage|isa|pension|business|banking|current account|insurance|salary|direct debits?)\b",
    ),
    _rule(
        "taking my money out",
        "switching",
        0.85,
        r"\b(?:transfer(?:ring)?|tak(?:e|ing)|pull(?:ing)?) (?:my|our|all my|all our) "
        + (_GAP % 1)
        + r"(?:accounts?|money|savings|mortgage|isa|pension|business|banking|salary|custom) "
        r"(?:out|away|elsewhere)\b",
    ),
    _rule(
        "going elsewhere",
        "switching",
        0.8,
        r"\b(?:take|taking|move|moving|go|going|went) (?:my (?:business|money|custom|accounts?) )?elsewhere\b",
    ),
    _rule(
        "moving to a bank",
        "switching",
        0.75,
        r"\bmov(?:e|ing) (?:over )?to " + (_GAP % 2) + r"(?:bank|banks|building society)\b",
    ),
    _rule(
        "leaving X for",
        "switching",
        0.95,
        r"\bleaving (?!work\b|home\b|the house\b)(?:[\w'&.-]+[ /]+){1,3}?for\b",
    ),
    _rule(
        "to leave X",
        "switching",
        0.8,
        r"\b(?:" + _SUBJECT + r"|finally) (?:leave|leaving|ditch|ditching|quit|quitting|dump|dumping)\b"
        r"(?! (?:work|home|the house|early|now|a review|a comment|feedback|it)\b)",
    ),
    _rule(
        "the switch to",
        "switching",
        0.85,
        r"\b(?:start(?:ed|ing)?|begun|began|doing) the switch\b|\bthe switch (?:to|from|over to)\b",
    ),
    _rule(
        "moved accounts away from",
        "switching",
        0.8,
        r"\bmov(?:e|ed|ing) " + (_GAP % 4) + r"(?:accounts?|money|savings|mortgage|isa|pension|salary) "
        r"(?:away from|out of)\b",
    ),
    _rule(
        "looking at other banks",
        "switching",
        0.8,
        r"\b(?:looking|searching) (?:at|for|around for) (?:other|another|a different|alternative|different) "
        + _PRODUCT
        + r"\b|\blook(?:ing)? elsewhere\b",
    ),
    _rule(
        "had my last penny",
        "switching",
        0.8,
        r"\b(?:had|seen|getting) (?:my|the) last (?:penny|pound|cent|dollar)\b",
    ),
    _rule(
        "done with X",
        "switching",
        0.8,
        r"(?:^|[.!?;] ?|\b(?:i'?m|i am|we'?re|we are|so|totally|completely|officially|absolutely|"
        r"finally) )done with (?!(?:my|the|this|these|it|that|work|exams?|school|uni)\b)",
    ),
    _rule(
        "I'm switching",
        "switching",
        0.9,
        r"\b" + _SUBJECT + r" (?:definitely |seriously |finally |probably |just |really )?switch(?:ing)?\b"
        r"(?! off\b| on\b)",
    ),
    _rule(
        "switching to/from",
        "switching",
        0.85,
        r"\bswitch (?:over |back )?from\b|\bswitching (?:over |back )?(?:to|from|banks?|providers?|suppliers?|networks?|broadband|energy|"
        r"mobile|my|our|everything)\b",
    ),
    _rule(
        "switch banks",
        "switching",
        0.85,
        r"\bswitch (?:banks|providers|suppliers|networks|energy suppliers?|broadband|mobile providers?)\b",
    ),
    _rule(
        "closing my account",
        "switching",
        0.85,
        r"\b(?:closing|close|cancelling|canceling|cancel) (?:my|our|all my|all our) "
        + (_GAP % 2)
        + r"(?:accounts?|"
        r"cards?|contracts?|membership|policy|subscription|mortgage|isa|direct debits?)\b",
    ),
    _rule("porting my number", "switching", 0.85, r"\bport(?:ing)? (?:my|our) numbers?\b"),
    _rule("lost a customer (you've)", "switching", 0.7, r"\byou'?ve (?:just )?lost (?:a|another) customer\b"),
    # complaints that express churn
    _rule(
        "fed up with",
        "competitor_complaint",
        0.75,
        r"\b(?:fed up|sick(?: to death)?|tired|sick and tired) (?:with|of) (?:(?:[@#]?\w+[ ']+){0,2}?"
        r"(?:[@#]\w+|\x00\w+)|(?:the |their |this |your |my )?(?:bank|app|service|fees|charges|support|"
        r"customer service|provider|network|broadband|insurer|airline|gym|supplier|company|outages?|"
        r"excuses|call cent(?:re|er))s?\b(?! \w))",
    ),
    _rule("fed up (at the end)", "competitor_complaint", 0.65, r"\bfed up[.! ]*$"),
    _rule("the last straw", "competitor_complaint", 0.8, r"\b(?:is|was|'s|be) the last straw\b(?! in\b)"),
    _rule(
        "never again",
        "competitor_complaint",
        0.8,
        r"\bnever (?:again\b(?! (?:am|will|do|shall|did|have|had|is|was)\b)|(?:banking|using|flying|trusting|"
        r"buying|going back|recommending|dealing|shopping) )",
    ),
    _rule(
        "had enough",
        "competitor_complaint",
        0.75,
        r"\b(?:i'?ve|i have|we'?ve|we have|i'?d|i had) (?:had )?(?:just )?enough(?:[.!,]|$| of\b| with\b| now\b)"
        r"|\benough is enough\b",
    ),
    _rule(
        "regret opening",
        "competitor_complaint",
        0.75,
        r"\bregret (?:ever )?(?:opening|joining|signing|moving|switching|choosing|banking|taking)\b",
    ),
    _rule("wish I'd never", "competitor_complaint", 0.75, r"\bwish (?:i|we)'?d never\b|\bwish i had never\b"),
    _rule(
        "lost my trust",
        "competitor_complaint",
        0.75,
        r"\b(?:lost|losing) (?:my|our) (?:trust|custom|business|loyalty)\b|\blost (?:a|another) (?:\w+ ){0,2}customer\b",
    ),
    _rule(
        "why do I still",
        "competitor_complaint",
        0.75,
        r"\bwhy (?:do|am|are) (?:i|we) still (?:bank|with|stay|use|using|pay|paying|banking)|"
        r"(?:i'?ve|i have) stayed with " + (_GAP % 3) + r"this long\b",
    ),
    _rule(
        "how are they still in business",
        "competitor_complaint",
        0.65,
        r"\bhow (?:do|does|are|is) (?:you|they|it|\w+(?: \w+)?) still (?:have (?:any )?customers|in business|"
        r"operating|allowed|trading)",
    ),
    _rule(
        "I'm out",
        "competitor_complaint",
        0.7,
        r"\b(?:i'?m|i am|we'?re) (?:so )?(?:out|gone|off)(?: of here)?(?:[.!]|$)|\b(?:i'?m|i am) (?:so )?over "
        r"(?:this|it|them|you)\b",
    ),
    _rule(
        "not staying",
        "competitor_complaint",
        0.7,
        r"\bnot (?:staying|renewing) with\b|\b(?:will not|won'?t) be (?:renewing|staying)\b|"
        r"\breconsider(?:ing)? (?:staying|my (?:account|membership|loyalty))\b",
    ),
    _rule("so hard to close", "competitor_complaint", 0.7, r"\bso hard to (?:close|leave|cancel)\b"),
    _rule(
        "can't wait to get out",
        "competitor_complaint",
        0.7,
        r"\bcan'?t wait (?:for|until|till) (?:my|our|the) contract\b|\bcan'?t wait to (?:get out|be rid|get away)\b",
    ),
    _rule(
        "nothing more to do with them",
        "competitor_complaint",
        0.75,
        r"\bnothing (?:more |else )?to do with (?:them|you|this bank|\x00\w+)|\bpatience (?:with "
        + (_GAP % 2)
        + r")?(?:has |is )?(?:run out|running out|wearing thin|gone)\b",
    ),
    _rule(
        "I'm done",
        "competitor_complaint",
        0.7,
        r"\b(?:i'?m|i am) so done\b|\bdone putting up with\b|\b(?:i'?m|i am|we'?re) (?:just |officially )?done"
        r"(?:[.!]|$)",
    ),
    _rule(
        "one more and I'm leaving",
        "competitor_complaint",
        0.75,
        r"\bone more (?:[\w']+ ){0,3}?(?:away from (?:leaving|closing|switching)|and (?:i'?m|we'?re|i will|i'll) "
        r"(?:leaving|gone|out|off|done|switching|closing))\b",
    ),
    _rule(
        "losing patience",
        "competitor_complaint",
        0.7,
        r"\b(?:losing|lost|running out of) (?:my |all )?patience\b|\b(?:isn'?t|not|no longer) worth the "
        r"(?:hassle|stress|money|fees|grief)\b|\btime to (?:go|move on)\b(?! to\b)|\bavoid(?: them| at all costs)?[.!]*$",
    ),
)
# A cue right after one of these is negated ("not thinking of switching", "if I was thinking of switching").
_NEGATED = re.compile(
    r"\b(?:not|never|no longer|no way i'?d|nobody|no one|whether|if (?:i|we) (?:was|were|am|are|'m|'re)|"
    r"(?:do|does|did|wo|would|is|are|was|were|have|has|ca)n'?t(?<!can't)(?<!cant))(?: [\w']+)? ?$"
)
_THIRD_PERSON = re.compile(
    r"\b(?:is|are|was|were|it'?s|they'?re|he'?s|she'?s|friends?|any ?one|any ?body|some ?one|people|those|"
    r"you'?re|you are|who'?s|who is) $"
)
# Rules whose words may describe a company or someone else ("Summit Mutual is switching to a new app").
_ABOUT_ANYONE = frozenset(
    {
        "thinking of switching",
        "moving to a bank",
        "leaving X for",
        "switching to/from",
        "looking for a product",
    }
)
_SARCASM = re.compile(r"\bsaid no ?one\b|(?:^|\s)/s\b|\blol jk\b|\byeah right\b")
_CONDITIONAL = re.compile(r"\bif\b[^.!?]*$|\b(?:close to|might|may|considering|tempted to) $")
_URL = re.compile(r"https?://\S+|www\.\S+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class LeadSignal:
    """What the detector found: the lead ``kind``, a ``score`` 0–1 and the matched ``cue``.

    ``rules`` names every rule that fired (the score's explanation).
    """

    kind: str
    score: float
    cue: str
    rules: tuple[str, ...] = ()


def normalise(text: str) -> str:
    """Lower case, straight apostrophes, URLs dropped, single spaces (what the rules read).

    Capitalised words after the first word of a sentence become ``\\x00word``, which the
    complaint rules read as a name (a brand), as they do ``@handles`` and ``#tags``.
    """
    text = _URL.sub(" ", str(text)[:MAX_TEXT]).replace("’", "'").replace("‘", "'")
    marked = re.sub(r"(?<=[a-z,;:] )([A-Z][a-z]+)", "\x00\\1", text)
    return _SPACE.sub(" ", marked).strip().lower()


def _accepted(text: str, match: re.Match[str], rule: Rule) -> bool:
    before = text[max(0, match.start() - 40) : match.start()]
    if _NEGATED.search(before):
        return False
    return not (rule.name in _ABOUT_ANYONE and _THIRD_PERSON.search(before))


def detect(text: str, *, prefilter: bool = True) -> LeadSignal | None:
    """The lead signal in a post, or None (``prefilter``: skip the rules whose anchors are absent).

    >>> detect("Done with Harbor Bank, thinking of switching to Summit").kind
    'switching'
    """
    if not text:
        return None
    norm = normalise(text)
    if _SARCASM.search(norm):
        return None
    plain = norm.replace("\x00", "")
    hits: list[tuple[str, str, float, str]] = []  # rule name, kind, weight, cue
    for rule in RULES:
        if prefilter and not any(a in plain for a in rule.anchors):
            continue
        subject = norm if rule.name == "fed up with" else plain
        for match in rule.pattern.finditer(subject):
            if _accepted(subject, match, rule):
                kind = rule.kind
                if kind == "switching" and _CONDITIONAL.search(subject[: match.start()]):
                    kind = "competitor_complaint"  # a threat ("if it goes down again I'm closing my account")
                hits.append((rule.name, kind, rule.weight, match.group(0).replace("\x00", "")))
                break
    if not hits:
        return None
    kind = min((h[1] for h in hits), key=PRIORITY.__getitem__)
    _, _, weight, cue = max((h for h in hits if h[1] == kind), key=lambda h: h[2])
    score = min(1.0, weight + 0.05 * (len(hits) - 1))
    return LeadSignal(
        kind=kind, score=round(score, 2), cue=cue.strip(" .,!?;"), rules=tuple(h[0] for h in hits)
    )


# -- finding leads --------------------------------------------------------------------


@dataclass(frozen=True)
class _BrandRef:
    id: int
    is_own: bool
    word: re.Pattern[str]  # the brand's first word, as a word (@handle and #tag forms too)


def _brand_refs(conn: Connection) -> dict[int, _BrandRef]:
    refs = {}
    for bid, name, is_own in conn.execute(sa.select(_B.c.id, _B.c.name, _B.c.is_own)):
        first = (name.split() or [""])[0].lower()
        refs[bid] = _BrandRef(
            bid, bool(is_own), re.compile(r"(?<![\w@#])[@#]?" + re.escape(first) + r"(?!\w)")
        )
    return refs


def _is_destination(text: str, ref: _BrandRef) -> bool:
    """True when the post names the brand as where the author is going ("switching to X", "leaving Y for X")."""
    return any(
        re.search(
            r"\b(?:to|for|with|joining|join|over to)\s+(?:[\w'&.-]+\s+){0,2}?$",
            text[max(0, m.start() - 40) : m.start()],
        )
        for m in ref.word.finditer(text)
    )


def lead_brand(kind: str, text: str, brands: Sequence[_BrandRef]) -> tuple[bool, int | None]:
    """Whether a post with this signal and these linked brands is a lead, and the lead's brand.

    Purchase intent: always (the own brand first, else the first competitor). Switching and
    complaints: only about a competitor the author is leaving (the first competitor
    linked); when an own brand is linked too it must be where they are going ("leaving
    Harbor for Northwind"), otherwise the post is about leaving us: churn, not a lead.
    """
    own = [b for b in brands if b.is_own]
    other = [b for b in brands if not b.is_own]
    if kind == "purchase_intent":
        first = (own or other or [None])[0]
        return True, first.id if first else None
    if not other:
        return False, None
    lowered = text.lower()
    if own and not any(_is_destination(lowered, b) for b in own):
        return False, None
    leaving = [b for b in other if not _is_destination(lowered, b)] or other
    return True, leaving[0].id


def find_leads(
    *,
    engine: Engine,
    filters: Filters,
    progress: Callable[[int, int], None] | None = None,
    limit: int = MAX_SCAN,
    batch: int = BATCH,
) -> int:
    """Scan the brand mentions in ``filters`` that have no lead yet and store the leads found.

    The candidates' ids come from one query on ``mention_brand`` (newest first, at most
    ``limit``); their texts are then read ``batch`` at a time by primary key and each
    batch's leads stored in a short transaction of its own. Idempotent: a mention has at
    most one lead (unique ``mention_id``; inserts skip conflicts), so a second run stores
    nothing new. Posts without a signal are read again by the next run (there is no
    watermark: the detector is cheap, about 30 µs a post). ``progress(done, total)`` gets
    the mentions read so far. Returns how many leads were stored.
    """
    candidates = (
        sa.select(_MB.c.mention_id)
        .where(*filters.link_conditions())
        .where(~sa.exists().where(_L.c.mention_id == _MB.c.mention_id))
        .group_by(_MB.c.mention_id)
        .order_by(_MB.c.mention_id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        ids = list(conn.execute(candidates).scalars())
        refs = _brand_refs(conn)
    stored = 0
    for start in range(0, len(ids), batch):
        part = ids[start : start + batch]
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(_M.c.id, _M.c.text, _SI.c.customer_id)
                .select_from(
                    _M.outerjoin(_A, _A.c.id == _M.c.author_id).outerjoin(
                        _SI, sa.and_(_SI.c.platform == _A.c.platform, _SI.c.handle == _A.c.handle)
                    )
                )
                .where(_M.c.id.in_(part))
            ).all()
        found = {}
        for r in rows:
            signal = detect(r.text)
            if signal is not None:
                found[r.id] = (signal, r.customer_id, r.text)
        if found:
            stored += _store(engine, found, refs)
        if progress:
            progress(start + len(part), len(ids))
    return stored


def _store(
    engine: Engine, found: dict[int, tuple[LeadSignal, int | None, str]], refs: dict[int, _BrandRef]
) -> int:
    now = utcnow()
    with engine.begin() as conn:
        links: dict[int, list[_BrandRef]] = {}
        for mid, bid in conn.execute(
            sa.select(_MB.c.mention_id, _MB.c.brand_id)
            .where(_MB.c.mention_id.in_(list(found)))
            .order_by(_MB.c.mention_id, _MB.c.brand_id)
        ):
            if bid in refs:
                links.setdefault(mid, []).append(refs[bid])
        rows = []
        for mid, (signal, customer_id, text) in found.items():
            ok, brand_id = lead_brand(signal.kind, text, links.get(mid, []))
            if ok:
                rows.append(
                    {
                        "mention_id": mid,
                        "brand_id": brand_id,
                        "kind": signal.kind,
                        "score": signal.score,
                        "stage": "new",
                        "value": None,
                        "customer_id": customer_id,
                        "assignee": "",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        if not rows:
            return 0
        stmt = dialect_insert(conn, _L).on_conflict_do_nothing(index_elements=["mention_id"])
        result = conn.execute(stmt.returning(_L.c.id), rows)
        return len(result.all())


# -- the funnel -----------------------------------------------------------------------


@dataclass(frozen=True)
class MoveResult:
    """How many leads a move changed, and why the others were left alone."""

    changed: int
    skipped: dict[int, str]


def move(
    *,
    engine: Engine,
    lead_ids: Sequence[int],
    stage: str,
    user: str,
    value: float | None = None,
    assignee: str | None = None,
    now: datetime | None = None,
) -> MoveResult:
    """Move leads to ``stage`` where :data:`TRANSITIONS` allows it; each change is audited.

    ``value`` (the deal's worth, ≥ 0) is recorded on the moved leads when given. Leads
    whose stage does not allow the move are skipped with the reason. Raises
    :class:`ScrmError` for an unknown stage, a missing user or a negative value, and
    :class:`NotFoundError` for an unknown lead.
    """
    if stage not in STAGES:
        raise ScrmError(f"Unknown stage {stage!r}: use one of {', '.join(STAGES)}")
    if not user.strip():
        raise ScrmError("Say who you are: every change to a lead records its author")
    if value is not None and (value != value or value < 0):
        raise ScrmError("A lead's value is an amount of 0 or more")
    now = now or utcnow()
    ids = sorted({int(i) for i in lead_ids})
    skipped: dict[int, str] = {}
    changed = 0
    with engine.begin() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(_L).where(_L.c.id.in_(ids)))} if ids else {}
        for lead_id in ids:
            row = rows.get(lead_id)
            if row is None:
                raise NotFoundError(f"No lead #{lead_id}")
            if stage not in TRANSITIONS[row.stage]:
                allowed = ", ".join(sorted(TRANSITIONS[row.stage])) or "nothing (closed)"
                skipped[lead_id] = f"is {row.stage}: it can move to {allowed}"
                continue
            values: dict[str, object] = {"stage": stage, "updated_at": now}
            if value is not None:
                values["value"] = float(value)
            if assignee is not None:
                values["assignee"] = assignee.strip()[:100]
            conn.execute(sa.update(_L).where(_L.c.id == lead_id).values(**values))
            conn.execute(
                sa.insert(_AUDIT).values(
                    at=now,
                    username=user.strip()[:100],
                    action="lead_stage",
                    entity="lead",
                    entity_id=str(lead_id),
                    detail={"from": row.stage, "to": stage, "value": value, "assignee": assignee},
                )
            )
            changed += 1
    return MoveResult(changed=changed, skipped=skipped)


def _lead_conditions(filters: Filters | None) -> list[sa.ColumnElement[bool]]:
    """Conditions on a lead (joined to its mention): period and platforms of the post, lead brand.

    Sentiment filters do not apply to leads.
    """
    if filters is None:
        return []
    conds: list[sa.ColumnElement[bool]] = [_M.c.created_at >= filters.start, _M.c.created_at < filters.end]
    if filters.brand_ids:
        conds.append(_L.c.brand_id.in_(filters.brand_ids))
    if filters.platforms:
        conds.append(_M.c.platform.in_(filters.platforms))
    return conds


def funnel(*, engine: Engine, filters: Filters | None = None) -> pd.DataFrame:
    """Leads per stage: one row per stage of :data:`STAGES`, in order.

    Columns: ``stage``, ``leads`` (now in that stage), ``value`` (sum of their values),
    ``reached`` (leads that got at least that far on the way to ``won``: a won lead has
    reached qualified and contacted too; for ``lost``, the lost leads).
    """
    stmt = (
        sa.select(_L.c.stage, sa.func.count(), sa.func.coalesce(sa.func.sum(_L.c.value), 0.0))
        .select_from(_L.join(_M, _M.c.id == _L.c.mention_id))
        .where(*_lead_conditions(filters))
        .group_by(_L.c.stage)
    )
    with engine.connect() as conn:
        got = {stage: (int(n), float(v)) for stage, n, v in conn.execute(stmt)}
    line = ("new", "qualified", "contacted", "won")
    rows = []
    for stage in STAGES:
        n, v = got.get(stage, (0, 0.0))
        if stage == "lost":
            reached = n
        elif stage == "new":
            reached = sum(got.get(s, (0, 0))[0] for s in STAGES)
        else:
            reached = sum(got.get(s, (0, 0))[0] for s in line[line.index(stage) :])
        rows.append({"stage": stage, "leads": n, "value": v, "reached": reached})
    return pd.DataFrame(rows, columns=["stage", "leads", "value", "reached"])


def funnel_figure(frame: pd.DataFrame, *, title: str = "Lead funnel") -> go.Figure:
    """A funnel of :func:`funnel`'s ``reached`` from new to won, with the lost leads beside it."""
    line = frame[frame["stage"] != "lost"]
    lost = int(frame.loc[frame["stage"] == "lost", "leads"].sum())
    fig = go.Figure(
        go.Funnel(
            y=list(line["stage"]),
            x=list(line["reached"]),
            textinfo="value+percent initial",
            marker={"color": ["#9ecae1", "#6baed6", "#3182bd", "#2ca02c"][: len(line)]},
            hovertemplate="%{y}: %{x:,} leads reached this stage<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": f"{title} ({lost:,} lost)"},
        height=340,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
    )
    return fig


def conversion(*, engine: Engine, filters: Filters | None = None, by: str = "brand") -> pd.DataFrame:
    """Leads and their conversion per brand, source (the platform of the post) or kind.

    Columns: the group (``brand``, ``source`` or ``kind``), ``leads``, ``open``, ``won``,
    ``lost``, ``value_won``, ``conversion`` (won / leads × 100) and ``win_rate`` (won /
    (won + lost) × 100; NaN while nothing is closed). Largest groups first.
    """
    if by not in CONVERSION_BY:
        raise ScrmError(f"Unknown grouping {by!r}: use one of {', '.join(sorted(CONVERSION_BY))}")
    group = {
        "brand": sa.func.coalesce(_B.c.name, "(no brand)"),
        "source": _M.c.platform,
        "kind": _L.c.kind,
    }[by].label(by)

    def count_stage(stages: Sequence[str]) -> sa.ColumnElement[int]:
        return sa.func.coalesce(sa.func.sum(sa.case((_L.c.stage.in_(stages), 1), else_=0)), 0)

    stmt = (
        sa.select(
            group,
            sa.func.count().label("leads"),
            count_stage(OPEN_STAGES).label("open"),
            count_stage(("won",)).label("won"),
            count_stage(("lost",)).label("lost"),
            sa.func.coalesce(sa.func.sum(sa.case((_L.c.stage == "won", _L.c.value), else_=0.0)), 0.0).label(
                "value_won"
            ),
        )
        .select_from(_L.join(_M, _M.c.id == _L.c.mention_id).outerjoin(_B, _B.c.id == _L.c.brand_id))
        .where(*_lead_conditions(filters))
        .group_by(group)
    )
    with engine.connect() as conn:
        frame = pd.DataFrame(
            conn.execute(stmt).all(), columns=[by, "leads", "open", "won", "lost", "value_won"]
        )
    for col in ("leads", "open", "won", "lost"):
        frame[col] = frame[col].astype(int)
    frame["value_won"] = frame["value_won"].astype(float)
    frame["conversion"] = frame["won"] / frame["leads"].where(frame["leads"] > 0) * 100
    closed = (frame["won"] + frame["lost"]).where(lambda s: s > 0)
    frame["win_rate"] = frame["won"] / closed * 100
    return frame.sort_values(["leads", by], ascending=[False, True], ignore_index=True)


LEAD_COLUMNS = (
    "id",
    "stage",
    "kind",
    "score",
    "value",
    "brand",
    "platform",
    "author",
    "customer_id",
    "customer_ref",
    "customer",
    "posted_at",
    "text",
    "url",
    "assignee",
    "created_at",
    "updated_at",
)


def _lead_select() -> sa.Select:
    return sa.select(
        _L.c.id,
        _L.c.stage,
        _L.c.kind,
        _L.c.score,
        _L.c.value,
        sa.func.coalesce(_B.c.name, "").label("brand"),
        _M.c.platform,
        sa.func.coalesce(_A.c.handle, "").label("author"),
        _L.c.customer_id,
        sa.func.coalesce(_C.c.crm_ref, "").label("customer_ref"),
        sa.func.coalesce(_C.c.name, "").label("customer"),
        _M.c.created_at.label("posted_at"),
        _M.c.text,
        _M.c.url,
        _L.c.assignee,
        _L.c.created_at,
        _L.c.updated_at,
    ).select_from(
        _L.join(_M, _M.c.id == _L.c.mention_id)
        .outerjoin(_B, _B.c.id == _L.c.brand_id)
        .outerjoin(_A, _A.c.id == _M.c.author_id)
        .outerjoin(_C, _C.c.id == _L.c.customer_id)
    )


def _frame(rows: Sequence[sa.Row]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(LEAD_COLUMNS))
    for col in ("posted_at", "created_at", "updated_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    frame["value"] = frame["value"].astype(float)
    frame["customer_id"] = frame["customer_id"].astype("Int64")
    return frame


def list_leads(
    *,
    engine: Engine,
    filters: Filters | None = None,
    stages: Sequence[str] = (),
    kinds: Sequence[str] = (),
    customer_id: int | None = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """Leads, best first (score, then newest post): columns :data:`LEAD_COLUMNS`."""
    stmt = _lead_select().where(*_lead_conditions(filters))
    if stages:
        stmt = stmt.where(_L.c.stage.in_(list(stages)))
    if kinds:
        stmt = stmt.where(_L.c.kind.in_(list(kinds)))
    if customer_id is not None:  # linked to them, or posted by one of their identities
        authors = (
            sa.select(_A.c.id)
            .select_from(_SI.join(_A, sa.and_(_A.c.platform == _SI.c.platform, _A.c.handle == _SI.c.handle)))
            .where(_SI.c.customer_id == customer_id)
        )
        stmt = stmt.where(sa.or_(_L.c.customer_id == customer_id, _M.c.author_id.in_(authors)))
    stmt = stmt.order_by(_L.c.score.desc(), _M.c.created_at.desc(), _L.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return _frame(conn.execute(stmt).all())


EXPORT_COLUMNS = (
    "lead_id",
    "stage",
    "kind",
    "score",
    "value",
    "brand",
    "platform",
    "author",
    "customer_ref",
    "customer",
    "posted_at",
    "text",
    "url",
    "assignee",
    "updated_at",
)


def write_leads_csv(
    out: IO[str], *, engine: Engine, filters: Filters | None = None, chunk: int = 5000
) -> int:
    """Write the leads (formula-safe CSV, :data:`EXPORT_COLUMNS`) in id order; returns the row count."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    last, count = 0, 0
    while True:
        stmt = _lead_select().where(_L.c.id > last, *_lead_conditions(filters)).order_by(_L.c.id).limit(chunk)
        with engine.connect() as conn:
            rows = conn.execute(stmt).all()
        if not rows:
            return count
        for r in rows:
            writer.writerow(
                [
                    str(r.id),
                    r.stage,
                    r.kind,
                    f"{r.score:.2f}",
                    "" if r.value is None else f"{r.value:.2f}",
                    neutralise(r.brand),
                    neutralise(r.platform),
                    neutralise(r.author),
                    neutralise(r.customer_ref),
                    neutralise(r.customer),
                    _iso(r.posted_at),
                    neutralise(r.text),
                    neutralise(r.url),
                    neutralise(r.assignee),
                    _iso(r.updated_at),
                ]
            )
            count += 1
        last = rows[-1].id


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def export_leads_csv(path: Path | str, *, engine: Engine, filters: Filters | None = None) -> int:
    """Write the leads export to ``path`` (UTF-8); returns the number of leads."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        return write_leads_csv(out, engine=engine, filters=filters)


def leads_csv_bytes(*, engine: Engine, filters: Filters | None = None) -> bytes:
    """The leads export as UTF-8 bytes (for a download)."""
    out = io.StringIO()
    write_leads_csv(out, engine=engine, filters=filters)
    return out.getvalue().encode("utf-8")


def evaluate(pairs: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Precision and recall of :func:`detect` on ``(text, label)`` pairs (label a kind or "none").

    One row per kind and a last row ``any lead`` (lead or not, whatever the kind). Columns:
    ``kind``, ``support`` (posts with that label), ``predicted``, ``correct``,
    ``precision``, ``recall``, ``f1`` (NaN when undefined).
    """
    predicted = [(label, (signal.kind if (signal := detect(text)) else "none")) for text, label in pairs]
    rows = []
    for kind in (*KINDS, "any lead"):
        if kind == "any lead":
            support = sum(label != "none" for label, _ in predicted)
            guessed = sum(got != "none" for _, got in predicted)
            correct = sum(label != "none" and got != "none" for label, got in predicted)
        else:
            support = sum(label == kind for label, _ in predicted)
            guessed = sum(got == kind for _, got in predicted)
            correct = sum(label == kind == got for label, got in predicted)
        precision = correct / guessed if guessed else float("nan")
        recall = correct / support if support else float("nan")
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else float("nan")
        rows.append(
            {
                "kind": kind,
                "support": support,
                "predicted": guessed,
                "correct": correct,
                "precision": precision,
                "recall": recall,
                "f1": f1,
            }
        )
    return pd.DataFrame(rows)


def whole_history() -> Filters:
    """Filters covering every post, whenever dated (for the CLI and the demo)."""
    return Filters(start=datetime(1970, 1, 2, tzinfo=UTC), end=datetime(2100, 1, 1, tzinfo=UTC))
