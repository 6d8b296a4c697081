"""What people call each option: a vocabulary per field, and one linear scan to find it.

Each table reads ``value: phrase | phrase | ...`` (a line starting with spaces continues the
one above). A phrase is a regex fragment matched on word boundaries. Phrases name the option
the way people describe it: the technique ("JSON mode", "response schema", "function
calling" are structured output; "a pipeline of prompts", "split it into two calls" are
decomposition), the symptom ("different every run" is inconsistent, "makes up facts" is a
hallucination), the frequency ("every sprint" is often). A phrase that starts with ``=``
counts only as a whole clause (a bare "prompt" in a list of what was tried). One that
starts with ``@`` is a topic word ("format", "accuracy", "cost"): it is only negated by a
negator right before it or a verdict after it (see graph/reading/text.py), so "it doesn't
get the format right" still complains about the format while "format is fine" does not.

:func:`find` scans a text once per table with one compiled alternation (longest phrases
first, so "doesn't know our policies" wins over "policies"), and returns every hit with its
polarity. Words no table knows never become a value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from graph.reading.text import FILLERS, Reply

Table = dict[str, tuple[str, ...]]


def _table(text: str) -> Table:
    table: dict[str, list[str]] = {}
    key = ""
    for line in text.strip("\n").splitlines():
        if not line.startswith(" "):
            key, line = line.split(":", 1)
            table[key] = []
        table[key] += [p.strip() for p in line.split(" | ") if p.strip()]
    return {k: tuple(v) for k, v in table.items()}


# Word classes a phrase may name as <class>, so long alternations are written once;
# <w> is any one word, or a whole aside in brackets: "pulling the fields (budget, timeline,
# next step) out of" is still pulling fields out.
CLASSES: dict[str, str] = {
    "w": r"(?:\([^()]{0,160}\) |\S+ )",
    "neg": "doesn't|does not|don't|do not|didn't|did not",
    "cant": "can't|cannot|don't|do not|won't|doesn't|does not",
    "mustnot": "can't|cannot|must not|mustn't|can not",
    "who": "person|human|someone|somebody|people|humans|editor|agent|lawyer|analyst|coder|"
    "translator|pm|rep|adjuster|reviewer|moderator|accountant|accounting|nurse|doctor|team",
    "checks": r"checks?|reviews?|verif(?:y|ies)|approves?|reads?|edits?|decides?|validates?|"
    "signs? off|looks? at",
    "item": "input|ticket|email|text|message|document|doc|invoice|contract|transcript|log|sheet|"
    "record|letter|request|query|pr|code|window|prompt|page|form",
    "more": "bigger|larger|better|stronger|smarter|newer|biggest|largest|best|frontier|"
    "top[- ]tier|flagship|premium|more capable|more powerful",
    "outputs": r"answers?|results?|outputs?|quer(?:y|ies)|summar(?:y|ies)|labels?|codes?|"
    "responses?",
    "facts": r"policies|products|prices|names|facts|terms|rules|schema|catalog\w*",
    "known": "our|the|about|which|what|current|latest|recent|company|actual",
    "parts": "calls|prompts|steps|stages|parts|pieces|passes|chunks",
    "plain": "default|basic|simple|plain|vanilla|stock|generic",
    "times": r"one time|once|twice|two times|a few times|\d+ times|\d+x|couple (?:of )?times",
    "soon": r"day|week|sprint|release|month|other week|couple (?:of )?weeks|few weeks|"
    r"\d+(?:-\d+)? weeks|two weeks",
    "outgoing": r"publish\w*|sending|send|release|go(?:es|ing)? (?:out|live)|submission|"
    "payment|production",
    "bad": "wrong|bad|outdated|old|dupes|duplicates",
    # "adds medications that aren't in the note": what it adds is not in its source,
    # whatever that source is called (note, leaflet, chart, transcript)
    "isnt": r"aren't|isn't|wasn't|weren't|are not|is not|was not|were not|not|never|"
    r"don't appear|doesn't appear|didn't appear|never appear(?:s|ed)?",
    "putting": "puts?|putting|sorts?|files?|filing|drops?|places?|assigns?|routes?|maps?",
    "system": "erp|crm|system|database|db|sheet|spreadsheet|form|template|ats|tms|wms|sap|"
    "salesforce|hubspot|ledger|tracker|table",
    "taking": "pull|grab|get|take|lift|read|copy|fish|capture|collect|find|pick|dig|mine|"
    "harvest|yank",
    "fieldish": r"fields?|values?|data|details|dates|amounts|totals|numbers|names|addresses|"
    r"entit(?:y|ies)|info\w*|line items|skus|ids|codes|prices|parties|clauses|attributes",
    "offer": "policy|price|plan|product|feature|version|rule",
    "info": r"info\w*|facts|data|knowledge|context",
    "nobody": "nobody|no one|no-one",
    "retired": "retired|discontinued|dropped|removed|replaced|deprecated|sunset|sunsetted|"
    "killed|superseded|changed|updated|stopped selling",
    "isin": r"(?:actually |even |really )?(?:in|on|from|part of|anywhere in|mentioned in) "
    r"(?:the|our|their|its|a|any|that|this)",
    "adding": r"adds?|added|adding|includes?|included|including|inserts?|inserted|mentions?|"
    r"mentioned|cites?|cited|lists?|listed|puts? in|throws? in|sneaks? in|slips? in|"
    r"brings? up|quotes?|quoted|references?|referenced|returns?|gives?|suggests?",
}
_CLASS = re.compile(r"<(\w+)>")


def expand(fragment: str) -> str:
    """A phrase with its <class> names written out."""
    return _CLASS.sub(lambda m: f"(?:{CLASSES[m.group(1)]})", fragment)


TASK = _table(r"""
classification: classif\w* | categori[sz]\w* | categor(?:y|ies) | label(?:s|ing|ling)?
    | tagg?(?:s|ing)? | rout(?:e|es|ing) | triag\w* | sort(?:s|ing)?(?: (?:\w+ ){0,3}into)?
    | bucket\w* | intent\w* | sentiment | spam | moderat\w* | flag(?:s|ging)? | prioriti[sz]\w*
    | decid\w* (?:if|whether) | yes or no | simple or
    | which (?:queue|category|class|team|bucket|department|code)
    | assign\w* (?:\w+ ){0,3}(?:codes?|labels?|categor\w*|class\w*|tags?) | (?:reason )?codes? to
    | one of <w>{1,3}(?:queues|categories|classes|labels|buckets|tags|codes|groups) | detect\w*
    | queues?
    | (?:<putting>) <w>{0,4}(?:in|into|to|under) one of
