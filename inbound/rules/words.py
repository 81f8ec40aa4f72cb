"""Word lists the matcher reads replies with: greetings, closings, negations, questions. Pure.

Entries are written normalised (lower case, no accents or apostrophes) and stored squeezed
("good" → "god"), as the matcher compares words.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from inbound.rules.normalise import squeeze


def _phrases(*items: str) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(squeeze(item).split()) for item in items)


def _words(items: Iterable[str]) -> frozenset[str]:
    return frozenset(squeeze(item) for item in items)


# Said before an answer without changing it: "Hi, yes", "Good morning! Cancel please".
GREETINGS = _phrases(
    "hi",
    "hello",
    "hey",
    "hiya",
    "hi there",
    "hello there",
    "morning",
    "good morning",
    "good afternoon",
    "good evening",
    "afternoon",
    "evening",
    "dear sir",
    "dear madam",
    "dear sir or madam",
    "dear sirs",
    "to whom it may concern",
    "helo",
    "hallo",
    "bonjour",
    "hola",
    "shwmae",
    "oh",
    "um",
    "erm",
    "ah",
    "oh hi",
)

# Said around an answer without changing it: "Yes thanks", "Cancel please, thank you x".
CLOSINGS = _phrases(
    "please",
    "sorry",
    "pls",
    "plz",
    "plse",
    "thanks",
    "thank you",
    "thankyou",
    "thanku",
    "thank u",
    "thanx",
    "thnx",
    "thx",
    "tx",
    "ty",
    "ta",
    "cheers",
    "many thanks",
    "thanks very much",
    "thanks so much",
    "thanks a lot",
    "thank you very much",
    "thank you so much",
    "much appreciated",
    "appreciated",
    "kind regards",
    "regards",
    "best wishes",
    "best regards",
    "all the best",
    "bye",
    "bye bye",
    "see you then",
    "see you soon",
    "see you there",
    "see you",
    "have a nice day",
    "have a good day",
    "have a great day",
    "x",
    "xx",
    "xxx",
    "xox",
    "diolch",
    "diolch yn fawr",
    "merci",
    "gracias",
    "danke",
    "obrigado",
    "obrigada",
)

# Words that turn an answer around: "not yes", "I can't confirm", "don't cancel".
NEGATIONS = _words(
    {
        "not",
        "dont",
        "cant",
        "cannot",
        "wont",
        "never",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "doesnt",
        "didnt",
        "wouldnt",
        "couldnt",
        "shouldnt",
        "havent",
        "hasnt",
        "unable",
        "neither",
        "nor",
        "without",
        "no",
        "nt",
    }
)

# Words a question opens with: "Can I cancel", "Is it confirmed".
QUESTION_WORDS = _words(
    {
        "can",
        "could",
        "will",
        "would",
        "should",
        "shall",
        "may",
        "might",
        "is",
        "are",
        "am",
        "was",
        "were",
        "do",
        "does",
        "did",
        "have",
        "has",
        "what",
        "whats",
        "when",
        "whens",
        "where",
        "wheres",
        "why",
        "how",
        "hows",
        "who",
        "whos",
        "which",
        "whether",
    }
)

# Question marks in the scripts replies arrive in (after NFKC, which folds the full-width one).
QUESTION_MARKS = frozenset("?¿؟;")

# A longer message containing one of these is flagged as a possible opt-out for the reviewer.
OPT_OUT_WORDS = _words({"stop", "stopall", "unsubscribe", "unsub", "optout"})
OPT_OUT_PHRASES = _phrases(
    "opt out",
    "remove me",
    "remove my number",
    "take me off",
    "no more messages",
    "no more texts",
    "stop texting",
    "stop messaging",
    "dont text",
    "dont message",
)

# Common words that are never read as a typo of a keyword: "shop" is not "stop", "year" not
# "yeah", "more" not "move". A real word one letter from a keyword means something else.
COMMON_WORDS = _words(
    """
    able about above after again also area away back ball band bank base bath bear beat been
    beer before being bell belt best better bill bird blue boat body bold bone book born both
    bowl burn busy cake call calm came camp card care case cash cast cell chat chip city club
    coat code coin cold come cone cook cool cope copy core corn cost could crop cure dark data
    date dawn days dead deal dear debt deep desk diet dish does done door down draw drop drug
    duty each earn ease east easy edge else even ever evil exam exit face fact fail fair fall
    fame farm fast fate fear feel feet fell felt file fill film find fine fire firm fish five
    flat flow folk font food foot form fort four free from fuel full fund gain game gate gave
    gear gift girl give glad goal goes gold golf gone good grew grey grow hair half hall hand
    hang hard harm hate have head hear heat held hell helm here hero hide high hill hint hire
    hold hole home hope host hour huge hung hunt hurt idea into iron item jail john join joke
    jump jury just keen keep kept kick kind king knew know lack lady laid lake land lane last
    late lead leaf lean left less life lift like line link list live load loan lock long look
    lord lose loss lost love luck made mail main make male mall many mark mass meal mean meat
    meet menu mere mild mile milk mind mine miss mode mood moon more most move much must name
    near neck need news next nice nine none noon norm nose note once only onto open oven
    over pace pack page paid pain pair pale park part pass past path peak pick pile pink pipe
    plan play plot plus poem poet pole poll pool poor port pose post pour pull pure push race
    rain rank rare rate read real rear rely rent rest rice rich ride ring rise risk road rock
    role roll roof room root rope rose rule rush safe said sake sale salt same sand save seat
    seed seek seem seen self sell send sent ship shoe shop shot show shut sick side sign sing
    site size skin slip slow snow soft soil sold sole some song soon sort soul spot star stay
    step stem stew stir stop suit sure swim tail take tale talk tall tank tape task team tear
    tell tend term test text than that them then they thin this thus tide tied till time tiny
    told toll tone took tool tour town tree trip true tune turn twin type unit upon used user
    vary vast very view vote wage wait wake walk wall want warm wash wave ways weak wear week
    well went were west what when whom wide wife wild will wind wine wing wire wise wish with
    wood word wore work yard yeah year yell your zero zone
    adult agent agree ahead alarm album alive allow alone along alter among angel anger angle
    angry apart apple apply arena argue arise aside asset audio avoid award aware badly basic
    basis beach begin below bench birth black blame blank blind block blood board boost bound
    brain brand bread break brief bring broad brown build built buyer cabin cable carry catch
    cause chain chair charm chart cheap check chest chief child china chose civil claim class
    clean clear click climb clock close coach coast could count court cover crack craft crash
    cream crime cross crowd cycle daily dance death delay depth doubt dozen draft drama drawn
    dream dress drink drive eager early earth eight elite empty enemy enjoy enter entry equal
    error event every exact exist extra faith false fault field fifth fifty fight final first
    floor focus force frame fresh front fruit fully funny giant given glass grace grade grand
    grant grass great green gross group grown guard guess guest guide happy heart heavy hence
    horse hotel house human ideal image index inner input issue joint judge known label large
    laser later laugh layer learn least leave legal level light limit local logic loose lower
    lucky lunch major maker march match maybe mayor meant media metal might minor mixed model
    money month moral motor mount mouse mouth movie music needs never newly night noise north
    noted novel nurse occur ocean offer often order other ought paint panel paper party peace
    phase phone photo piece pilot pitch place plain plane plant plate point pound power press
    price pride prime print prior prize proof proud prove queen quick quiet quite radio raise
    range rapid ratio reach ready refer relax reply right rival river rough round route royal
    rural scale scene scope score sense serve seven shall shape share sharp sheet shelf shell
    shift shirt shock shoot short shown sight since sixth sixty skill sleep slide small smart
    smile smoke solid solve sorry sound south space spare speak speed spend spent split spoke
    sport staff stage stake stand start state steam steel stick still stock stone stood store
    storm story strip stuck study stuff style sugar suite super sweet table taken taste taxes
    teach teeth thank theft their theme there these thick thing think third those three threw
    throw tight timer tired title today topic total touch tough tower track trade train treat
    trend trial tried tries truck truly trust truth twice under union unity until upper upset
    urban usage usual valid value video virus visit vital voice waste watch water wheel where
    which while white whole whose woman women world worry worse worst worth would wound write
    wrong wrote young youth
    hello thanks please sorry maybe conform conformed repost resort cancer candle
    """.split()  # noqa: SIM905 - a block of words reads better than 700 quoted strings
)


# First words of anything strip_fillers may remove at the start, last words at the end.
_OPENERS = frozenset(phrase[0] for phrase in GREETINGS | CLOSINGS)
_CLOSERS = frozenset(phrase[-1] for phrase in CLOSINGS)


@functools.cache
def _first_words(phrases: frozenset[tuple[str, ...]]) -> frozenset[str]:
    return frozenset(phrase[0] for phrase in phrases)


def strip_fillers(tokens: tuple[str, ...]) -> tuple[int, int]:
    """The token range left once leading greetings and closings and trailing closings go."""
    start, end = 0, len(tokens)
    if not tokens or (tokens[0] not in _OPENERS and tokens[-1] not in _CLOSERS):
        return start, end
    changed = True
    while changed and start < end:
        changed = False
        for size in range(min(5, end - start), 0, -1):
            if (
                tokens[start : start + size] in GREETINGS
                or tokens[start : start + size] in CLOSINGS
            ):
                start += size
                changed = True
                break
    changed = True
    while changed and start < end:
        changed = False
        for size in range(min(5, end - start), 0, -1):
            if tokens[end - size : end] in CLOSINGS:
                end -= size
                changed = True
                break
    return start, end


def contains_phrase(tokens: tuple[str, ...], phrases: frozenset[tuple[str, ...]]) -> bool:
    """True when any of `phrases` appears as consecutive tokens."""
    if not _first_words(phrases).intersection(tokens):
        return False
    for phrase in phrases:
        size = len(phrase)
        first = phrase[0]
        for start, token in enumerate(tokens):
            if token == first and tokens[start : start + size] == phrase:
                return True
    return False
