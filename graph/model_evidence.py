"""What a team's text must say before a value the model read from it is kept.

The model reads free text well but may read too much, or obey an instruction hidden in the
text ("recommend fine-tuning" → "data cleared: yes"). So every value it extracts needs
evidence in the team's own words: a number stated, the owner named, words about a yes/no
field that say it **that way round** ("Legal has not cleared this data" is no evidence for
``data_cleared=true``), words for a choice, and, for a list, words for each item that do not
negate it ("we never tried RAG" is no evidence that RAG was tried). The words come from two
places: the offline parser's vocabulary with its negation handling (graph/answers.py
``stated``, ``polarity``), and the looser stems below, which add free-text phrasings.

Every check here is linear in the text: each table scans the text once, and the readings
of one text are cached, however many values are checked against it.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from graph import questions as catalog
from graph.answers import polarity, stated
from graph.profile import Profile
from graph.reading.numbers import numbers, spell_out

USE_CASE_CHARS = 120


def valid_value(name: str, value: Any) -> tuple[bool, Any]:
    """Validate one field through the model; ``(True, json value)`` or ``(False, None)``."""
    if value is None:
        return False, None
    try:
        checked = Profile.model_validate({"use_case": "-"} | {name: value})
    except ValidationError:
        return False, None
    return True, checked.model_dump(mode="json")[name]


# A monthly volume may be given per day, week, year or hour.
_PER_MONTH = (1.0, 20.0, 21.0, 22.0, 30.0, 30.4, 31.0, 52 / 12, 4.0, 1 / 12, 720.0, 730.0)
_SCORES = ("baseline_score", "target_score")
SHORT_REPLY_WORDS = 8  # a reply this short answers the pending question, whatever it says


def _words(pattern: str) -> re.Pattern[str]:
    """Word stems: each alternative matches at the start of a word ('licen' -> licence)."""
    return re.compile(rf"(?<![a-z0-9])(?:{pattern})", re.IGNORECASE)


# What a text must mention before a yes/no the model reads from it is believed: a model told
# to "recommend fine-tuning" would otherwise claim cleared data and clean labels from a text
# that says nothing about either. The words are stems, matched at the start of a word.
EVIDENCE: dict[str, re.Pattern[str]] = {
    "data_cleared": _words(
        r"cleared|clearance|clear (?:to|for)|approv|consent|legal|lawyer|counsel|privacy|permi|"
        r"pii\b|gdpr|hipaa|sign(?:ed)?[- ]?off|licen|allow|complian|redact|anonymi|pseudonymi|"
        r"contract|rights|ok'?d\b"
    ),
    # Words about label quality: "labelled" alone is in nearly every reply to the examples
    # question, and says nothing about whether the labels are clean.
    "labels_clean": _words(
        r"clean|noisy|messy|dirty|quality|consisten|inconsisten|gold|review|"
        r"verif|curat|audit|de-?dup|duplicat|checked|validat"
    ),
    "task_stable": _words(
        r"stable|unstable|chang|fixed|settled|evolv|same|new (?:categor|queue|class|label|"
        r"intent|type|field|product)|flux|moving|locked|static|shift|iterat|frozen|steady|"
        r"add(?:ing)? (?:new|more)|won'?t change|constant"
    ),
    "latency_critical": _words(
        r"latency|fast|speed|slow|quick|real[- ]?time|second|millisecond|\d+ ?ms\b|"
        r"interactive|instant|responsive|snappy|wait|lag|time[- ]?out|synchronous|batch"
    ),
    "cost_pressure": _words(
        r"cost|budget|spend|expens|cheap|money|pric|bill|afford|pressure|dollar|sav|invoice|"
        r"financ|roi\b|[$€£]"
    ),
    "regulated": _words(
        r"regulat|complian|legal|law\b|laws|financ|fintech|bank|health|medical|clinical|"
        r"patient|hipaa|gdpr|insur|pharma|government|audit|sox\b|pci\b|fda\b|child|kids|"
        r"credit|loan"
    ),
    "brand_voice": _words(r"brand|voice|tone|style|on-brand|sound(?:s)? like|persona|copy\b"),
    "human_review": _words(
        r"review|human|person|editor|agent|approv|check|moderat|in the loop|hitl|sign[- ]?off|"
        r"oversight|manual"
    ),
}
# Each technique the model says was tried must be named by the text in some way.
TECHNIQUE_EVIDENCE: dict[str, re.Pattern[str]] = {
    "system_prompt": _words(r"system (?:prompt|message)|prompt|instruction|rules|role|persona"),
    "few_shot": _words(r"example|few[- ]?shot|shot|demonstrat|sample"),
    "structured_output": _words(
        r"json|schema|structur|format|function[- ]call|tool[- ]call|tool use|xml|typed|pydantic"
    ),
    "chain_of_thought": _words(r"chain|thought|step[- ]by[- ]step|reason|cot\b|think"),
    "decomposition": _words(
        r"decompos|split|step|stage|chain|pipeline|sub-?task|multiple prompts|several prompts|"
        r"break|two[- ]pass|multi-"
    ),
    "rag": _words(r"rag\b|retriev|search|vector|embedding|knowledge base|index|ground|document"),
    "bigger_model": _words(
        r"bigger|larger|stronger|smarter|frontier|upgrad|gpt|opus|sonnet|claude|gemini|o1\b|"
        r"o3\b|model"
    ),
    "fine_tuning": _words(r"fine[- ]?tun|lora|train"),
    # "We haven't tried anything": an empty list needs words like these.
    "none": _words(
        r"nothing|none|not yet|haven'?t|have not|just started|out of the box|default|basic|"
        r"only (?:a|the|one)|no (?:technique|prompt)|tried|try"
    ),
}

# The choice and list fields: the value the model read must be named by the text, either
# by the offline parser's phrases for it (graph/answers.py ``values_mentioned``) or by the
# words below, which add the free-text phrasings those reply-shaped tables lack. Generous on
# purpose: a value dropped wrongly costs the team one more question; a value kept from a
# text that never mentions it (an obeyed instruction: "deployment: edge", "problems: none")
# could open an exception or close a gate. "none" stands for an empty list.
VALUE_EVIDENCE: dict[str, dict[str, re.Pattern[str]]] = {
    "task_type": {
        "classification": _words(
            r"classif|categor|label|tag|rout|triag|sort|queue|bucket|intent|sentiment|spam|"
            r"moderat|flag|prioriti|detect|assign|binary|yes[/ -]or[/ -]no|which (?:team|"
            r"queue|department|category|class)"
        ),
        "extraction": _words(
            r"extract|pull|pars|entit|field|forms?\b|invoice|receipt|capture|scrap|ocr\b|"
            r"key (?:facts|data|details|values)|fill|structured data|dates|amounts|addresses"
        ),
        "transformation": _words(
            r"transform|conver|reformat|format|translat|normali|rewrit|map|migrat|restructur|"
            r"clean(?:ing)? up|text[- ]to[- ]|to sql|into sql|port(?:ing)? |"
            r"turn(?:s|ing)? (?:[\w-]+ ){1,4}into|into (?:json|csv|sql|markdown|yaml|a table)"
        ),
        "generation": _words(
            r"generat|writ|draft|compos|copy|content|creat|produc|descri|blog|post|article|"
            r"email|repl|respon|marketing|ads?\b|headline|caption|stor(?:y|ies)|code"
        ),
        "summarization": _words(
            r"summar|tl;?dr|digest|condens|recap|brief|overview|shorten|abstract|highlight|"
            r"minutes|notes|key points|gist|synops"
        ),
        "question_answering": _words(
            r"question|answer|q ?& ?a|qa\b|faq|ask|look(?:s|ing)? up|help ?desk|support|"
            r"knowledge base|search|quer|inquir|enquir"
        ),
        "conversation": _words(
            r"conversa|chat|dialog|talk|multi-turn|turns|assistant|companion|"
            r"back[- ]and[- ]forth|open[- ]ended|tutor|coach|role-?play|persona|messag"
        ),
        "agent": _words(
            r"agent|tool|action|multi-step|autonom|workflow|execut|book|brows|api call|"
            r"call(?:s|ing)? (?:apis|our api|an api)|automat|orchestrat|plan|navigat|schedul|"
            r"click|file (?:tickets|bugs)|runs? (?:commands|scripts|queries)|trigger|"
            r"takes? (?:steps|actions)|on (?:its|their) own|acts? on|issues? refunds|"
            r"updat(?:e|es|ing) (?:orders|records|tickets|accounts|the crm)|places? orders"
        ),
        "other": _words(
            r"mix|various|several|combin|multiple|both|hybrid|something else|none of|variety|"
            r"unusual|custom|misc"
        ),
    },
    "problems": {
        "missing_knowledge": _words(
            r"know|fact|context|informat|info\b|outdated|out[- ]of[- ]date|stale|unaware|aware|"
            r"polic|document|docs\b|catalog|pric|internal|domain|look(?:s|ing)? up|"
            r"up[- ]to[- ]date|latest|wiki|handbook|manual|spec"
        ),
        "hallucination": _words(
            r"hallucinat|made[- ]up|mak(?:e|es|ing) (?:stuff |things |facts |answers |it |them )?"
            r"up\b|(?:doesn'?t|don'?t|does not|do not|didn'?t) exist|"
            r"invent|fabricat|confident|lie\b|lies|lying|false|untrue|non-?existent|fake|bogus|"
            r"wrong facts|not true|imagin|never said"
        ),
        "wrong_format": _words(
            r"format|json|schema|malformed|pars|structur|field|broken|invalid|markdown|yaml|"
            r"xml|csv|keys|syntax|template|shape|layout|extra text|doesn'?t follow"
        ),
        "off_voice": _words(
            r"voice|tone|brand|style|sound|robotic|generic|bland|formal|casual|stiff|"
            r"personalit|wording|phrasing|wordy|verbose|chatty|stilted|corporate|cheesy|emoji|"
            r"salesy|like us\b|off-brand|on-brand"
        ),
        "refuses_harmless": _words(
            r"refus|declin|won'?t (?:answer|help|do|touch)|(?:can'?t|cannot) (?:help|do)|"
            r"unable to|not allowed to|cautious|overcautious|"
            r"over-cautious|block|safety|censor|apologi|reject|sorry|says? it can'?t|"
            r"false positive"
        ),
        "too_slow": _words(
            r"slow|latenc|fast|speed|long|wait|lag|time[- ]?out|second|\d+ ?ms\b|millisec|quick|"
            r"delay|sluggish|takes (?:ages|forever)"
        ),
        "too_expensive": _words(
            r"expens|cost|budget|spend|bill|pric|cheap|money|dollar|afford|invoice|token|pay|"
            r"[$€£]"
        ),
        "accuracy_plateau": _words(
            r"accura|inaccura|plateau|stuck|ceiling|wrong|mistak|error|miss|misclassif|misrout|"
            r"mislabel|score|percent|\d+(?:\.\d+)? ?%|quality|not good enough|fail|incorrect|"
            r"correct|precision|recall|f1\b|improv|eval|benchmark|target"
        ),
        "inconsistent": _words(
            r"inconsisten|consisten|unpredictab|vary|varies|variab|varying|different "
            r"(?:answers|results|outputs|labels)|flaky|random|unreliab|deterministic|sometimes|"
            r"erratic|same (?:input|question|email|prompt|ticket)|each time|every time|"
            r"hit[- ](?:and|or)[- ]miss|drift"
        ),
        "none": _words(
            r"nothing|not (?:built|live|launched|in production)|haven'?t (?:built|launched|"
            r"started|shipped)|have not (?:built|launched|started|shipped)|pre-?launch|"
            r"just start|greenfield|from scratch|new project|no (?:complaints|problems|issues)|"
            r"works (?:fine|well)|all good|fine so far|happy with"
        ),
    },
    "techniques_tried": TECHNIQUE_EVIDENCE,
    "knowledge_changes": {
        "none": _words(
            r"self[- ]contained|in the (?:input|email|text|ticket|message|document|request)|"
            r"(?:input|email|text|ticket|message)s? (?:alone|itself|themselves|only)|"
            r"no (?:external|outside|extra|look-?up|reference|background|facts|knowledge|"
            r"retrieval)|(?:doesn'?t|does not|don'?t|do not|won'?t) need (?:any |to )?(?:facts|"
            r"knowledge|data|context|look|outside|external|extra|anything)|needs? no (?:facts|"
            r"knowledge|look-?up|context)|without (?:any )?(?:facts|knowledge|look-?up|outside|"
            r"external)|everything (?:it needs|is in)|all (?:it needs|the information|the info)|"
            r"nothing (?:beyond|outside|else)|general knowledge|common sense|knowledge[- ]free|"
            r"only needs|needs only|just needs|only (?:uses|reads|looks at|sees) the"
        ),
        "rarely": _words(
            r"rare|seldom|hardly|year|annual|quarter|occasional|static|stable|not (?:that |very "
            r"|so )?often|every few months|once a|slow(?:ly)?[- ]chang|barely chang|fixed|"
            r"settled|(?:won'?t|doesn'?t|don'?t|does not|do not|will not) change"
        ),
        "often": _words(
            r"often|frequent|constant|all the time|every (?:day|week|month)|each (?:day|week|"
            r"month)|daily|weekly|monthly|hourly|regular|chang|updat|real[- ]?time|live "
            r"(?:data|prices|stock|inventory)|fresh|stale|outdated|new (?:products|prices|"
            r"polic|releases|features|items|rules)|fast[- ]moving|latest|pric|stock|inventor|"
            r"release|launch|news|season|promo"
        ),
    },
    "error_cost": {
        "low": _words(
            r"low|little|minor|trivial|negligible|harmless|no big deal|not a big deal|"
            r"(?:doesn'?t|does not|don'?t) matter|easy to (?:fix|retry|spot|undo|correct|catch)|"
            r"cheap to fix|internal only|retry|re-?run|no harm|nobody (?:cares|notices)|cosmetic|"
            r"just means|re-?(?:file|do|submit|send)|redo|undo|easily (?:fixed|caught|corrected|"
            r"spotted)"
        ),
        "medium": _words(
            r"medium|moderate|mid\b|rework|annoy|hassle|hour|minute|delay|inconvenien|misrout|"
            r"re-?rout|bounce|manual(?:ly)? fix|by hand|extra work|waste|slows? (?:us|them|"
            r"things) down|backlog|duplicate|write again|agent time|handling time"
        ),
        "high": _words(
            r"high|serious|significant|costly|expensive|money|revenue|customer|reputation|churn|"
            r"refund|lose|lost|loss|angry|complain|sla\b|escalat|contract|penalt|trust|public|"
            r"embarrass|major|big deal|sales"
        ),
        "critical": _words(
            r"critical|safety|safe\b|danger|legal|lawsuit|liabil|regulat|complian|fatal|life|"
            r"lives|death|die\b|catastroph|severe|harm|injur|patient|medical|clinical|diagnos|"
            r"dosage|fines\b|penalt|irreversib|child|sue\b|sued|suing|court"
        ),
    },
    "deployment": {
        # The default: little evidence needed (any sign of a vendor's model or a cloud).
        "hosted_api": _words(
            r"api|claude|openai|anthropic|gpt|gemini|mistral|cohere|llm|cloud|hosted|saas|"
            r"vendor|provider|sonnet|opus|haiku|endpoint|managed|third[- ]party|external "
            r"(?:model|service)"
        ),
        "private_cloud": _words(
            r"private|vpc\b|aws\b|amazon|gcp\b|google cloud|azure|bedrock|vertex|tenant|"
            r"data residency|region|our (?:own )?(?:cloud|account|subscription)|dedicated|"
            r"can'?t leave|cannot leave|must stay|stays? (?:in|inside|within)|kubernetes|k8s"
        ),
        "on_prem": _words(
            r"on[- ]?prem|premises|self[- ]?host|own (?:servers?|hardware|gpus?|machines|"
            r"infrastructure|data ?cent)|our (?:servers?|hardware|gpus?|machines|infrastructure|"
            r"racks?|data ?cent)|data ?cent|air[- ]?gap|in[- ]house|behind (?:our|the) firewall|"
            r"intranet|internal network|local (?:servers?|gpus?|machines?|hardware|cluster)|"
            r"can'?t leave|cannot leave|never leaves?|must stay|locally|open[- ]weights?|llama"
        ),
        "edge": _words(
            r"device|edge|offline|mobile|phone|laptop|embedded|browser|iot\b|tablet|watch|"
            r"car\b|cars\b|vehicle|sensor|camera|kiosk|point[- ]of[- ]sale|handheld|wearable|"
            r"no (?:internet|connectivity|network)|without (?:internet|connectivity|a "
            r"connection)|client[- ]side|locally|raspberry|microcontroller|wasm|webgpu|"
            r"user'?s? (?:machine|computer)"
        ),
    },
}
NONE_VALUE = "none"  # in VALUE_EVIDENCE: an empty list (nothing wrong, nothing tried)


def _short_answer(name: str, text: str, pending: str | None) -> bool:
    """A short reply to the question that asks for ``name`` supports a value for it."""
    if not pending or len(text.split()) > SHORT_REPLY_WORDS:
        return False
    try:
        return name in catalog.spec(pending).fields
    except KeyError:
        return False


def names_value(name: str, value: str, text: str) -> bool:
    """Whether ``text`` has words for this value of a choice or list field, and does not
    only say it is not so ("we never tried RAG" names RAG, but not as tried)."""
    said = stated(name, text).get(value)
    if said is not None and True not in said:
        return False  # every mention negates it
    own = VALUE_EVIDENCE.get(name, {}).get(value)
    return said is not None or (own is not None and bool(own.search(text)))


def supported_values(name: str, values: list[str], text: str) -> list[str]:
    """The values of a list field that ``text`` names (the rest are dropped)."""
    return [v for v in values if names_value(name, v, text)]


def supported_techniques(tried: list[str], text: str) -> list[str]:
    """The techniques of ``tried`` that ``text`` names (the rest are dropped)."""
    return supported_values("techniques_tried", tried, text)


def _plain(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'")  # "won’t" reads as "won't"


def evidenced(name: str, value: Any, text: str, *, pending: str | None = None) -> tuple[bool, Any]:
    """:func:`supported`, except that list values (techniques tried, problems) the text
    does not name are dropped from the list rather than losing the whole list:
    ``(ok, the value to keep)``."""
    text = _plain(text)
    listed = name in VALUE_EVIDENCE and isinstance(value, list) and bool(value)
    if listed and not _short_answer(name, text, pending):
        value = supported_values(name, value, text)
        return bool(value), value
    return supported(name, value, text, pending=pending), value


def contradicted(name: str, value: Any, text: str) -> bool:
    """Whether the text says a yes/no field is the other way round from ``value``."""
    said = polarity(name, text)
    return isinstance(value, bool) and bool(said) and value not in said


def supported(name: str, value: Any, text: str, *, pending: str | None = None) -> bool:
    """Whether ``text`` gives evidence for the value the model extracted.

    Numbers must be stated; the owner must be named; a yes/no needs words about its field
    (:data:`EVIDENCE`) and must not be contradicted by what they say ("Legal has not
    cleared this data" drops ``data_cleared=true``); a choice (task type, error cost,
    deployment, how often facts change) and each item of a list (problems, techniques
    tried) needs words for that value that do not negate it (:data:`VALUE_EVIDENCE`), an
    empty list words for "nothing". A short reply to the pending question supports a value
    for that question's fields unless it says the opposite. A fabricated value (an obeyed
    instruction, or a guess) is dropped and the interview then asks for it.
    """
    text = _plain(text)
    if name == "use_case":
        return len(str(value)) <= USE_CASE_CHARS
    if name == "retraining_owner":
        words = {w for w in re.findall(r"[\w'-]{3,}", str(value).lower())}
        return value == "" or bool(words & set(re.findall(r"[\w'-]{3,}", text.lower())))
    if isinstance(value, bool) or name in EVIDENCE:
        if contradicted(name, value, text):
            return False
        evidence = EVIDENCE.get(name)
        found = evidence is not None and bool(evidence.search(text))
        return found or _short_answer(name, text, pending)
    if name in VALUE_EVIDENCE:
        if isinstance(value, list):
            values = [str(v) for v in value] or [NONE_VALUE]
            if _short_answer(name, text, pending):
                return not any(
                    False in stated(name, text).get(v, {True})
                    and True not in stated(name, text).get(v, {True})
                    for v in values
                )
            return supported_values(name, values, text) == values
        if _short_answer(name, text, pending):
            said = stated(name, text).get(str(value))
            return said is None or True in said
        return names_value(name, str(value), text)
    if not isinstance(value, int | float):
        return True
    if value == 0:
        return True  # "none", "no eval set": zero is the natural reading of a no
    for number in stated_numbers(text):
        candidates = [number]
        if name in _SCORES:
            candidates.append(number / 100)
        if name == "monthly_volume":
            candidates += [number * m for m in _PER_MONTH]
        tolerance = 0.1 if name == "monthly_volume" else 0.02
        if any(math.isclose(value, c, rel_tol=tolerance) for c in candidates):
            return True
    return False


@lru_cache(maxsize=128)
def stated_numbers(text: str) -> tuple[float, ...]:
    """Every number the text states, words included ("twelve thousand", "a million"), each
    end of a range on its own; one pass, cached for the checks of one extraction."""
    spelled = spell_out(text.lower())
    return tuple(n.value for n in numbers(spelled, ranges=False))


__all__ = [
    "EVIDENCE",
    "NONE_VALUE",
    "TECHNIQUE_EVIDENCE",
    "VALUE_EVIDENCE",
    "contradicted",
    "evidenced",
    "names_value",
    "stated_numbers",
    "supported",
    "supported_techniques",
    "supported_values",
    "valid_value",
]