extraction: extract\w* | pull\w* <w>{0,5}out | pull(?:s|ing)? out | take(?:s)? <w>{0,4}out of
    | pars(?:e|es|ing) | named entit\w* | entit(?:y|ies) | ner | key (?:fields|values|data|facts)
    | fields? (?:from|out of) | fill(?:s|ing)? (?:in )?(?:a |the )?forms?
    | captur\w* (?:the )?fields | scrap(?:e|es|ing) | ocr
    | get (?:the )?(?:fields|values|data) (?:out|from) | structured data from | the fields
    | fills? (?:in )?(?:a |the )?(?:json|template|forms?|fields?|schema)
    | (?:<taking>)\w* <w>{0,3}(?:<fieldish>) <w>{0,6}(?:from|off|out of)
    | (?:grab|fish|dig|mine|lift|harvest|yank|pick|spot|find)\w* <w>{0,5}out of
    | (?:<taking>)\w* <w>{0,4}(?:entries|records|items|rows|fields|data|details|values) into
    | (?:get|put|enter|key|type|load|push|move)\w* <w>{0,8}into (?:our |the |a )?(?:<system>)
    | (?:populat|fill)\w* <w>{0,4}(?:<fieldish>|crm|database|spreadsheet|sheet|form) <w>{0,2}from
transformation: transform\w* | conver(?:t|ts|ting|sion) | reformat\w* | translat\w*
    | normali[sz]\w* | rewrit\w* <w>{0,3}(?:into|as) | map(?:s|ping)? <w>{0,3}to
    | text[ -]to[ -]\w+ | (?:to|into|->) (?:sql|json|csv|xml|yaml|markdown|html|code)
    | (?:\w+ )?-> (?:\w+) | migrat\w* | port(?:s|ing)? <w>{0,2}to | localiz\w* | locali[sz]ation
generation: generat\w* | writ(?:e|es|ing) | draft\w* | compos(?:e|es|ing) | copywrit\w* | copy
    | content | creat(?:e|es|ing) <w>{0,2}(?:posts|copy|descriptions|emails|content|text)
    | descriptions | completions? | autocomplet\w*
    | suggest\w* <w>{0,2}(?:phrases|text|words|replies) | next[- ](?:word|phrase)s? | blog posts?
    | marketing (?:copy|emails?) | from scratch | =gen
summarization: summar\w* | summaris\w* | tl;?dr | digest\w* | condens\w* | recap\w* | minutes
    | meeting notes | key points | action items | gist | synops\w* | boil\w* <w>?down | shorten\w*
    | overviews?
question_answering: question answering | q ?& ?a | qa | faqs? | help ?desk
    | answer\w* <w>{0,4}questions? | questions? <w>{0,3}(?:answer|answers|answered)
    | answers? (?:from|about|based on)
    | ask(?:s)? (?:it|the bot|the model) <w>{0,2}(?:things|questions|about)
    | look(?:s|ing)? up answers | support (?:questions|bot)
    | (?:ask|asks|asking|type|types|typing|send|sends|post|posts|submit|submits) <w>{0,3}questions?
    | (?:it|the bot|the assistant|the model|bot) (?:would |should |then |just )?answers?
    | (?:get|gets|receive|receives) <w>{0,2}answers? (?:with|from|back)
conversation: conversation\w* | chat(?:s|bot|bots|ting)? | chat ?bot | dialog(?:ue)?s?
    | talk\w* (?:to|with) | multi[- ]turn | back[- ]and[- ]forth | open[- ]ended | companion
    | tutor\w* | coach\w* | role[- ]?play\w* | live chat
agent: agent(?:s|ic)? | tool (?:use|calls?|calling)
    | call(?:s|ing)? (?:tools|apis|our apis|functions) | takes? actions? | multi[- ]step
    | autonom\w* | runs? <w>{0,2}(?:linters|tests|commands|scripts|queries|code) | execut\w*
    | orchestrat\w* | books? (?:meetings|flights|appointments) | brows(?:e|es|ing)
    | files? tickets | opens? (?:prs|pull requests|tickets) | comments? on (?:prs|pull requests)
    | suggests? fixes | plans? <w>?steps
other: other | something else | none of (?:these|those|them|the above) | a mix | mixed
    | combination | a bit of everything | several of these
""")

PROBLEMS = _table(r"""
missing_knowledge: (?:<neg>) know <w>{0,3}(?:<known>)
    | (?:doesn't|does not|don't|do not) know (?:it|them|that|this|anything) | not aware | unaware
    | lacks? <w>{0,3}(?:knowledge|context|facts|info\w*)
    | missing (?:knowledge|facts|context|info\w*|data) | out[- ]of[- ]date | outdated | stale
    | knowledge cut-?off | not up to date
    | (?:<neg>) have (?:access to )?(?:our|the) <w>{0,2}(?:data|docs|info\w*|knowledge|<facts>)
    | (?:<neg>) know <w>{0,2}(?:<facts>) | generic <w>?(?:answers|stuff|info\w*|answer)
    | discontinued | knows? nothing about | (?:has|have) no idea (?:about|of) | clueless about
    | unaware of | (?:company|internal|domain|product) knowledge | the facts
    | old (?:prices|plans|policies|info\w*|data)
    | (?:<facts>|<offer>)s? (?:that )?(?:we|they) (?:<retired>)
    | (?:<retired>|previous|last year's|old) (?:<facts>|<offer>)
    | (?:the |our |all the )?(?:<info>) (?:it|the model|the bot) needs? (?:<isnt>) (?:<isin>)
    | forgets? <w>{0,3}(?:details|context|facts|info\w*|plans?|history|policies|rules|names)
hallucination: hallucinat\w* | halucinat\w* | mak(?:es|ing|e) <w>{0,3}up | made[- ]up | invent\w*
    | fabricat\w* | confidently wrong | lies | lying
    | false (?:facts|info\w*|claims|statements|numbers)
    | (?:<neg>) (?:actually )?(?:exist|ship|have) | non-?existent
    | fake <w>?(?:facts|citations|sources|quotes|numbers|stats|features)
    | wrong (?:facts|numbers|figures|count|stats?|prices?)
    | (?:count|number|figures?|stats?|prices?|facts?) wrong | says (?:there's|there is) no
    | not in the (?:source|document|input|contract|transcript|text)
    | (?:that|which|who) (?:<isnt>) (?:<isin>) <w>{0,2}\w+
    | (?:<adding>) <w>{0,4}(?:<isnt>) (?:<isin>) <w>{0,2}\w+
    | (?:things|stuff|details|facts|quotes|names|numbers) (?:<nobody>) (?:said|mentioned|wrote)
    | (?:that|which) never (?:happened|existed|took place)
    | things that aren't (?:there|true) | not true
wrong_format: @format\w* | @json | @schema | malformed | broken (?:json|output|format|markup)
    | parse errors? | (?:doesn't|does not|won't) parse | invalid (?:json|output|xml|yaml|format)
    | @structure
    | breaks? <w>{0,3}(?:format|json|schema|placeholders|markup|tags|structure|variables)
    | wall of text | bullets | wrong (?:format|shape|structure|layout|keys|fields) | extra text
    | not iso | @output format | @placeholders
    | (?:<cant>) (?:follow|match|respect|fit) <w>{0,2}(?:template|format|schema|structure|spec)
    | @template
off_voice: (?:doesn't|does not|don't|do not|not) <w>{0,2}sound like us | @voice | @tone
    | off[- ]brand | @brand | @style | robotic | (?:sounds?|reads?) like (?!us\b)\S+
    | generic copy | bland | stiff | corporate | cheesy | salesy | not (?:like )?us
    | not our (?:voice|tone|style) | (?:all )?sound(?:s)? the same
    | too (?:formal|casual|stiff|wordy) | personality | vibe
    | sounds? (?:canned|robotic|generic|fake|stiff|bland|corporate|off|wrong|weird|salesy|cheesy)
    | canned
refuses_harmless: refus\w* | won't (?:answer|help|do|touch) | declin\w*
    | (?:overly|too) (?:cautious|careful|safe|strict) | says? it can't | can't help with
    | false (?:refusals|positives) | apologi[sz]\w* | censor\w*
too_slow: slow\w* | @latency | @speed | takes? (?:too |way too |so )?long | laggy | lag
    | time ?outs? | timing out | sluggish | takes (?:ages|forever) | not fast enough
    | @response times?
too_expensive: expensive | costs? (?:too much|a lot|a fortune) | costly | pricey | @costs?
    | @bills? | @budget | @spend(?:ing)? | too much money | burn\w* <w>?(?:money|cash|tokens)
    | not cheap | @price | \$\$+ | cheaper | cost(?:s)? less | lower (?:cost|price|bill)
accuracy_plateau: plateau\w* | stuck | @accura\w* | inaccura\w* | ceiling | flat\w*
    | (?:<cant>) (?:get|go|pass|break|move) (?:above|past|beyond|over|higher|any higher|any better)
    | (?:<cant>) (?:pass|improve|budge) | not (?:good|accurate) enough | wrong answers
    | not improving | stopped improving | maxed out | tops? out | no better than | misclassif\w*
    | misrout\w* | @precision | @recall | hit a wall | and not more | not more than | no further
    | miss(?:es|ing)? <w>?(?:obvious|a lot|many|some|lots|most|half) | @quality | wrong
    | incorrect | errors? | mistakes? | not there yet | mediocre | just ok
inconsistent: inconsisten\w* | unpredictab\w* | var(?:y|ies|ying|iable|iance) | flaky
    | random(?:ly|ness)? | unreliab\w* | non-?deterministic
    | not (?:consistent|deterministic|reproducible) | different <w>{0,2}(?:<outputs>)
    | different (?:every|each) (?:time|run) | changes? (?:every|each) (?:time|run)
    | same <w>{0,2}(?:<item>|question)s? <w>{0,5}different | re-?run <w>{0,6}different
    | (?:if you |when we |when you )?re-?run it | hit[- ](?:and|or)[- ]miss
none: nothing(?: built| live| running| deployed| wrong)?(?: yet)? | not built
    | (?:haven't|have not) built | no (?:complaints|problems|issues) | works (?:fine|well|great)
    | all good | happy with it | nothing (?:wrong|to report) | not live | not in production
    | pre-?launch | greenfield | just an idea | idea stage
    | (?:haven't|have not) (?:started|launched|shipped) | no model yet | none
""")

TRIED = _table(r"""
system_prompt: system (?:prompt|message|instructions?)s? | sys ?prompt | better prompts?
    | prompt engineering | prompt (?:tweak|tuning|iteration|work|changes)\w*
    | (?:clear(?:er)?|detailed|long|careful|good|proper|custom|decent) (?:instructions|prompts?)
    | instructions | role prompt\w* | persona | (?:do's|dos) and don'?ts | rules | guidelines
    | wrote (?:a |the )?<w>?prompt | rewr(?:ote|iting) the prompt | prompt with
    | (?:just|only) a prompt | =(?:just |only )?(?:a |the |our )?prompts?
    | (?:just|only|mostly) prompting | =prompting | =prompt engineering
few_shot: few[- ]?shot | (?:one|two|three|\d+|n|multi)[- ]shot
    | examples? (?:in|into) (?:the )?prompt
    | (?:example|sample|demo) (?:q&as?|pairs|emails|outputs|answers|inputs|invoices|tickets|cases)
    | in-context (?:examples|learning) | demonstrations? | gave it examples | examples | shots
structured_output: structured (?:outputs?|generation|json|responses?)
    | json(?: mode| schema| output| format)? | response[_ ]?(?:format|schema)
    | (?:output|response|strict|a) schemas? | function[- ]?call(?:s|ing)?
    | tool[- ]?(?:calling|use) | pydantic | typed (?:outputs?|responses?)
    | constrained (?:decoding|generation) | grammars? | xml tags? | output (?:in|as) json
    | the output in json | forced json
chain_of_thought: chain[- ]of[- ]thoughts? | cot | step[- ]by[- ]step | reasoning
    | think(?:ing)? (?:first|step|through|out loud|aloud) | let (?:it|the model) (?:think|reason)
    | scratch ?pad | explain (?:its|the) reasoning | extended thinking | thinking mode
    | (?:asked|told|let|have|make|made) (?:it|the model) (?:to )?(?:reason|think|explain)
    | reason(?:s|ing)? (?:before|first)
decomposition: decompos\w* | split(?:ting)? <w>{0,3}(?:into|in) <w>?(?:<parts>)
    | split(?:ting)? (?:it|the task|things|them)(?: up)? per
    | split(?:ting)? (?:it|the task|things) up
    | (?:two|2|three|3|multi|several|multiple)[- ](?:step|stage|pass|call|prompt)s?
    | pipeline(?: of <w>?prompts)? | prompt chain\w* | chain(?:ed|ing) <w>?(?:prompts|calls)
    | sub-?tasks? | (?:multiple|several|separate) (?:prompts|calls) | map[- ]reduce
    | break(?:ing)? (?:it|the task|things) (?:down|up|into) | one (?:prompt|call) per
    | chain of <w>?(?:prompts|calls|steps) | first <w>{0,4}then
rag: rag | retriev\w* | retrieval[- ]augmented | vector (?:search|db|database|store|index)
    | embeddings? | semantic search | knowledge base
    | search (?:over|our|the) (?:docs|documents|wiki|kb) | pinecone | weaviate | pgvector | chroma
    | faiss | elasticsearch | opensearch | qdrant | milvus
    | ground\w* (?:it )?(?:in|on) (?:our )?(?:docs|documents|data)
bigger_model: (?:<more>) <w>?models? | upgrad\w* (?:the |our |to (?:a )?)?(?:model|gpt|claude)
    | model upgrade | switch(?:ed)? <w>{0,2}(?:models?|to gpt|to claude|from) | gpt-?4\S*
    | gpt-?5\S* | 4o | 4\.1 | o1 | o3 | o4 | opus | sonnet | gemini(?: (?:pro|ultra))?
    | claude(?: \d\S*)? | gpt-4 class | (?:3\.5|4o|4|mini) (?:->|to) (?:4o|4\.1|4|5)
    | instead of the mini | chang\w* (?:the )?model
fine_tuning: fine[- ]?tun\w* | lora | trained (?:our own|a) model
none: none(?: of (?:these|them|those))?(?: yet)? | nothing(?: yet| fancy| else)? | not yet
    | (?:haven't|have not) tried anything | just started | out of the box | off the shelf
    | zero[- ]shot | (?:just |only )?(?:the |a )?(?:<plain>) prompt(?:ing)?
    | (?:haven't|have not) done anything | nothing special
""")

KNOWLEDGE = _table(r"""
none: self[- ]contained
    | (?:all|everything) <w>{0,4}(?:in|on) the <w>{0,2}(?:<item>)s?(?: itself)?
    | (?:<item>)s? (?:itself )?(?:has|is having|contains|holds|have) (?:everything|all)
    | (?:just|only) the <w>{0,3}(?:<item>|typed)
    | no (?:external|outside|extra) <w>?(?:facts|knowledge|info\w*|data|context)
    | nothing (?:beyond|outside|else)
    | (?:doesn't|does not|don't|do not) need (?:any )?(?:outside|external|extra)
    | from the <w>?only | already in the prompt | in the input | all (?:it|we) needs?
    | (?:contains|has|holds|includes|gives) (?:everything|all)(?: (?:it|we) needs?| required)?
rarely: rarely | seldom | hardly ever | yearly | annual\w* | once a year | quarterly
    | occasionally | static | (?:<times>) (?:a|per|each) year | (?:per|a|each|every) year
    | every (?:few|couple of|\d+|two|three|six|several) months | a few times a year
    | not (?:that |very |so )?often | (?:rarely|barely|hardly) chang\w*
    | slow[- ]?(?:moving|changing) | rare | (?:every|each|per|a) (?:quarter|season)
often: often | frequent\w* | constant\w* | all the time | daily | weekly | monthly | hourly
    | real[- ]?time | every (?:<soon>) | (?:each|per|a|every) (?:day|week|sprint|release|month)
    | way more than | keeps? changing
    | (?:twice|two times|\d+ times|\d+x) (?:a|per) (?:month|week) | bi-?weekly | fast[- ]moving
    | live (?:data|prices|inventory|stock) | month or so | nightly | every (?:night|hour)
    | continuous\w* | refreshed (?:daily|nightly|weekly)
""")

STAKES = _table(r"""
low: low | little | minor | not much | nothing much | trivial | negligible | harmless | cosmetic
    | easy to (?:fix|retry|spot|undo|catch|correct) | just (?:re-?run|retry|ignore)\w*
    | ignores? (?:it|the \S+) | no big deal | not (?:a|the) big deal | not the end of the world
    | re-?run(?:s)? it | nobody (?:cares|notices)
medium: medium | moderate | mid | some (?:time|rework|hassle) | rework | annoy\w* | hassle
    | waste\w* <w>?time | (?:an|one|\d+) (?:hour|minutes?|min|handoff)s? | hours? | delay\w*
    | inconvenien\w* | misrout\w* | manual(?:ly)? (?:fix|correct)\w* | extra work | handoff
    | edits? (?:it|them) | review\w* <w>{0,3}before
    | check(?:s)? the <w>?(?:numbers|output|result)s?
high: high | money | customers? | reputation | churn | serious | costly | expensive | significant
    | refunds? | (?:financial|direct) loss
    | lose <w>{0,3}(?:money|customers|deals|chargebacks?|revenue) | trust | complaints?
    | embarrass\w* | big (?:problem|deal) | pay <w>{0,3}wrong | outages? | sla | honou?r them
critical: critical | safety | dangerous | legal (?:problem|exposure|risk|issues?|liability)
    | legal | lawsuits? | regulat\w* | complian\w* | fatal | lives? | death | catastroph\w*
    | severe | harm | injur\w* | patients? | medical | grave | exposure | fines? | regulator
    | medicat\w* | drugs? | dosage | prescriptions?
""")

CHECKS = _table(r"""
latency_critical: @latency | @fast | @speed | quick\w* | real[- ]?time | near[- ]real[- ]time
    | @response times? | snappy | interactive | milliseconds | \d+ ?ms | sub-?second
    | under (?:a|one|\d+) seconds? | \d+(?:-\d+)? seconds? max | live (?:chat|traffic|users)
    | @slow | instant\w*
cost_pressure: @costs? | @budget | @spend\w* | expensive | cheap\w* | @money | @pricing | @bills?
    | @price | under (?:pressure|scrutiny) | on a budget
regulated: regulat\w* | financ\w* | fintech | bank\w* | health\w* | medical | clinical | hipaa
    | legal | law | child safety | children | kids | insurance | gdpr | complian\w* | pharma\w*
    | government | hds | pci | sox | consumer protection
brand_voice: brand voice | @brand | @voice | @tone | on-brand | style guide | marketing-facing
human_review: human review | review\w* | human[- ]in[- ]the[- ]loop | hitl | approv\w* | verif\w*
    | validat\w* | (?:<who>)s? <w>{0,2}(?:<checks>) | checked by | signs? off on | moderators?
    | proofread\w* | before (?:the )?<w>?(?:<outgoing>)
private_cloud: private cloud | vpc
    | (?:our )?(?:own )?(?:aws|azure|gcp)(?: account| tenant| subscription)?
    | our (?:own )?cloud(?: account| tenant)? | azure openai | bedrock | vertex | certified cloud
    | tenant | data residency | (?:eu|us) region
on_prem: on[- ]?prem\w* | on premises? | (?:our )?own servers? | our servers?
    | (?:our )?(?:own )?data ?cent(?:er|re)s? | air[- ]?gapped | self[- ]hosted
    | in-house (?:servers|hardware) | own hardware | own gpus? | behind (?:our|the) firewall
edge: on[- ]device | the device | edge | offline | mobile | phones? | laptops? | embedded
    | (?:in the )?browser | iot | android | ios | on the phone | client[- ]side | raspberry
    | locally on
hosted_api: hosted api | (?:an? )?api is fine | (?:openai|anthropic|vendor|public|cloud) api
    | saas | hosted is fine
inside: (?:<mustnot>) <w>{0,3}(?:leave|go out|go outside|outside|send|use (?:an? )?<w>?api)
    | (?:must|has to|have to|needs? to) (?:stay|remain) (?:in|inside|within)
    | not (?:go|be sent) to (?:a |an )?(?:public|external|outside)
none: none(?: of (?:these|them|those|the above))? | neither
    | nothing(?: else| applies| really| super strict)? | no constraints
    | (?:don't|do not) know of any | none that i know of | not that i know of | nothing i know of
look_alike: voice (?:bot|assistant|interface|channel|app|calls?|agent|input|commands?) | by voice
""")

CLEAN = _table(r"""
yes: clean(?:ed)? | consistent | reviewed | verified | de-?dup(?:licat)?ed | deduped
    | dupes removed | duplicates (?:are )?removed | (?:high|good)[- ]quality | quality is good
    | agreed | gold(?: standard)? | curated | checked | audited | validated | solid
    | labels are good | good labels | double[- ](?:labell?ed|checked|reviewed) | controlled
    | quality[- ]controlled | qc | reliable | trustworthy | accurate | decent | reasonable
    | good quality | double[- ]screened | dual[- ](?:screened|labell?ed|reviewed) | adjudicated
    | disagreements (?:were |are )?resolved | resolved by
    | (?:double|dual|two|2)[- ](?:annotat\w*|coded|keyed|rated)
    | (?:annotated|checked|reviewed|coded) twice
    | four[- ]eyes | qa[- ]?(?:sampled|checked|reviewed|approved|'d|ed) | spot[- ]checked
    | (?:high|strong|good) (?:inter-?annotator |inter-?rater )?agreement
    | kappa (?:of |is |=|around |~|at )?0?[.,][7-9]\d*
no: messy | noisy | dirty | inconsistent | (?:low|poor|bad|mixed|varying)[- ]quality | unreviewed
    | duplicates | dupes | mixed | rough | needs? (?:cleaning|work|cleanup|review) | contradictory
    | not great | raw | all over the place
    | (?:half|lots|some|many) (?:of (?:them|it) )?(?:are|is) (?:<bad>)
    | doubt (?:that )?they (?:all )?agree | (?:don't|do not) agree
    | different (?:people|rubrics|styles|annotators|labell?ers) | (?:their|his|her) own way
    | styles? vary | vary a lot | predates | outdated | wrong
    | (?:low|poor|weak) (?:inter-?annotator |inter-?rater )?agreement
    | kappa (?:of |is |=|around |~|at )?0?[.,][0-5]\d*
""")

CLEARED = _table(r"""
yes: cleared | approved | allowed | signed off | sign-?off | ok'?d | okayed | have permission
    | permitted | redacted | anonymi[sz]ed | pseudonymi[sz]ed | masked | scrubbed | tokeni[sz]ed
    | consent(?:ed)? | opt-?in
    | given (?:the |us )?(?:consent|authori[sz]ation|permission|approval|sign-?off|green light)
    | authori[sz]\w* | provenance is (?:known|documented) | should be fine
    | our own (?:data|copy|content|text) | green light | public(?:ly available)?
    | no restrictions? | open (?:data|licen[cs]e) | we own (?:it|them|the data)
no: not cleared | pending | waiting | blocked | not allowed | under review | in review
    | needs? (?:approval|sign-?off|a look|review) | (?:haven't|have not|never|not) asked
    | in progress | still (?:in progress|pending|waiting) | (?:need|have|would have) to check
    | not (?:yet )?redacted | redaction (?:hasn't|has not|not) | contract is unclear | not yet
""")

STABLE = _table(r"""
yes: stable | won't change | will not change | (?:stays?|remain\w*) the same | same | fixed
    | settled | locked(?: down)? | frozen | finali[sz]ed | versioned | no changes (?:are )?planned
    | not changing | isn't changing | for the foreseeable | until next year | till q\d | until q\d
no: chang\w* | evolv\w* | moving(?: target)? | move | in flux | iterating | unstable | shift\w*
    | redefin\w* | rewrit\w* | migrat\w* | still (?:defining|figuring|working out|deciding)
    | not defined | nothing's defined | new (?:categories|labels|queues|tags|fields|classes)
    | adding (?:new|more)
""")

FIELD_TABLES: dict[str, Table] = {
    "task_type": TASK,
    "problems": PROBLEMS,
    "techniques_tried": TRIED,
    "knowledge_changes": KNOWLEDGE,
    "error_cost": STAKES,
}
BOOL_TABLES: dict[str, Table] = {
    "task_stable": STABLE,
    "data_cleared": CLEARED,
    "labels_clean": CLEAN,
}


@dataclass(frozen=True)
class Hit:
    value: str
    start: int
    end: int
    negated: bool
    hedged: bool
    topic: bool


@dataclass(frozen=True)
class _Compiled:
    pattern: re.Pattern[str]
    values: tuple[tuple[str, bool], ...]  # per group: (value, topic)
    whole: re.Pattern[str] | None  # phrases that count only as a whole clause
    whole_values: tuple[str, ...]


@lru_cache(maxsize=64)
def _compile(table_id: int) -> _Compiled:
    table = _BY_ID[table_id]
    items = [
        (expand(frag.lstrip("@")), value, frag.startswith("@"))
        for value, frags in table.items()
        for frag in frags
        if not frag.startswith("=")
    ]
    items.sort(key=lambda item: -len(item[0]))
    alternation = "|".join(f"(?P<p{i}>{frag})" for i, (frag, *_) in enumerate(items))
    pattern = re.compile(rf"(?<![\w'])(?:{alternation})(?![\w'])")
    wholes = [
        (expand(frag[1:]), value)
        for value, frags in table.items()
        for frag in frags
        if frag.startswith("=")
    ]
    whole = None
    if wholes:
        joined = "|".join(f"(?P<p{i}>{frag})" for i, (frag, _) in enumerate(wholes))
        whole = re.compile(rf"(?<![\w'])(?:{joined})(?![\w'])")
    return _Compiled(
        pattern,
        tuple((value, topic) for _, value, topic in items),
        whole,
        tuple(value for _, value in wholes),
    )


_BY_ID: dict[int, Table] = {}


def compiled(table: Table) -> _Compiled:
    _BY_ID.setdefault(id(table), table)
    return _compile(id(table))


@dataclass
class Scans:
    """How many passes :func:`find` made over how many characters: the evidence checks must
    stay linear, so tests count passes rather than time them."""

    passes: int = 0
    chars: int = 0


SCANS = Scans()


def find(reply: Reply, table: Table) -> list[Hit]:
    """Every phrase of ``table`` in the reply, in text order, with its polarity (one scan)."""
    SCANS.passes += 1
    SCANS.chars += len(reply.text)
    found = compiled(table)
    hits = []
    for m in found.pattern.finditer(reply.text):
        if m.end() == m.start() or m.lastgroup is None:
            continue
        value, topic = found.values[int(m.lastgroup[1:])]
        hits.append(_hit(reply, value, m, topic))
    if found.whole is not None:  # a second pass, for phrases that must be a whole clause
        SCANS.passes += 1
        taken = [(h.start, h.end) for h in hits]
        for m in found.whole.finditer(reply.text):
            if m.lastgroup is None or not _whole_clause(reply, m.start(), m.end()):
                continue
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            hits.append(_hit(reply, found.whole_values[int(m.lastgroup[1:])], m, False))
        hits.sort(key=lambda h: h.start)
    return hits


def _hit(reply: Reply, value: str, m: re.Match[str], topic: bool) -> Hit:
    start, end = m.start(), m.end()
    negated = reply.negated(start, end, topic=topic)
    return Hit(value, start, end, negated, reply.hedged(start), topic)


def _whole_clause(reply: Reply, start: int, end: int) -> bool:
    """The words at ``start:end`` are the whole of their clause (a bare "prompt" in a
    list of what was tried), fillers aside."""
    clause = reply.clause_at(start)
    rest = reply.text[clause.start : start] + " " + reply.text[end : clause.end]
    return not [w for w in rest.split() if w not in FILLERS and w not in ("a", "the", "our")]


__all__ = [
    "BOOL_TABLES",
    "CHECKS",
    "CLEAN",
    "CLEARED",
    "FIELD_TABLES",
    "KNOWLEDGE",
    "PROBLEMS",
    "SCANS",
    "STABLE",
    "STAKES",
    "TASK",
    "TRIED",
    "Hit",
    "Scans",
    "Table",
    "find",
]
