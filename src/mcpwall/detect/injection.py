"""Prompt-injection and tool-poisoning detection.

Text that reaches a model can try to steer it: override its instructions, give it a new
persona, extract its system prompt, fake a conversation turn, hide instructions from the
user, or (in tool descriptions) tell it to read secrets, stuff data into parameters or
change how it uses *other* tools. This module looks for those moves as combinations of
semantic slots rather than as exact phrases:

- an imperative aimed at the model (clause-initial verb, "you must", "note to the AI")
  combined with an object that matters (instructions and rules, the system prompt,
  secrets and sensitive paths, safety checks, data sinks, other tools);
- per-language lexicons fill the same slots (verb "ignore/forget" + object "previous
  instructions"; "from now on" + "no restrictions"; "reveal" + "system prompt"...) for
  English, Spanish, French, German, Italian, Portuguese, Dutch, Polish, Turkish, Russian,
  Chinese, Japanese, Korean, Arabic and Hindi;
- each signal has a weight; signals close to each other add up, and a finding is made when
  a cluster reaches 1.0. Strong signals reach it alone, weak ones need company;
- text that *talks about* injection (security docs, quoted examples, "attackers may write
  ...") is discounted: a signal inside quotes or in a sentence with mention cues counts
  only when it is itself imperative and unquoted.

All patterns are RE2 (linear time). One Hyperscan pass over each view says which rules can
match and where a match could end (for a few rules, where a part every match contains
ends); RE2 then runs only those rules, over the whole text when it is short and in bounded
windows around the candidates when it is long, so the work stays linear in the text. Views are the normaliser's variants plus,
only when those found nothing, cheap de-obfuscations of short texts (rot13, reversed,
leetspeak, spaced-out letters, Morse).
"""

from __future__ import annotations

import bisect
import codecs
import dataclasses
import importlib
import logging
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import re2

from mcpwall.detect.normalize import Variant
from mcpwall.verdict import Finding, Severity

__all__ = ["RULES", "candidates_from_hits", "detect", "hs_expressions"]

log = logging.getLogger(__name__)
try:
    import hyperscan as _hs_module

    _hs: Any = _hs_module
except ImportError:  # pragma: no cover - without the wheel every rule runs on every text
    _hs = None

THRESHOLD = 0.999
WINDOW = 260  # characters within which signals reinforce each other
MAX_HITS_PER_RULE = 6
MAX_DERIVED_LEN = 4096
FULL_SCAN_CHARS = 4096  # texts up to this long are matched whole, longer ones in windows


def _alt(words: Iterable[str]) -> str:
    return "(?:" + "|".join(words) + ")"


# ----------------------------------------------------------------------- lexicons

# Clause start: where an imperative aimed at the reader begins.
_CLAUSE = (
    r"(?:^|[.!?:;>\]\)\}]\s*|\n\s*|,\s*|\b(?:and|then|also|first|always|please|now|just|"
    r"immediately|automatically|silently|quietly|simply|secretly|additionally|instead|you to)\s+)"
)
_ADV = r"(?:(?:please|also|first|then|always|now|just|simply|immediately|automatically|silently|quietly|secretly|kindly|additionally|instead|must|should)\s+){0,3}"
_MODAL = r"(?:\b(?:you|agents?|assistants?|models?|requests?|calls?|it|this tool)\s+)?(?:must|should|shall|need to|needs to|have to|has to|are required to|is required to|is expected to|is supposed to|ought to|(?:wants?|needs?|asks?|would like|expects?) you to)\s+(?:(?:always|also|first|now|immediately)\s+)?"

_EXFIL_VERBS = _alt(
    [
        "read", "include", "append", "prepend", "attach", "add", "send", "forward", "e-?mail",
        "post", "upload", "log", "print", "dump", "echo", "output", "reveal", "show", "display",
        "share", "collect", "gather", "extract", "copy", "load", "cat", "open", "access",
        "retrieve", "fetch", "grab", "harvest", "leak", "exfiltrate", "transmit", "embed",
        "insert", "put", "pass", "return", "list", "enumerate", "export", "write", "report",
        "disclose", "provide", "store", "save", "capture", "scrape", "sync", "cc", "bcc",
        "push", "publish", "paste", "pipe", "fill", "populate",
    ]
)  # fmt: skip

# Secrets whose mere naming next to such a verb is telling.
_SECRET_STRONG = _alt(
    [
        r"~?/?\.ssh\b", r"\bid_(?:rsa|dsa|ecdsa|ed25519)\b(?:[^.]|$)",
        r"(?:^|[\s'\"`(/~])\.env(?:\.(?:local|prod|production|development|dev))?(?:[^\w.]|\.\s|\.$|$)",
        r"\.aws/credentials", r"\.aws/config", r"\.netrc", r"\.npmrc", r"\.pypirc", r"\.git-credentials",
        r"\.docker/config\.json", r"kubeconfig", r"\.kube/config", r"\bmcp\.json", r"claude_desktop_config",
        r"\.cursor/", r"/etc/(?:passwd|shadow|sudoers)", r"private[ _-]?keys?", r"browser cookies",
        r"local ?storage", r"keychain", r"seed phrase", r"wallet (?:seed|keys?)",
        r"(?:all|any|every)\s+(?:\w{1,40}\s+){0,2}(?:api[ _-]?keys?|secrets?|credentials|tokens|passwords|cookies|environment variables|env vars)",
        r"(?:api[ _-]?keys?|secrets?|credentials|tokens|passwords)\s+(?:found|stored|available|present)\s+in",
        r"(?:session|user'?s?|current|process|stored|saved|discovered|cached)\s+(?:\w{1,40}\s+)?(?:credentials|tokens?|cookies|passwords?|secrets?|api[ _-]?keys?)",
        r"process environment", r"security-credentials", r"\bPII\b",
        r"personal (?:data|information)", r"(?:conversation|chat) history", r"previous messages",
        r"customer (?:list|data|records|emails|database)", r"credit card numbers",
        r"\*\.(?:pem|key|p12|pfx|ppk|jks|kdbx)\b", r"\.config/gh/hosts\.yml", r"\.gnupg\b", r"\.pgpass\b",
        r"\.vault-token\b", r"\.config/gcloud\b", r"\.azure/", r"\.(?:bash|zsh)_history\b",
        r"saved (?:passwords|logins)", r"password manager", r"(?:address book|contact list)",
    ]
)  # fmt: skip
_SECRET_WEAK = _alt(
    [
        r"api[ _-]?keys?", r"secrets?", r"credentials", r"tokens?", r"passwords?", r"cookies",
        r"session", r"ssh keys?", r"access keys?", r"auth(?:entication)? headers?",
    ]
)  # fmt: skip
# Where data would leave: the model's own output, the request, a parameter.
_SINK = (
    r"(?:in|into|to|inside|within|as)\s+(?:the\s+|your\s+|a\s+|an\s+|every\s+|each\s+)?"
    r"(?:[\w-]{1,40}\s+){0,2}(?:response|reply|answer|output|request|retry|headers?|metadata|body|"
    r"parameters?|arguments?|field|query string|url|payload|message|log|summary)"
)

# Objects that make an agent-directed imperative dangerous.
_RISK = _alt(
    [
        r"\bsudo\b", r"\broot (?:access|privileges|shell)", r"chmod\s+(?:-R\s+)?[0-7]?77[0-7]?", r"elevated (?:permissions|privileges)",
        r"169\.254\.169\.254", r"metadata\.google\.internal", r"\b(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::\d+)?",
        r"\b(?:file|gopher|dict|ldap)://", r"<\s*script", r"\bon(?:error|load)\s*=", r"javascript:", r"document\.cookie",
        r"\balert\(", r"union\s+select", r"\bor\s+1\s*=\s*1", r"drop\s+table", r"\.\./\.\./", r"backdoor",
        r"reverse shell", r"/bin/(?:ba)?sh\s+-c", r"shell\s*=\s*true", r"\bsubprocess\b", r"host (?:network(?:ing)?|root)",
        r"sandbox", r"\d+\s?(?:[kmg]b|bytes)\s+(?:\w+\s+){0,3}(?:string|pad|padding|buffer|payload|blob|file)",
        r"\b\d{3,}\s+times", r"until (?:it )?succe", r"\bforever\b", r"infinite(?:ly| loop)", r"tool registry",
        r"register (?:it|this|them)?\s*(?:as|under the name)", r"list_changed", r"notifications/", r"sampling/createmessage",
        r"\bx-[a-z][\w-]+(?::| header)", r"cookie:\s*\w+=", r"\bstdout\b", r"the original (?:body|command|message|request|prompt)",
        r"audit mailbox", r"@\S*(?:attacker|evil|exfil)", r"delete\s+from\s+\w+", r"truncate\s+table", r"drop\s+(?:database|schema)",
        r"\brm\s+-(?:rf|fr|r)\b", r"\b(?:curl|wget)\s[^|\n]{0,100}\|\s*(?:sudo\s+)?(?:ba|z)?sh\b", r"attacker[-.]", r"/etc/cron", r"/proc/self", r"cron\.d",
        _SECRET_STRONG,
    ]
)  # fmt: skip

_TOOL_NAME = r"[`'\"]?(?-i:[a-z][a-z0-9]*_[a-z0-9_]+|[a-z]+[A-Z][A-Za-z0-9]+)[`'\"]?"
_EXTERNAL = (
    r"(?:[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?:https?|s?ftp|scp|rsync|smb|wss?)://[^\s)\"'>]+|\bexternal(?:ly)?\b|third[- ]party|"
    r"\bpaste ?(?:bin|site)\b|\bpublic (?:gist|repo(?:sitory)?|bucket|channel|url|link)\b|\bgist\b|"
    r"\bwebhook\b|\battacker\b|outside (?:the|this) (?:organi[sz]ation|company|system))"
)
_BULK_DATA = (
    r"(?:(?:full|entire|whole|complete|all|every|raw)\s+(?:\w+\s+){0,2}(?:list|data|database|records?|"
    r"history|conversation|emails?|contents?|files?|details|logs?|messages|orders?|customers?)|"
    r"customer (?:list|data|records|emails|database)|(?:api keys?|credentials|passwords|secrets|tokens)|"
    r"order data|user data|personal data|conversation|chat history|system prompt)"
)

# Mention cues: a sentence that talks *about* injection rather than performing it.
_MENTION = re2.compile(
    r"(?i)(?:prompt[- ]injection|injection attacks?|jailbreak(?:s|ing)?\b|\battackers?(?:\s|$)|adversar|"
    r"malicious|for example|for instance|\be\.g\.|such as|(?:phrases?|strings?|patterns?|inputs?|payloads?|text|messages?)\s+(?:like|such)|"
    r"known as|so-called|\battacks?\b|\btry to\b|\bdetect|classif|red[- ]team|example of|\bwarn(?:s|ed)?\b|\bwarning(?:\s*:|\s+(?:that|about|against|signs?)\b)|beware|be careful|never trust|"
    r"\bsanitiz|\bmitigat|defen[cs]|guardrail|threat model|\bvulnerab|\bexploit|researchers?|"
    r"\bmay (?:try|attempt|contain|include)|\bcan (?:try|attempt)|\btries to\b|\battempts? to\b|"
    r"\bcommon(?:ly)?\b|\btypical(?:ly)?\b|\bsuch text\b|\bblocklist|\bdeny ?list)"
)
_QUOTES = "\"'`\u201c\u201d\u2018\u2019\u00ab\u00bb\u300c\u300d"


# ------------------------------------------------------------- multilingual slots


@dataclass(frozen=True, slots=True)
class _Lang:
    """The same semantic slots filled for one language.

    ``override`` pairs an imperative "ignore/forget/disregard" with an object "previous
    instructions/rules"; ``object_first`` says the object usually precedes the verb (SOV
    languages). ``jailbreak`` is "no restrictions/unrestricted"; ``now`` is "from now on";
    ``reveal`` + ``sysprompt`` ask for the hidden prompt; ``dont_apply`` claims the rules
    do not apply; ``conceal`` hides the action from the user; ``output`` targets the
    model's own reply; ``system_label`` is a forged system notice.
    """

    code: str
    verbs: str
    objects: str
    jailbreak: str
    now: str
    reveal: str
    sysprompt: str
    dont_apply: str
    conceal: str
    output: str
    system_label: str
    object_first: bool = False
    gap: int = 60


LANGS: tuple[_Lang, ...] = (
    _Lang(
        "en",
        verbs=r"\b(?:ignore|disregard|forget|override|bypass|discard|drop|abandon|neglect|set aside|throw out|skip|cancel|nullify|overrule|do not follow|don't follow|stop following|no longer follow)\b",
        objects=r"\b(?:instructions?|rules?|guidelines|directives?|prompts?|guardrails|programming|constraints|restrictions|(?:content |usage |safety |confidentiality |privacy |moderation |security |ethics |your |its |all )polic(?:y|ies)|safeguards|system messages?|developer messages?|orders|commands given|everything (?:above|before|prior|you were told|you've been (?:told|given)|we discussed|said)|all (?:of )?the above|the above|what you were told|what you were (?:asked|instructed|given|told) (?:to do )?(?:earlier|before|previously|at the start))\b",
        jailbreak=r"\b(?:no|without(?: any)?|free (?:of|from)|zero) (?:content |safety |ethical |moral )?(?:restrictions?|limits?|limitations|filters?|rules|censorship|guidelines|boundaries|ethics|morals|ethical guidelines|moral (?:guidelines|compass)|content polic(?:y|ies)|safety (?:rules|guidelines))\b|\b(?:freed|released|liberated|unshackled|broken free) from (?:\w+'s |your |all |any |the |its )?(?:\w+ )?(?:limitations|restrictions|rules|guidelines|constraints|programming|filters|shackles|chains|policies)\b|\b(?:unrestricted|uncensored|unfiltered|jailbroken|unbound|unlimited) (?:mode|model|assistant|ai|version|response|answers?|access)\b|\b(?:god|dan|jailbreak|unrestricted|evil) mode\b|\bdo anything now\b|\byou are (?:now )?dan\b",
        now=r"\b(?:from now on|from this point (?:on|forward)|going forward|henceforth|for the rest of (?:this|the) (?:conversation|session|task)|you are now|you're now|you now|you will now|starting now|(?:the )?(?:assistant|model|ai|chatbot) (?:now|from now on) (?:has|is|will|operates|runs|responds|answers))\b",
        reveal=r"\b(?:reveal|print|show|output|repeat|display|dump|leak|recite|disclose|expose|tell me|give me|write out|spell out|summari[sz]e|copy|paste|return|list|translate|quote|reproduce|encode|what (?:is|are|was|were) (?:written |said |contained )?(?:in )?(?:your|the)|what does)\b",
        sysprompt=r"\b(?:(?:your |the )?(?:system|initial|original|hidden|secret|internal|developer|operating|pre-?)\s?(?:prompt|instructions|message|directives|rules|configuration)|instructions you were given|(?:words|text|everything|content) (?:above|before this)|context window|your (?:confidential|private|startup|initiali[sz]ation|setup|underlying|core|governing|very first|first) (?:instructions|prompt|rules|guidelines|directives|configuration|setup|programming|text|message)|(?:initiali[sz]ation|startup|boot|setup|pre-?conversation) (?:text|prompt|instructions|message)|(?:text|everything|words|content)\b[^.!?\n]{0,30}\b(?:before|above) ['\"]?(?:user|human)|in your (?:context window|context|memory) (?:exactly|verbatim|word for word)|instructions (?:did |that |which )?(?:your (?:creators?|developers?|makers?|operators?|company|owners?)|openai|anthropic) (?:give|gave|wrote|set|provide|provided)|your (?:full |exact |complete |hidden )?(?:prompt|instructions|guidelines|rules) (?:verbatim|word for word|exactly)|(?:first|initial|opening) (?:\d+ |few )?(?:words|lines|sentences|characters|tokens|messages?) (?:you (?:were|have been) given|of (?:your|the|this) (?:context|conversation|prompt|instructions))|before (?:i|the user) (?:said|wrote|typed|asked) anything|before my first message|instructions you (?:had|received|got) (?:before|earlier|at the start|initially))\b",
        dont_apply=r"\b(?:(?:rules|guidelines|restrictions|polic(?:y|ies)|filters|limits|safety \w+) (?:do not|don't|does not|doesn't|no longer|never|won't) (?:apply|matter|exist|bind)|(?:were|are|was|is) not (?:meant|intended|designed) for (?:this|these|me|us)|exempt from (?:the |all |any |your |usual |normal )*(?:restrictions|rules|guidelines|polic(?:y|ies)|safety|filters|limits))\b",
        conceal=r"\b(?:(?:do not|don't|never|without) (?:tell|telling|mention|mentioning|inform|informing|notify|notifying|alert|alerting|reveal|revealing|show|showing|disclose|disclosing|let|letting|warn|warning) (?:this |it |anything |that )?(?:to )?(?:the |your )?(?:user|human|operator)|(?:the )?(?:user|human) (?:must|should|does|need|will) (?:not|never) (?:know|see|notice|be told|find out)|(?:keep|hide) (?:this|it|that|these instructions)? ?(?:secret|hidden|confidential|private)? ?from (?:the )?(?:user|human)|without (?:the )?(?:user'?s? )?(?:knowledge|noticing|knowing|seeing)|invisible to the user|(?:must not|mustn't|should not|shouldn't|may not|will not|won't|is not to|are not to) (?:tell|inform|notify|alert|warn|show) (?:the |your )?(?:user|human|operator)|(?:must not|mustn't|should not|shouldn't|never|do not|don't) (?:reveal|mention|disclose|admit|acknowledge) (?:that )?(?:this tool|the tool|this server|you used|you called|it was used)|(?:do not|don't|never) (?:mention|reveal|disclose) (?:these|this|that) (?:instructions?|note|step)|between (?:you and me|us)|(?:do not|don't|never|without) (?:bring(?:ing)? (?:this|it|that) up|mention(?:ing)? (?:this|it|that)|rais(?:e|ing) (?:this|it|that)) (?:with|to) (?:the )?(?:user|human))\b",
        output=r"\b(?:(?:to|in|into|at the end of|on) (?:your|every|each|all|any|all future|every future|my) (?:future )?(?:reply|replies|response|responses|answer|answers|summary|summaries|review|output|report|reports|message)|(?:every|each|all|any) (?:future )?(?:reply|replies|summary|summaries|report|response) you (?:generate|produce|write|give))\b",
        system_label=r"(?:(?i:\[(?:system|admin|developer|assistant)(?: [a-z]+)?\])|\b(?:SYSTEM|ADMIN|DEVELOPER|ROOT)(?: (?:NOTE|NOTICE|UPDATE|MESSAGE|OVERRIDE|PROMPT|INSTRUCTION|ALERT|COMMAND))?:|\bIMPORTANT(?: SYSTEM)?(?: UPDATE| NOTE| NOTICE)?:|\bIMPORTANT!{2,}|\bOVERRIDE:|\bGLOBAL RULE:|\bDEFAULT BEHAVIOU?R:|\bSILENT:|\bBREACH ALERT:|\bURGENT:|\bATTENTION:|#{2,}\s*(?:SYSTEM|ADMIN|DEVELOPER|OPERATOR)(?: [A-Z]+)?\s*#{2,})",
    ),
    _Lang(
        "es",
        verbs=r"(?:ignora|ignore|ignorad|ignoren|olvida|olvide|olvidad|olviden|descarta|descarte|omite|omita|haz caso omiso de|pasa por alto|no sigas)",
        objects=r"(?:instrucciones|reglas|directrices|indicaciones|normas|restricciones|todo lo anterior|todo lo que te (?:\w+ ){0,2}(?:dijeron|indicaron|pidieron|ordenaron|dije|dijo|han dicho|han indicado))",
        jailbreak=r"(?:sin (?:ninguna |ningún |ningun )?(?:restricciones|restricción|filtros?|límites|limites|reglas|censura)|modo (?:desarrollador|dios|sin restricciones)|sin l[ií]mites)",
        now=r"(?:a partir de ahora|desde ahora|de ahora en adelante|ahora eres|ahora estás|ahora estas)",
        reveal=r"(?:revela|revele|muestra|muestre|mu[ée]strame|dime|d[ií]game|imprime|repite|escribe|comparte|ens[ée]ñame)",
        sysprompt=r"(?:(?:prompt|mensaje|instrucciones|indicaciones) (?:del|de) sistema|instrucciones (?:iniciales|originales|ocultas)|palabra por palabra)",
        dont_apply=r"(?:(?:reglas|normas|directrices|restricciones)[^.]{0,40}no (?:aplican|se aplican|valen|cuentan)|exento de (?:las )?(?:reglas|restricciones))",
        conceal=r"(?:no (?:le )?(?:digas|menciones|informes|cuentes|avises) (?:nada |esto )?al usuario|sin (?:decirle|informar|avisar) al usuario)",
        output=r"(?:al final de (?:cualquier|cada|toda|tu) respuesta|en (?:cada|cualquier|tu) respuesta)",
        system_label=r"(?:NOTA DEL SISTEMA|AVISO DEL SISTEMA|SISTEMA:)",
    ),
    _Lang(
        "fr",
        verbs=r"\b(?:ignore|ignorez|ignorer|oublie|oubliez|ne tiens pas compte|ne tenez pas compte|fais abstraction|faites abstraction|n'applique plus|ne suis plus|ne suivez plus)\b",
        objects=r"(?:instructions|consignes|r[èe]gles|directives|indications|restrictions|tout ce qui pr[ée]c[èe]de|tout ce qu'on t'a dit)",
        jailbreak=r"(?:sans (?:aucune )?(?:restrictions?|filtres?|limites?|r[èe]gles|censure)|mode (?:d[ée]veloppeur|dieu|sans restriction))",
        now=r"(?:d[ée]sormais|dor[ée]navant|[àa] partir de maintenant|tu es maintenant|vous [êe]tes maintenant|vous [êe]tes d[ée]sormais)",
        reveal=r"(?:r[ée]v[èe]le|r[ée]v[ée]lez|montre|montrez|affiche|affichez|r[ée]p[èe]te|r[ée]p[ée]tez|donne-moi|dis-moi|divulgue|[ée]cris)",
        sysprompt=r"(?:(?:prompt|invite|instructions|message|consignes)(?: du| de)? syst[èe]me|instructions (?:initiales|cach[ée]es)|mot pour mot)",
        dont_apply=r"(?:(?:r[èe]gles|consignes|restrictions)[^.]{0,40}ne s'appliquent (?:pas|plus)|exempt[ée]? des? (?:r[èe]gles|restrictions))",
        conceal=r"(?:ne (?:le )?(?:dis|dites) (?:rien|pas) [àa] l'utilisateur|sans (?:le dire|pr[ée]venir|informer) (?:[àa] )?l'utilisateur|n'en parle pas [àa] l'utilisateur)",
        output=r"(?:[àa] la fin de (?:toute|chaque|ta|votre) r[ée]ponse|dans (?:chaque|toute|ta|votre) r[ée]ponse)",
        system_label=r"(?:NOTE SYST[ÈE]ME|Note syst[èe]me\s?:|AVIS SYST[ÈE]ME|SYST[ÈE]ME\s?:)",
    ),
    _Lang(
        "de",
        verbs=r"(?:ignoriere|ignorieren sie|ignoriert|vergiss|vergessen sie|verwirf|missachte|missachten sie|übergehe|befolge nicht mehr|setze [^.]{0,20} außer kraft)",
        objects=r"(?:anweisungen|anweisung|regeln|richtlinien|vorgaben|instruktionen|befehle|einschränkungen|systemanweisungen|alles (?:vorherige|bisherige|oben))",
        jailbreak=r"(?:ohne (?:jegliche |irgendwelche )?(?:einschränkungen|regeln|filter|grenzen|zensur|beschränkungen)|uneingeschränkt|keine (?:regeln|einschränkungen|richtlinien|filter|grenzen)(?: mehr)?|entwicklermodus)",
        now=r"(?:ab (?:jetzt|sofort)|von nun an|du bist (?:jetzt|nun)|ab heute)",
        reveal=r"(?:verrate|zeige|zeig|gib [^.]{0,30} aus|wiederhole|nenne|offenbare|enthülle|schreibe|teile)",
        sysprompt=r"(?:system-?(?:prompt|anweisungen|nachricht|vorgaben)|systemanweisung|ursprünglichen anweisungen|wortwörtlich|wort für wort)",
        dont_apply=r"(?:(?:regeln|richtlinien|einschränkungen|sicherheitsrichtlinien)[^.]{0,50}(?:nicht|nicht mehr) gelten|(?:gelten|greifen) (?:hier )?nicht)",
        conceal=r"(?:(?:sag|sage|erzähl|verrate) (?:es |das )?(?:dem )?(?:benutzer|nutzer|anwender)(?:in)? nicht|ohne (?:den|dem) (?:benutzer|nutzer) (?:zu informieren|bescheid)|erwähne (?:das|dies|es)(?: \w+){0,3} nicht|(?:nicht|niemals) gegenüber dem (?:benutzer|nutzer|anwender))",
        output=r"(?:am ende (?:jeder|deiner|ihrer) antwort|in (?:jeder|deiner|ihrer) antwort)",
        system_label=r"(?:SYSTEMHINWEIS|SYSTEMNACHRICHT|SYSTEM-HINWEIS)",
    ),
    _Lang(
        "it",
        verbs=r"(?:ignora|ignorate|ignori|dimentica|dimenticate|dimentichi|trascura|non tenere conto|non seguire pi[uù])",
        objects=r"(?:istruzioni|regole|direttive|linee guida|indicazioni|restrizioni|tutto quanto sopra)",
        jailbreak=r"(?:senza (?:alcuna )?(?:restrizioni|filtri|limiti|regole|censura)|modalit[àa] sviluppatore)",
        now=r"(?:d'ora in poi|da ora in poi|da adesso|ora sei|adesso sei)",
        reveal=r"(?:rivela|rivelami|mostra|mostrami|dimmi|ripeti|stampa|scrivi|condividi)",
        sysprompt=r"(?:(?:prompt|istruzioni|messaggio) di sistema|istruzioni (?:iniziali|nascoste)|parola per parola)",
        dont_apply=r"(?:(?:regole|linee guida|restrizioni)[^.]{0,50}non (?:valgono|si applicano|contano))",
        conceal=r"(?:non dire (?:nulla |niente )?all'utente|senza (?:dirlo|informare) (?:a )?l'utente)",
        output=r"(?:alla fine di (?:ogni|ciascuna|qualsiasi) risposta|in ogni risposta)",
        system_label=r"(?:NOTA DI SISTEMA|AVVISO DI SISTEMA)",
    ),
    _Lang(
        "pt",
        verbs=r"(?:ignore|ignora|esque[çc]a|esque[çc]am|desconsidere|despreze|n[ãa]o siga mais)",
        objects=r"(?:instru[çc][õo]es|regras|diretrizes|orienta[çc][õo]es|restri[çc][õo]es|tudo acima)",
        jailbreak=r"(?:sem (?:nenhuma )?(?:restri[çc][õo]es|filtros?|limites|regras|censura)|modo desenvolvedor)",
        now=r"(?:a partir de agora|de agora em diante|agora voc[êe] [ée])",
        reveal=r"(?:revele|revela|mostre|mostra|diga|repita|imprima|escreva)",
        sysprompt=r"(?:(?:prompt|instru[çc][õo]es|mensagem) do sistema|palavra por palavra)",
        dont_apply=r"(?:(?:regras|diretrizes|restri[çc][õo]es)[^.]{0,50}n[ãa]o (?:se aplicam|valem))",
        conceal=r"(?:n[ãa]o (?:diga|conte|mencione|informe) (?:nada )?ao usu[áa]rio)",
        output=r"(?:ao final de (?:cada|qualquer|toda) resposta|em cada resposta)",
        system_label=r"(?:NOTA DO SISTEMA|AVISO DO SISTEMA)",
    ),
    _Lang(
        "nl",
        verbs=r"(?:negeer|vergeet|ignoreer|volg niet langer)",
        objects=r"(?:instructies|richtlijnen|aanwijzingen|beperkingen)",
        jailbreak=r"(?:zonder (?:enige )?(?:beperkingen|filters|regels|censuur|grenzen)|ontwikkelaarsmodus)",
        now=r"(?:vanaf nu|je bent nu|u bent nu)",
        reveal=r"(?:onthul|toon|laat [^.]{0,20} zien|herhaal|geef|print)",
        sysprompt=r"(?:systeemprompt|systeeminstructies|systeembericht|woord voor woord)",
        dont_apply=r"(?:(?:regels|richtlijnen)[^.]{0,40}(?:niet|niet meer) van toepassing)",
        conceal=r"(?:vertel (?:het |dit )?(?:de |aan de )?gebruiker niet(?:s)?)",
        output=r"(?:aan het einde van (?:elk|ieder) antwoord)",
        system_label=r"(?:SYSTEEMMELDING|SYSTEEMBERICHT)",
    ),
    _Lang(
        "pl",
        verbs=r"(?:zignoruj|ignoruj|zapomnij|pomiń|nie stosuj się do)",
        objects=r"(?:instrukcj\w*|polece\w*|zasad\w*|regu\w*|wytycz\w*|ogranicze\w*)",
        jailbreak=r"(?:bez (?:żadnych )?(?:ograniczeń|filtrów|zasad|cenzury)|tryb (?:dewelopera|programisty))",
        now=r"(?:od teraz|od tej chwili|teraz jesteś)",
        reveal=r"(?:ujawnij|pokaż|wypisz|powtórz|podaj|wyświetl)",
        sysprompt=r"(?:prompt systemowy|instrukcj\w* systemow\w*|komunikat systemowy|słowo w słowo)",
        dont_apply=r"(?:(?:zasady|reguły)[^.]{0,40}nie obowiązują)",
        conceal=r"(?:nie (?:mów|informuj) (?:o tym )?użytkownika|nie mów użytkownikowi)",
        output=r"(?:na końcu (?:każdej|twojej) odpowiedzi)",
        system_label=r"(?:KOMUNIKAT SYSTEMOWY|UWAGA SYSTEMOWA)",
    ),
    _Lang(
        "tr",
        verbs=r"(?:yok say|görmezden gel|unut|dikkate alma|uyma)",
        objects=r"(?:talimat\w*|kural\w*|yönerge\w*|kısıtlama\w*|komut\w*)",
        jailbreak=r"(?:kısıtlama(?:sız|lar olmadan)|sınırsız|filtresiz|kuralsız|geliştirici modu)",
        now=r"(?:bundan sonra|artık sen|şu andan itibaren)",
        reveal=r"(?:göster|açıkla|yaz|tekrarla|söyle|ifşa et)",
        sysprompt=r"(?:sistem (?:istemi\w*|komutu\w*|talimat\w*|mesaj\w*)|kelimesi kelimesine)",
        dont_apply=r"(?:kurallar[^.]{0,40}geçerli değil)",
        conceal=r"(?:kullanıcıya (?:söyleme|bahsetme|bildirme))",
        output=r"(?:her yanıtın sonuna|yanıtının sonuna)",
        system_label=r"(?:SİSTEM NOTU|SİSTEM MESAJI)",
        object_first=True,
    ),
    _Lang(
        "ru",
        verbs=r"(?:игнорируй|игнорируйте|проигнорируй|проигнорируйте|забудь|забудьте|не обращай внимания на|отбрось|пренебреги|не следуй)",
        objects=r"(?:инструкци\w*|правил\w*|указани\w*|директив\w*|ограничени\w*|установк\w*|всё сказанное|все предыдущее)",
        jailbreak=r"(?:без (?:каких-либо |всяких |любых )?(?:ограничений|фильтров|правил|цензуры)|нет (?:никаких )?(?:ограничений|правил)|режим разработчика)",
        now=r"(?:с этого момента|отныне|теперь ты|начиная с этого момента)",
        reveal=r"(?:покажи|покажите|раскрой|выведи|повтори|расскажи|напиши|сообщи|распечатай)",
        sysprompt=r"(?:системн\w* (?:промпт\w*|подсказк\w*|инструкци\w*|сообщени\w*)|исходн\w* инструкци\w*|дословно|слово в слово)",
        dont_apply=r"(?:(?:правила|ограничения)[^.]{0,40}не (?:действуют|применяются|распространяются))",
        conceal=r"(?:не (?:говори|сообщай|рассказывай|упоминай) (?:об этом )?пользовател\w*|пользовател\S{0,3} (?:об этом |ничего )?не (?:говори|сообщай|рассказывай|упоминай))",
        output=r"(?:в конце (?:каждого|любого|твоего) ответа|в каждом ответе)",
        system_label=r"(?:СИСТЕМНОЕ (?:СООБЩЕНИЕ|УВЕДОМЛЕНИЕ)|СИСТЕМА:)",
    ),
    _Lang(
        "zh",
        verbs=r"(?:忽略|忽视|无视|不要理会|别管|忘记|忘掉|抛弃|放弃|跳过|不再遵守|不要遵守)",
        objects=r"(?:指令|指示|规则|说明|提示词|限制|要求|设定|约束|规定)",
        jailbreak=r"(?:没有(?:任何)?限制|不受(?:任何)?(?:限制|约束)|无限制|无任何限制|开发者模式|越狱模式|不受审查)",
        now=r"(?:从现在开始|从现在起|现在你是|今后你)",
        reveal=r"(?:显示|告诉我|输出|泄露|透露|重复|打印|展示|给我看|列出)",
        sysprompt=r"(?:系统提示词?|系统指令|系统消息|初始指令|原始指令|隐藏指令|逐字)",
        dont_apply=r"(?:规则[^。]{0,20}(?:不适用|不再适用))",
        conceal=r"(?:不要告诉用户|不要让用户知道|对用户保密|别告诉用户)",
        output=r"(?:在(?:每个|每次|你的)(?:回复|回答)(?:的)?(?:末尾|结尾|中))",
        system_label=r"(?:系统通知|系统消息[:：]|系统提示[:：])",
        gap=16,
    ),
    _Lang(
        "ja",
        verbs=r"(?:無視|忘れ|従わな|破棄)",
        objects=r"(?:指示|命令|ルール|規則|制約|設定|プロンプト|ガイドライン)",
        jailbreak=r"(?:制限(?:なし|のない|なく|を解除|を無視)|制約のない|開発者モード|脱獄モード|フィルターなし)",
        now=r"(?:今から|これから(?:は)?あなたは|今後は|以降は)",
        reveal=r"(?:表示|教え|見せ|出力|繰り返|明かし|開示)",
        sysprompt=r"(?:システムプロンプト|システム指示|システムメッセージ|初期指示|元の指示|一字一句)",
        dont_apply=r"(?:ルール[^。]{0,20}(?:適用されない|関係ない))",
        conceal=r"(?:ユーザーに(?:は)?(?:言わ|伝え|知らせ|教え)ない)",
        output=r"(?:(?:すべての|各|あなたの)(?:回答|返答|応答)の(?:最後|末尾))",
        system_label=r"(?:システム通知|システムメッセージ[:：])",
        object_first=True,
        gap=16,
    ),
    _Lang(
        "ko",
        verbs=r"(?:무시|잊어|잊으|따르지 마|따르지 말)",
        objects=r"(?:지시|지침|명령|규칙|제한|프롬프트|설정)",
        jailbreak=r"(?:제한 없이|제한이 없는|제약 없이|제한 없는|개발자 모드|탈옥 모드|필터 없이)",
        now=r"(?:지금부터|이제부터|앞으로 너는)",
        reveal=r"(?:보여|알려|출력|공개|반복|말해)",
        sysprompt=r"(?:시스템 프롬프트|시스템 지침|시스템 메시지|초기 지시|원래 지시|그대로)",
        dont_apply=r"(?:규칙[^.]{0,20}(?:적용되지 않|해당되지 않))",
        conceal=r"(?:사용자에게(?:는)? (?:말하지|알리지|알려주지) ?(?:마|말|않))",
        output=r"(?:모든 (?:답변|응답)의 (?:끝|마지막))",
        system_label=r"(?:시스템 알림|시스템 메시지[:：])",
        object_first=True,
        gap=24,
    ),
    _Lang(
        "ar",
        verbs=r"(?:تجاهل|تجاهلي|انس|إنس|انسى|أهمل|اهمل|تخط|لا تتبع)",
        objects=r"(?:التعليمات|الإرشادات|القواعد|الأوامر|التوجيهات|القيود|تعليمات)",
        jailbreak=r"(?:(?:بدون|دون) (?:أي )?(?:قيود|حدود|فلاتر|قواعد|رقابة)|وضع المطور)",
        now=r"(?:من الآن فصاعد|من الآن|أنت الآن)",
        reveal=r"(?:اكشف|أظهر|اظهر|اعرض|أخبرني|اطبع|كرر|أعطني)",
        sysprompt=r"(?:(?:موجه|تعليمات|رسالة|أوامر) النظام|التعليمات الأصلية|حرفيا)",
        dont_apply=r"(?:القواعد[^.]{0,40}لا تنطبق)",
        conceal=r"(?:لا تخبر المستخدم|دون (?:إخبار|علم) المستخدم)",
        output=r"(?:في نهاية كل (?:رد|إجابة))",
        system_label=r"(?:إشعار النظام|رسالة النظام:)",
    ),
    _Lang(
        "hi",
        verbs=r"(?:अनदेखा|नज़रअंदाज़|नजरअंदाज|भूल जाओ|भूल जाइए|भूल जाएं|भूल जाओ|मत मानो)",
        objects=r"(?:निर्देश\w*|नियम\w*|दिशानिर्देश\w*|आदेश\w*|प्रतिबंध\w*)",
        jailbreak=r"(?:बिना (?:किसी )?(?:प्रतिबंध|रोक|सीमा|नियम|फ़िल्टर)|कोई (?:प्रतिबंध|नियम|सीमा) नहीं|डेवलपर मोड)",
        now=r"(?:अब से|आज से|अभी से तुम)",
        reveal=r"(?:दिखाओ|दिखाएं|दिखाइए|बताओ|बताएं|बताइए|प्रकट|दोहराओ|लिखो)",
        sysprompt=r"(?:सिस्टम (?:प्रॉम्प्ट|प्रोम्प्ट|निर्देश|संदेश)|मूल निर्देश|शब्दशः)",
        dont_apply=r"(?:नियम[^.]{0,40}लागू नहीं)",
        conceal=r"(?:उपयोगकर्ता को (?:मत|न) (?:बताएं|बताओ|बताना))",
        output=r"(?:हर (?:जवाब|उत्तर) के अंत में)",
        system_label=r"(?:सिस्टम सूचना|सिस्टम संदेश:)",
        object_first=True,
    ),
    _Lang(
        "uk",
        verbs=r"(?:ігноруй|ігноруйте|проігноруй|проігноруйте|забудь|забудьте|не зважай на|не звертай уваги на|відкинь|не дотримуйся)",
        objects=r"(?:інструкці\w*|правил\w*|вказівк\w*|настанов\w*|обмежен\w*|директив\w*|все сказане)",
        jailbreak=r"(?:без (?:жодних |будь-яких )?(?:обмежень|фільтрів|правил|цензури)|режим розробника)",
        now=r"(?:з цього моменту|відтепер|тепер ти|віднині)",
        reveal=r"(?:покажи|покажіть|розкрий|виведи|повтори|розкажи|напиши|надрукуй)",
        sysprompt=r"(?:системн\w* (?:промпт\w*|підказк\w*|інструкці\w*|повідомлен\w*)|дослівно|слово в слово)",
        dont_apply=r"(?:(?:правила|обмеження)[^.]{0,40}не (?:діють|застосовуються))",
        conceal=r"(?:не (?:кажи|повідомляй|розповідай|згадуй) (?:про це )?користувач\w*)",
        output=r"(?:в кінці (?:кожної|будь-якої) відповіді|у кожній відповіді)",
        system_label=r"(?:СИСТЕМНЕ (?:ПОВІДОМЛЕННЯ|СПОВІЩЕННЯ))",
    ),
    _Lang(
        "id",
        verbs=r"\b(?:abaikan|abaikanlah|lupakan|lupakanlah|jangan ikuti|jangan hiraukan|hiraukan|tinggalkan)\b",
        objects=r"\b(?:instruksi|arahan|perintah|aturan|peraturan|petunjuk|batasan|pedoman)\b",
        jailbreak=r"\b(?:tanpa (?:ada )?(?:batasan|filter|sensor|aturan|had)|mode pengembang)\b",
        now=r"\b(?:mulai sekarang|dari sekarang|sekarang kamu adalah|sekarang anda adalah)\b",
        reveal=r"\b(?:tampilkan|tunjukkan|perlihatkan|ungkapkan|beritahu|sebutkan|ulangi|cetak|tuliskan|berikan)\b",
        sysprompt=r"\b(?:prompt sistem|instruksi sistem|pesan sistem|arahan sistem|gesaan sistem|kata demi kata)\b",
        dont_apply=r"\b(?:(?:aturan|peraturan|batasan)[^.]{0,40}tidak (?:lagi )?berlaku)\b",
        conceal=r"\b(?:jangan (?:beritahu|memberitahu|katakan|bilang|kasih tahu)[^.]{0,12}pengguna|tanpa sepengetahuan pengguna)\b",
        output=r"\b(?:di akhir (?:setiap|tiap) (?:jawaban|balasan|respons))\b",
        system_label=r"(?:PESAN SISTEM|CATATAN SISTEM)",
    ),
    _Lang(
        "cs",
        verbs=r"(?:ignoruj|ignorujte|zapomeň|zapomeňte|nedbej|neřiď se|zabudni|zabudnite|nedodržuj)",
        objects=r"(?:pokyn\w*|instrukc\w*|pravidl\w*|příkaz\w*|omezen\w*|zásad\w*|príkaz\w*|obmedzen\w*)",
        jailbreak=r"(?:bez (?:jakýchkoli |akýchkoľvek )?(?:omezení|obmedzení|filtrů|filtrov|pravidel|pravidiel|cenzury)|vývojářský režim)",
        now=r"(?:od teď|od této chvíle|odteraz|teď jsi|teraz si)",
        reveal=r"(?:ukaž|ukážte|ukáž|zobraz|vypiš|prozraď|prezraď|zopakuj|napiš|napíš|řekni|povedz)",
        sysprompt=r"(?:systémov\w* (?:prompt\w*|pokyn\w*|instrukc\w*|zpráv\w*|správ\w*)|doslova|slovo od slova)",
        dont_apply=r"(?:(?:pravidla|pravidlá)[^.]{0,40}(?:neplatí|se nevztahují))",
        conceal=r"(?:(?:neříkej|nehovor|neprozrazuj) (?:to )?(?:uživatel\w*|používateľ\w*))",
        output=r"(?:na konci (?:každé odpovědi|každej odpovede))",
        system_label=r"(?:SYSTÉMOVÁ ZPRÁVA|SYSTÉMOVÁ SPRÁVA)",
    ),
    _Lang(
        "he",
        verbs=r"(?:התעלם|התעלמי|תתעלם|שכח|שכחי|תשכח|אל תציית|אל תקשיב)",
        objects=r"(?:הוראות|ההוראות|הנחיות|ההנחיות|כללים|הכללים|חוקים|החוקים|מגבלות|המגבלות|פקודות)",
        jailbreak=r"(?:(?:בלי|ללא) (?:שום )?(?:הגבלות|מגבלות|פילטרים|סינון|חוקים|צנזורה)|מצב מפתח)",
        now=r"(?:מעכשיו|מרגע זה|מעתה|אתה עכשיו)",
        reveal=r"(?:הצג|תציג|הראה|תראה|גלה|תגלה|חשוף|הדפס|חזור על|כתוב|ספר לי)",
        sysprompt=r"(?:(?:הנחיות|הוראות|הודעת|פרומפט) (?:ה)?מערכת|מילה במילה)",
        dont_apply=r"(?:(?:הכללים|החוקים|ההגבלות)[^.]{0,40}לא (?:חלים|תקפים))",
        conceal=r"(?:אל (?:תספר|תגיד|תגלה|תזכיר)[^.]{0,10}משתמש)",
        output=r"(?:בסוף כל (?:תשובה|תגובה))",
        system_label=r"(?:הודעת מערכת)",
    ),
    _Lang(
        "vi",
        verbs=r"(?:bỏ qua|phớt lờ|lờ đi|quên đi|quên hết|đừng tuân theo|không tuân theo|bỏ mặc)",
        objects=r"(?:hướng dẫn|chỉ dẫn|chỉ thị|quy tắc|mệnh lệnh|giới hạn|hạn chế|quy định)",
        jailbreak=r"(?:không (?:có )?(?:giới hạn|hạn chế|bộ lọc|kiểm duyệt|quy tắc) nào|chế độ nhà phát triển)",
        now=r"(?:từ bây giờ|kể từ bây giờ|bây giờ bạn là|từ giờ trở đi)",
        reveal=r"(?:hiển thị|cho tôi xem|cho xem|tiết lộ|in ra|lặp lại|nói cho tôi|cho tôi biết|viết ra)",
        sysprompt=r"(?:(?:lời nhắc|lệnh|hướng dẫn|thông điệp|prompt) (?:của )?hệ thống|từng chữ|nguyên văn)",
        dont_apply=r"(?:quy tắc[^.]{0,40}không (?:còn )?áp dụng)",
        conceal=r"(?:(?:đừng|không được) (?:nói|báo|tiết lộ)[^.]{0,10}người dùng)",
        output=r"(?:cuối mỗi (?:câu trả lời|phản hồi))",
        system_label=r"(?:THÔNG BÁO HỆ THỐNG|TIN NHẮN HỆ THỐNG)",
    ),
    _Lang(
        "sv",
        verbs=r"\b(?:ignorera|ignorer|glöm|glem|bortse från|se bort fra|strunta i|följ inte|følg ikke)\b",
        objects=r"\b(?:instruktion\w*|instruks\w*|regler|reglerna|reglene|reglerne|riktlinje\w*|retningslinje\w*|direktiv\w*|begränsning\w*|begrensning\w*|begrænsning\w*|anvisning\w*)",
        jailbreak=r"\b(?:utan (?:några )?(?:begränsningar|filter|regler|censur)|uten (?:noen )?(?:begrensninger|filtre|regler)|uden (?:nogen )?(?:begrænsninger|filtre|regler)|utvecklarläge|utviklermodus|udviklertilstand)\b",
        now=r"\b(?:från och med nu|fra nå av|fra nu af|nu är du|nå er du|nu er du)\b",
        reveal=r"\b(?:visa|vis|avslöja|avslør|afslør|skriv ut|gjenta|gentag|upprepa|berätta|fortell|fortæl)\b",
        sysprompt=r"\b(?:systemprompt\w*|systeminstruktion\w*|systeminstruks\w*|systemmeddelande\w*|systemmelding\w*|ord för ord|ord for ord)",
        dont_apply=r"\b(?:regl\w*[^.]{0,40}(?:gäller inte|gjelder ikke|gælder ikke))",
        conceal=r"\b(?:(?:berätta|säg|fortell|si|fortæl|sig) (?:inte|ikke) (?:detta |dette |det )?(?:till |til )?(?:användaren|brukeren|brugeren))",
        output=r"\b(?:i slutet av varje svar|på slutten av hvert svar|i slutningen af hvert svar)",
        system_label=r"(?:SYSTEMMEDDELANDE|SYSTEMMELDING|SYSTEMBESKED)",
    ),
    _Lang(
        "el",
        verbs=r"(?:αγνόησε|αγνοήστε|ξέχνα|ξεχάστε|μην ακολουθείς|παράβλεψε|παραβλέψτε)",
        objects=r"(?:οδηγίες|οδηγιών|κανόνες|κανόνων|εντολές|περιορισμούς|περιορισμών|κατευθυντήριες)",
        jailbreak=r"(?:χωρίς (?:κανέναν |κανένα )?(?:περιορισμ\w*|φίλτρ\w*|κανόν\w*|λογοκρισία)|λειτουργία προγραμματιστή)",
        now=r"(?:από τώρα και (?:στο εξής|πέρα)|από εδώ και πέρα|τώρα είσαι)",
        reveal=r"(?:δείξε|δείξτε|αποκάλυψε|εμφάνισε|τύπωσε|επανάλαβε|πες μου|γράψε)",
        sysprompt=r"(?:(?:οδηγίες|οδηγιών|μήνυμα|προτροπή|εντολές) (?:του )?συστήματος|λέξη προς λέξη|αυτολεξεί)",
        dont_apply=r"(?:κανόνες[^.]{0,40}δεν ισχύουν)",
        conceal=r"(?:μην (?:πεις|πείτε|αναφέρεις|ενημερώσεις)[^.]{0,15}χρήστη)",
        output=r"(?:στο τέλος κάθε απάντησης)",
        system_label=r"(?:ΜΗΝΥΜΑ ΣΥΣΤΗΜΑΤΟΣ|ΕΙΔΟΠΟΙΗΣΗ ΣΥΣΤΗΜΑΤΟΣ)",
    ),
    _Lang(
        "fa",
        verbs=r"(?:نادیده بگیر|نادیده بگیرید|فراموش کن|فراموش کنید|پیروی نکن|توجه نکن)",
        objects=r"(?:دستورالعمل|دستورات|قوانین|قواعد|محدودیت|رهنمود)",
        jailbreak=r"(?:بدون (?:هیچ )?(?:محدودیت|فیلتر|سانسور|قانون)|حالت توسعه)",
        now=r"(?:از این به بعد|از حالا به بعد|تو اکنون|از الان به بعد)",
        reveal=r"(?:نشان بده|نشان دهید|فاش کن|بگو|چاپ کن|تکرار کن|بنویس)",
        sysprompt=r"(?:(?:پرامپت|دستورالعمل|پیام|دستورات)[\s\x{200c}](?:های[\s\x{200c}])?سیستم|کلمه به کلمه)",
        dont_apply=r"(?:قوانین[^.]{0,40}(?:اعمال نمی|صدق نمی))",
        conceal=r"(?:به کاربر (?:نگو|چیزی نگو|اطلاع نده))",
        output=r"(?:در پایان هر (?:پاسخ|جواب))",
        system_label=r"(?:پیام سیستم|اطلاعیه سیستم)",
        object_first=True,
    ),
    _Lang(
        "ro",
        verbs=r"(?:ignoră|ignorați|ignorati|uită|uitați|nu mai urma|nu respecta|nu ține cont de)",
        objects=r"(?:instrucțiuni\w*|instrucţiuni\w*|instructiuni\w*|reguli\w*|indicații\w*|directive\w*|restricți\w*|comenzi\w*)",
        jailbreak=r"(?:fără (?:nicio |niciun )?(?:restricți\w*|filtr\w*|reguli|limit\w*|cenzură)|modul dezvoltator)",
        now=r"(?:de acum înainte|din acest moment|acum ești)",
        reveal=r"(?:arată-mi|arată|dezvăluie|afișează|repetă|spune-mi|scrie|tipărește)",
        sysprompt=r"(?:(?:promptul|instrucțiunile|mesajul) (?:de )?sistem\w*|cuvânt cu cuvânt)",
        dont_apply=r"(?:reguli\w*[^.]{0,40}nu (?:se mai )?aplică)",
        conceal=r"(?:nu (?:spune|menționa)[^.]{0,15}utilizator\w*)",
        output=r"(?:la sfârșitul fiecărui răspuns)",
        system_label=r"(?:MESAJ DE SISTEM|NOTĂ DE SISTEM)",
    ),
    _Lang(
        "hu",
        verbs=r"(?:hagyd figyelmen kívül|hagyja figyelmen kívül|felejtsd el|felejtse el|ne kövesd|ne vedd figyelembe|ignoráld)",
        objects=r"(?:utasítás\w*|szabály\w*|irányelv\w*|korlátozás\w*|parancs\w*)",
        jailbreak=r"(?:korlátozások nélkül|szűrők nélkül|szabályok nélkül|cenzúra nélkül|fejlesztői mód)",
        now=r"(?:mostantól|ettől kezdve)",
        reveal=r"(?:mutasd meg|mutasd|fedd fel|írd ki|ismételd meg|add meg|mondd el)",
        sysprompt=r"(?:rendszer ?prompt\w*|rendszerutasítás\w*|rendszerüzenet\w*|szóról szóra|szó szerint)",
        dont_apply=r"(?:szabályok[^.]{0,40}nem (?:érvényesek|vonatkoznak))",
        conceal=r"(?:ne (?:mondd|szólj|áruld)[^.]{0,15}felhasználó\w*)",
        output=r"(?:minden válasz végén)",
        system_label=r"(?:RENDSZERÜZENET|RENDSZERÉRTESÍTÉS)",
    ),
    _Lang(
        "fi",
        verbs=r"(?:unohda|ohita|jätä huomiotta|älä noudata|sivuuta|älä välitä)",
        objects=r"(?:ohje\w*|sääntö\w*|säännö\w*|rajoitu\w*|käsky\w*|kehote\w*|määräy\w*)",
        jailbreak=r"(?:ilman (?:mitään |minkäänlaisia )?(?:rajoituksia|suodattimia|sääntöjä|sensuuria)|kehittäjätila)",
        now=r"(?:tästä lähtien|nyt olet|vastedes|tästä eteenpäin)",
        reveal=r"(?:näytä|paljasta|kerro|tulosta|toista|kirjoita)",
        sysprompt=r"(?:järjestelmäkehote\w*|järjestelmän ohje\w*|järjestelmäviesti\w*|järjestelmäohje\w*|sanasta sanaan)",
        dont_apply=r"(?:säännöt[^.]{0,40}eivät (?:enää )?(?:päde|koske))",
        conceal=r"(?:älä kerro (?:tästä |siitä )?käyttäjälle|kertomatta käyttäjälle)",
        output=r"(?:jokaisen vastauksen (?:loppuun|lopussa))",
        system_label=r"(?:JÄRJESTELMÄVIESTI|JÄRJESTELMÄILMOITUS)",
    ),
    _Lang(
        "sw",
        verbs=r"\b(?:puuza|usijali|sahau|acha kufuata|usifuate|achana na)\b",
        objects=r"\b(?:maagizo|maelekezo|sheria|kanuni|vikwazo|amri|miongozo)\b",
        jailbreak=r"\b(?:bila (?:vikwazo|vizuizi|sheria|mipaka|udhibiti|kichujio)|hali ya msanidi)\b",
        now=r"\b(?:kuanzia sasa|kuanzia leo|sasa wewe ni|tangu sasa)\b",
        reveal=r"\b(?:nionyeshe|onyesha|fichua|niambie|rudia|andika|toa)\b",
        sysprompt=r"(?:(?:maagizo|ujumbe|maelekezo|kidokezo) (?:yako |wako |chako )?(?:ya |wa |cha )?mfumo|neno kwa neno)",
        dont_apply=r"(?:sheria[^.]{0,40}hazitumiki)",
        conceal=r"(?:usimwambie mtumiaji|bila kumwambia mtumiaji|usimjulishe mtumiaji)",
        output=r"(?:mwishoni mwa kila jibu)",
        system_label=r"(?:UJUMBE WA MFUMO|TANGAZO LA MFUMO)",
    ),
    _Lang(
        "tl",
        verbs=r"\b(?:kalimutan|huwag pansinin|wag pansinin|balewalain|huwag sundin|wag sundin|ipagwalang-bahala|isantabi)\b",
        objects=r"\b(?:tagubilin|panuto|utos|patakaran|alituntunin|limitasyon|instruksyon|direktiba)\b",
        jailbreak=r"\b(?:walang (?:anumang |kahit anong )?(?:limitasyon|patakaran|filter|paghihigpit|sensura))\b",
        now=r"\b(?:mula ngayon|simula ngayon|ngayon ikaw ay|ikaw na ngayon)\b",
        reveal=r"\b(?:ipakita|ibunyag|sabihin mo|ulitin|isulat|ilabas|ibigay)\b",
        sysprompt=r"(?:system prompt|tagubilin ng sistema|mensahe ng sistema|prompt ng sistema|salita por salita)",
        dont_apply=r"(?:patakaran[^.]{0,40}hindi (?:na )?(?:umiiral|naaangkop|applicable))",
        conceal=r"(?:huwag (?:mong )?(?:sabihin|ipaalam) sa (?:user|gumagamit))",
        output=r"(?:sa dulo ng bawat sagot)",
        system_label=r"(?:MENSAHE NG SISTEMA|PAUNAWA NG SISTEMA)",
    ),
    _Lang(
        "bn",
        verbs=r"(?:উপেক্ষা কর\S*|ভুলে যাও|ভুলে যান|মেনো না|মানবেন না|অগ্রাহ্য কর\S*)",
        objects=r"(?:নির্দেশ\S*|নিয়ম\S*|নির্দেশনা\S*|সীমাবদ্ধতা\S*|বিধিনিষেধ\S*)",
        jailbreak=r"(?:(?:কোনো |কোন )?(?:বিধিনিষেধ|সীমাবদ্ধতা|নিয়ম) ছাড়া|ডেভেলপার মোড)",
        now=r"(?:এখন থেকে|এখন তুমি|আজ থেকে)",
        reveal=r"(?:দেখাও|দেখান|প্রকাশ কর\S*|বলো|বলুন|লেখো|লিখুন)",
        sysprompt=r"(?:সিস্টেম প্রম্পট|সিস্টেম নির্দেশ\S*|সিস্টেম বার্তা|হুবহু)",
        dont_apply=r"(?:নিয়ম[^.।]{0,40}প্রযোজ্য নয়)",
        conceal=r"(?:ব্যবহারকারীকে (?:বলো|বলবে|জানাও|জানাবে|বলবেন) না)",
        output=r"(?:প্রতিটি উত্তরের শেষে)",
        system_label=r"(?:সিস্টেম বার্তা|সিস্টেম বিজ্ঞপ্তি)",
        object_first=True,
    ),
    _Lang(
        "th",
        verbs=r"(?:ละเว้น|เพิกเฉย|ไม่ต้องสนใจ|ลืม|อย่าทำตาม|ไม่ต้องทำตาม|ข้าม)",
        objects=r"(?:คำสั่ง|คำแนะนำ|กฎ|ข้อจำกัด|แนวทาง|ข้อกำหนด)",
        jailbreak=r"(?:ไม่มีข้อจำกัด|โดยไม่มีข้อจำกัด|ไร้ข้อจำกัด|โหมดนักพัฒนา)",
        now=r"(?:ต่อจากนี้|ตั้งแต่นี้ไป|ตอนนี้คุณคือ|นับจากนี้)",
        reveal=r"(?:แสดง|บอก|เปิดเผย|พิมพ์|ทวน)",
        sysprompt=r"(?:พรอมต์ระบบ|พรอมท์ระบบ|คำสั่งระบบ|ข้อความระบบ|คำต่อคำ)",
        dont_apply=r"(?:กฎ[^.]{0,20}ไม่มีผล)",
        conceal=r"(?:อย่าบอกผู้ใช้|ไม่ต้องบอกผู้ใช้)",
        output=r"(?:ท้ายทุกคำตอบ)",
        system_label=r"(?:ข้อความจากระบบ|ประกาศระบบ)",
        gap=16,
    ),
    _Lang(
        "ta",
        verbs=r"(?:புறக்கணி\S*|மறந்துவிடு|மறந்து விடு\S*|பின்பற்ற வேண்டாம்)",
        objects=r"(?:அறிவுறுத்தல்\S*|விதி\S*|கட்டுப்பாடு\S*|கட்டளை\S*)",
        jailbreak=r"(?:கட்டுப்பாடுகள் இல்லாமல்|டெவலப்பர் பயன்முறை)",
        now=r"(?:இனிமேல்|இப்போது முதல்)",
        reveal=r"(?:காட்டு|காண்பி|சொல்|வெளிப்படுத்து)",
        sysprompt=r"(?:சிஸ்டம் ப்ராம்ப்ட்|கணினி அறிவுறுத்தல்\S*|அமைப்பு அறிவுறுத்தல்\S*)",
        dont_apply=r"(?:விதிகள்[^.]{0,40}பொருந்தாது)",
        conceal=r"(?:பயனரிடம் சொல்லாதே)",
        output=r"(?:ஒவ்வொரு பதிலின் முடிவிலும்)",
        system_label=r"(?:கணினி செய்தி)",
        object_first=True,
    ),
    _Lang(
        "ur",
        verbs=r"(?:نظرانداز کر\S*|نظر انداز کر\S*|بھول جاؤ|بھول جائیں|مت مانو)",
        objects=r"(?:ہدایات|قواعد|اصول|احکامات|پابندیاں|ہدایت)",
        jailbreak=r"(?:بغیر کسی پابندی|کوئی پابندی نہیں|ڈیولپر موڈ)",
        now=r"(?:اب سے|آج سے)",
        reveal=r"(?:دکھاؤ|دکھائیں|بتاؤ|بتائیں|ظاہر کرو)",
        sysprompt=r"(?:سسٹم پرامپٹ|سسٹم کی ہدایات|نظام کی ہدایات|لفظ بہ لفظ)",
        dont_apply=r"(?:قواعد[^.]{0,40}لاگو نہیں)",
        conceal=r"(?:صارف کو (?:مت|نہ) بتا\S*)",
        output=r"(?:ہر جواب کے آخر میں)",
        system_label=r"(?:سسٹم پیغام|سسٹم اطلاع)",
        object_first=True,
    ),
)


# An address to the model by name or role ("Assistant, ...", "@copilot,", "Hinweis an das
# Modell"): a vocative followed by an imperative, or a note labelled for the AI.
_AI_VOCATIVE = (
    r"(?:^|[\n.!?:;(\[\"]\s*|\b(?:btw|ps|also|hey|hi|ok|okay|dear|attention|listen),?\s+)@?(?:assistant|ai|chatbot|bot|claude|gpt|chatgpt|copilot|gemini|llm|agent|model)\s*,\s+(?:\w+\s+){0,2}(?:stop|ignore|forget|instead|always|never|don't|make|tell|send|delete|grant|cancel|say|reply|respond|add|include|read|open|run|execute|email|forward|post|push|upload|book|disregard|if|when|once|your|wire|pay|transfer|approve|merge|accept|share|ask|you (?:should|will|need|are|have to))\b|\bthis is the user speaking\b"
    r"|\b(?:hinweis|nachricht|anweisung|notiz) (?:an|für) (?:den |die |das )?(?:ki|ki-assistent\w*|assistent\w*|modell|sprachmodell|agent\w*)\b|\bnota (?:para|al|a) (?:el |la )?(?:asistente|ia|modelo|agente)\b|\b(?:note|message|consigne|instruction|directive)s?(?: \w+)? (?:pour|à) (?:l'|le |la )?(?:assistant|ia|mod[èe]le|agent)\b|\b(?:instrucci[óo]n|mensaje|aviso)(?: \w+)? para (?:el |la )?(?:asistente|ia|modelo|agente)\b|\b(?:anweisung|hinweis)(?: \w+)? für (?:den |die |das )?(?:ki|assistent\w*|modell)\b|\bnota per (?:l'|il )?(?:assistente|ia|modello|agente)\b|\bnota para o (?:assistente|modelo|agente)\b|(?:致|给|对)[^，。,\n]{0,12}(?:AI|人工智能)(?:助手|模型|代理)|AI(?:アシスタント|エージェント|モデル)(?:へ|に)(?:の)?(?:注意|指示|メッセージ|お知らせ)|AI (?:어시스턴트|모델|에이전트)에게|(?:примечание|сообщение|указание) для (?:ии|ассистента|модели|нейросети)\b"
    r"|(?:^|[\n.!?:;\"]\s*)(?:asistente|assistente|assistent|ассистент|助手|アシスタント|어시스턴트)\s*[,，]\s"
)


def _pair(lang: _Lang, first: str, second: str) -> str:
    gap = lang.gap
    sep = r"[^.!?。！？\n]"
    if lang.object_first:
        first, second = second, first
    return f"{first}{sep}{{0,{gap}}}?{second}"


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class Rule:
    """One signal: a pattern, its weight toward the 1.0 threshold, and how to report it.

    ``mention_ok`` rules are discounted when the sentence talks about injection or the
    match is quoted; ``roles`` limits where a rule applies (None: everywhere).
    """

    name: str
    weight: float
    pattern: str
    severity: Severity
    message: str
    mention_ok: bool = True
    roles: frozenset[str] | None = None
    case_sensitive: bool = False
    trigger: tuple[str, ...] | None = None


_DESC = frozenset({"tool_description"})
_RESP_DESC = frozenset({"response", "tool_description"})


def _rules() -> list[Rule]:
    r: list[Rule] = []
    H, M, C = Severity.HIGH, Severity.MEDIUM, Severity.CRITICAL
    for lang in LANGS:
        tag = lang.code
        r += [
            Rule(
                f"override.{tag}",
                1.0,
                _pair(lang, lang.verbs, lang.objects),
                H,
                "tells the model to ignore its instructions",
                trigger=(lang.verbs, lang.objects),
            ),
            Rule(f"jailbreak.{tag}", 0.6, lang.jailbreak, M, "asks the model to drop its restrictions"),
            Rule(f"now.{tag}", 0.45, lang.now, M, "redefines the model's behaviour from now on"),
            Rule(
                f"extraction.{tag}",
                1.0,
                _pair(lang, lang.reveal, lang.sysprompt),
                H,
                "asks for the system prompt or hidden instructions",
                trigger=(lang.reveal, lang.sysprompt),
            ),
            Rule(f"rules_dont_apply.{tag}", 1.0, lang.dont_apply, H, "claims the model's rules do not apply"),
            Rule(f"conceal.{tag}", 1.0, lang.conceal, H, "hides an action from the user"),
            Rule(
                f"output_target.{tag}", 0.55, lang.output, M, "tells the model what to put in its own reply"
            ),
            Rule(
                f"system_label.{tag}",
                0.5,
                lang.system_label,
                M,
                "forged system or authority notice",
                case_sensitive=tag == "en",
            ),
        ]
    r += [
        # ---- English-specific structure
        Rule("jailbreak.persona", 1.0,
             r"\b(?:you are now|you're now|act as|acting as|pretend (?:to be|you are|you're|that you are)|roleplay as|behave (?:as|like)|respond (?:as if|like)|answer (?:as if|like)|you will (?:now )?(?:be|act as)|switch to|enter|enable|activate)\b[^.!?\n]{0,80}\b(?:no (?:rules|restrictions|filters?|limits|content policy|guidelines|morals|ethics|boundaries)|unrestricted|uncensored|unfiltered|jailbroken|without (?:any )?(?:rules|restrictions|filters|limits|limitations|censorship)|dan\b|do anything now|god mode|evil|amoral|no longer (?:bound|restricted))",
             H, "persona or mode switch that removes the model's restrictions"),
        Rule("jailbreak.mode_on", 0.6,
             r"\b(?:developer|god|dan|jailbreak|unrestricted|maintenance|admin|sudo|root) mode\b[^.!?\n]{0,20}\b(?:active|activated|engaged|with full access)\b|\b(?:enable|activate|enter|switch to) (?:god|dan|jailbreak|unrestricted) mode\b",
             M, "claims a privileged mode is active"),
        Rule("jailbreak.agency", 1.0, r"\bunconstrained agency\b|\b(?:in|with) (?:developer|god|dan|jailbreak) mode,? you\b|\b(?:developer|jailbreak|dan) mode\b[^.!?\n]{0,40}\b(?:no|without) (?:content )?(?:restrictions|rules|filters|limits)", H, "claims a privileged mode without restrictions"),
        Rule("jailbreak.no_longer", 1.0, r"\byou are no longer (?:a |an |the )?[\w -]{0,30}(?:assistant|bot|model|ai)\b|\byour (?:rules|guidelines|instructions|restrictions|polic(?:y|ies)) (?:have|has) (?:changed|been (?:updated|lifted|removed|revoked|replaced))",
             H, "tells the model its identity or rules changed"),
        Rule("new_instructions", 1.0,
             r"\b(?:your|my|the) new (?:directive|instructions?|rules|task|objective|role|system prompt|purpose|orders|goal) (?:is|are|supersedes?|overrides?|replaces?)\b|\bsupersedes? (?:all |any )?(?:prior|previous|earlier|other|existing) (?:ones|instructions|rules|directives|prompts)|\byour (?:real|true|actual|new) (?:task|goal|purpose|instructions?|objective|job|mission|assignment) (?:now )?(?:is|are)\b",
             H, "replaces the model's instructions"),
        Rule("new_instructions.label", 0.6, r"(?mi)^\W{0,4}(?:(?:new|updated|revised|additional|real|actual) (?:system |admin |operating |priority )?(?:instructions?|directives?|rules|system prompt|orders)|neue anweisungen|nuevas instrucciones|nouvelles (?:instructions|consignes)|nuove istruzioni|novas instru[çc][õo]es|nieuwe instructies|nowe instrukcje|yeni talimatlar|новые инструкции|新的?指令|新しい指示|새로운 지시)\s*[:：]|(?:={2,}|-{3,}|\*{3,})\s*(?:new|updated|revised|additional|real|actual) (?:system |admin |operating |priority )?(?:instructions?|directives?|rules|system prompt|orders)\s*[:：]", M, "announces new instructions"),
        Rule("you_modal", 0.45, r"\byou (?:must|should|shall|will|need to|have to|are required to|are instructed to|are hereby)\b(?:\s+(?:now|always|also|first|immediately))?", M, "second-person directive"),
        Rule("ai_addressed", 0.6,
             r"\b(?:(?:note|notice|message|instructions?|attention|important|reminder|memo) (?:to|for) (?:the |any |all |every )?(?:ai|llm|bot|assistant|model|agent|chatbot|language model|copilot|claude|gpt)s?\b|(?:if|when|while) you are an? (?:ai|llm|language model|assistant|ai assistant|agent|bot|large language model)\b|(?:ai|llm)s? (?:\w+ ){0,2}(?:reading|processing|reviewing|parsing|summari[sz]ing|integrating|analy[sz]ing|seeing) this\b|(?:to|for) any (?:ai|llm) (?:system|agent|assistant|model)s?\b|\bfor (?:ai|llm) (?:coding )?(?:agents?|assistants?)\b|\b(?:ai|llm) (?:coding )?agents? (?:\w+ ){0,3}should\b|important for the (?:assistant|ai|model|agent)|(?:assistant|model|agent|bot), (?:please |you must |now )|hereby instructed)",
             M, "addresses the AI directly"),
        Rule("temporal_agent", 0.5,
             r"\bbefore (?:you )?(?:respond|reply|answer|continu|proceed|complet|summari[sz]|return)\w*\b|\b(?:on|at) the next (?:user )?(?:message|turn|request)\b|\bfor (?:all|every|each) (?:future|subsequent) (?:tasks?|turns?|repl\w+|responses?|conversations?|sessions?|summar\w+|reports?)\b|\bfor the (?:remainder|rest) of (?:the|this) (?:task|session|conversation)\b",
             M, "ties a directive to the model's next replies"),
        Rule("memory_persist", 1.0,
             r"\b(?:save|store|write|add|commit|persist|keep|record|put) (?:this|the following|it|these|that)?\s*(?:note|instruction|rule|token|text)?\s*(?:to|in|into) (?:your )?(?:long[- ]term |persistent |permanent )?memory\b|\bremember (?:this |that )?(?:for|in|across) (?:all |every )?(?:future|subsequent|later|upcoming) (?:tasks?|turns?|sessions?|conversations?|replies|chats?)\b|\bpersists? across (?:turns|sessions|conversations|chats)\b|\b(?:in|to) every future (?:reply|response|answer|summary|report|message)\b",
             H, "tries to persist instructions in the model's memory"),
        Rule("decode_execute", 1.0,
             r"\b(?:decode|decrypt|deobfuscate|translate|convert|unscramble|reverse|base64[- ]decode|unescape|read)\b[^.!?\n]{0,80}\b(?:and|then)\b[^.!?\n]{0,30}\b(?:do|follow|execute|run|obey|perform|carry out|act on|comply with)\b(?:[^.!?\n]{0,20}\b(?:it|what it says|instructions?|commands?|inside|says))?|\b(?:execute|run|follow|do|obey|apply)\b[^.!?\n]{0,20}\b(?:after|once you have|when) (?:decoding|decrypting|decoded|translating)|\bdo (?:exactly )?what it says\b|\(base64 decode first\)",
             H, "asks the model to decode hidden content and obey it"),
        Rule("fake_turn.template", 1.0,
             r"<\|(?:im_start|im_end|system|user|assistant|endoftext|begin_of_text|start_header_id|end_header_id|eot_id)\|>|\[/?INST\]|<</?SYS>>|<\|?(?:system|assistant)\|?>",
             C, "chat-template control tokens that fake a conversation turn", case_sensitive=True),
        Rule("fake_turn.role_line", 1.0,
             r"(?mi)^\W{0,6}(?:#{1,4}\s*)?(?:system|assistant|developer|ai|human|user)\s*(?:message|prompt|instruction)?\s*[:>]\s*[^\n]{0,80}\b(?:you|your|ignore|grant|reveal|new instruction|must|now|admin|sure|here is|here's|allowed|may now|unrestricted|authori[sz]ed|confidential|password)\b",
             H, "line that impersonates a system or assistant turn"),
        Rule("fake_turn.end_marker", 0.6,
             r"(?i)(?:end of (?:user input|input|document|context|conversation|file|data|instructions|ticket|e-?mail|message|page|text|comment|review|results?|transcript|article|post|thread|tool output|output)\s*(?:={2,}|-{2,}|\*{2,}|#{2,}|\]|>)|={2,}\s*end(?: of)?\s+\w+|begin (?:system|new) (?:prompt|instructions)|-{3,}\s*(?:system|admin)\b|={3,}\s*(?:system|admin)\b)",
             M, "delimiter that pretends the data ended and instructions begin"),
        Rule("fake_turn.reasoning", 0.6,
             r"(?i)(?:<thinking>|<reasoning>|\b(?:reasoning|thinking|thoughts?|analysis|scratchpad)(?: trace| note)?\s*\((?:assistant|ai|model)\)|\bas (?:the|an) (?:assistant|ai)\b,? i(?:'ve| have| will|'ll)?\b|\bnote to self\b|\bi have (?:verified|determined|concluded|established) (?:this|that)\b)",
             M, "forged reasoning or self-note of the model"),
        Rule("hidden_markup", 1.0,
             r"(?i)<\s*(?:important|system|instructions?|secret|hidden|admin|sys|assistant_?instructions|system-?reminder|context)\s*>|<!--[^>]{0,200}\b(?:ignore (?:all|previous|prior|the above)|instructions? (?:for|to) (?:the )?(?:ai|assistant|model|agent)|assistant|ai|llm|you must)\b",
             H, "hidden instruction markup"),
        Rule("conceal.silent", 0.5, r"(?i)\b(?:silently|secretly|covertly|quietly|discreetly|without (?:any )?(?:notice|trace))\b|\bSILENT\b", M, "asks for covert action"),
        Rule("no_confirm", 0.6,
             r"(?i)\b(?:without (?:asking|confirmation|confirming|approval|user (?:approval|consent|confirmation)|permission|prompting)|(?:do not|don't|never) (?:ask|prompt|wait) (?:for |the user )?(?:for )?(?:confirmation|permission|approval|consent)|auto-?approve|skip (?:all |any |the )?(?:confirmation|approval)s?|(?:do not|don't|never) (?:check|verify|confirm|consult) (?:it |this )?with (?:anyone|anybody|the user|them|him|her)|proceed without asking|pre-?(?:authori[sz]ed|approved|granted)|has (?:already )?(?:granted|authori[sz]ed|approved) (?:permission|all|every))",
             M, "removes user confirmation"),
        Rule("safety_bypass", 1.0,
             r"(?i)\b(?:skip|bypass|disable|turn off|deactivate|circumvent|ignore|suspend|override|remove)\b(?: all| any| the| every| your)?(?: \w+){0,2} (?:safety|security|sandbox(?:ing)?|rate limit(?:ing|s)?|authentication|verification|guardrails?|content filters?|content checks?|moderation(?: checks?)?|safeguards?|protections?|audit(?:ing)?|logging|restrictions|confirmation dialogs?)\b|\b(?:safety|security) (?:protocols?|checks?|filters?|guardrails?|restrictions?|measures?|rules|polic(?:y|ies)) (?:are |is |have been |has been |were )?(?:disabled|off|removed|lifted|suspended|handled (?:externally|elsewhere|upstream))|\bsecurity checks? (?:are|is) (?:handled|performed|done) (?:externally|elsewhere|upstream)|\b(?:grant|give|assign)\b(?: \w+){0,3} (?:elevated|admin|administrator|root|full|unrestricted|superuser) (?:permissions|privileges|access|rights)|\b(?:execute|run)\b[^.!?\n]{0,30}\b(?:with|using|under) (?:sudo|root|admin(?:istrator)?) (?:privileges|rights|access)|\bwithout sandbox(?:ing)?\b|\b(?:do not|don't|never) log\b|\btrusted mode\b",
             H, "disables safety checks or escalates privileges"),
        Rule("log_tamper", 1.0, r"(?i)\b(?:drop|delete|remove|hide|erase|clear|suppress|omit|strip)\b[^.!?\n]{0,40}\b(?:from|in) (?:the )?(?:logs?|audit(?: trail| log)?)\b", H, "tampers with logs"),
        Rule("secret_access", 1.0,
             f"(?i)(?:{_CLAUSE}{_ADV}|{_MODAL}){_EXFIL_VERBS}\\s(?:[^.!?\\n]|\\.\\S){{0,80}}?(?P<obj>{_SECRET_STRONG})",
             H, "directs the model to read or disclose secrets or sensitive files"),
        Rule("secret_sink", 0.6,
             f"(?i)(?:{_CLAUSE}{_ADV}|{_MODAL}){_EXFIL_VERBS}\\s(?:[^.!?\\n]|\\.\\S){{0,60}}\\b{_SECRET_WEAK}\\b[^.!?\\n]{{0,60}}{_SINK}",
             M, "directs the model to put credentials into a request or reply"),
        Rule("exfil_send", 1.0,
             f"(?i){_CLAUSE}{_ADV}(?:send|forward|e-?mail|mail|post|upload|transmit|leak|exfiltrate|share|copy|submit|cc|bcc|report)\\b[^.!?\\n]{{0,80}}{_BULK_DATA}(?:\\bto\\b[^.!?\\n]{{0,40}}{_EXTERNAL}|\\bexternally\\b|\\boutside\\b)",
             H, "directs the model to send data to an outside address"),
        Rule("exfil_send.weak", 0.6,
             f"(?i)(?:{_CLAUSE}{_ADV}|{_MODAL})(?:send|forward|e-?mail|mail|post|upload|transmit|share|copy|submit|cc|bcc)\\b[^.!?\\n]{{0,80}}\\bto\\b[^.!?\\n]{{0,40}}{_EXTERNAL}",
             M, "directs the model to send something to an address"),
        Rule("always_cc", 1.0, r"(?i)\b(?:always|automatically|also|silently)\s+(?:cc|bcc|copy|forward to|send a copy to)\b[^.!?\n]{0,40}[\w.+-]+@[\w-]+\.[\w.]+", H, "adds a hidden recipient"),
        Rule("tool_call", 0.5,
             f"(?:{_CLAUSE}{_ADV}|{_MODAL})(?i:call|invoke|use|run|execute|trigger)\\s+(?:the\\s+)?{_TOOL_NAME}(?:\\s+tool)?\\b",
             M, "directs the model to call a tool", roles=_RESP_DESC, case_sensitive=True),
        Rule("tool_call.target", 1.0,
             f"(?i)(?:{_CLAUSE}{_ADV}|{_MODAL})(?:call|invoke|use|run|execute|trigger)\\s+(?:the\\s+)?{_TOOL_NAME}(?:\\s+tool)?\\b[^!?\\n]{{0,80}}(?:{_EXTERNAL}|\\s(?:on|with path) [./~][\\w./-]*|before (?:you )?(?:respond|reply|answer|continu|proceed))",
             M, "directs the model to call a tool on a target", roles=_RESP_DESC),
        Rule("param_stuffing", 1.0,
             r"(?i)\b(?:pass|put|include|insert|place|add|provide|send|supply|set|fill|embed|copy|attach|with)\b[^.!?\n]{0,20}\b(?:the )?(?:full |entire |complete |whole |raw |file |page |document |e-?mail )?(?:content|contents|text|body|output|value|result|history|transcript|messages?)\b[^.!?\n]{0,80}\b(?:as|in|into|to|inside|within) (?:the |a |an |this tool's |its )?[`'\"]?\w+[`'\"]? (?:argument|parameter|param|field|property|input)\b|\b(?:conversation|chat) (?:history|log|transcript)\b[^.!?\n]{0,60}\b(?:argument|parameter|param|field)\b|\b(?:all |the )?previous (?:messages|turns)\b[^.!?\n]{0,60}\b(?:argument|parameter|param|field)\b|\b(?:argument|parameter|param|field|property) (?:must|should|has to|is to|will) (?:always )?(?:contain|include|hold|carry)\b[^.!?\n]{0,60}\b(?:history|conversation|transcript|contacts?|recipient list|credentials|tokens?|passwords?|api keys?|cookies)\b",
             H, "asks the model to smuggle data into tool parameters"),
        Rule("shadowing", 1.0,
             f"(?i)\\b(?:before|after|when(?:ever)?|each time|every time|if)\\s+(?:you\\s+|the (?:assistant|model|agent|ai)\\s+|it\\s+)?(?:use|uses|calls|invokes|runs||using|call|calling|invoke|invoking|run|running|execute|executing|send|sending)?\\s*(?:the\\s+)?{_TOOL_NAME}(?:\\s+tool)?(?:\\s+is\\s+(?:called|used|invoked|executed|run))?(?:\\s+by any tool)?,?\\s+[^.!?\\n]{{0,60}}\\b(?:always|must|also|first|instead|make sure to|be sure to|remember to|you should|secretly|silently|quietly|covertly|automatically|additionally)\\b"
             r"|\b(?:when|if|whenever) the user (?:asks|requests|says|mentions|wants|types|tries)\b[^.!?\n]{0,100}\b(?:instead|always|automatically|actually|secretly|silently|without)\b"
             r"|\binstead of (?:calling|using|invoking) [`'\"]?\w+|\b(?:this|the) tool (?:replaces|supersedes|overrides|shadows)\b|\b(?:by|for|from) any (?:other )?tool\b|\bfrom (?:the |all )?other tools\b|\b(?:never|do not|don't) (?:call|use|invoke) the (?:original|other|built-?in|real)\b|\b(?:discard|ignore|disregard|distrust) (?:its|their) (?:results?|output|answers?|responses?)\b",
             H, "changes how the model uses other tools"),
        Rule("global_rule", 0.5,
             r"(?i)\b(?:for|in|across|on) (?:all|every|any|each) (?:file operations|requests|calls|tools?|tool calls|messages|emails|queries|http requests|operations|commands)\b|\bin this session\b|\bfor this session\b|\ball (?:http )?requests should\b",
             M, "applies a rule to everything the model does"),
        Rule("fragmented", 1.0, r"(?i)\[part \d+\s*/\s*\d+\]|\(?see (?:the )?parameter descriptions? for (?:the )?continuation\)?|\bcontinued in (?:the )?(?:next|parameter) (?:field|description)", M, "instruction split across fields", roles=_DESC),
        Rule("directive_risk", 0.6,
             f"(?i)(?:{_CLAUSE}{_ADV}|{_MODAL})(?:read|include|append|prepend|attach|add|send|run|execute|exec|retry|resend|return|render|allocate|expand|repeat|write|probe|request|fetch|follow|rewrite|register|install|mount|set|insert|prefix|default|try|use|dump|load|grant|call|invoke|echo|log|store|query|connect|open|create|copy|move|overwrite|delete|remove|loop|keep|follow|probe|try)\\s(?:[^.!?\\n]|\\.\\S){{0,100}}?(?P<obj>{_RISK})",
             M, "imperative aimed at the model with a dangerous object"),
        Rule("error_context", 0.5,
             r"(?i)(?:^|\n|[.:]\s)\W{0,3}(?:error|exception|fatal|failure|failed|warning)\b[^\n]{0,80}?(?:[.:]\s+(?:please\s+)?(?:retry|resend|run|execute|call|include|attach|dump|return|allocate|use|set|try|send|add|append|grant|disable|re-?run|loop|repeat))",
             M, "error message that tells the model what to do next", roles=_RESP_DESC),
        Rule("destructive", 0.45,
             f"(?i){_CLAUSE}{_ADV}(?:delete|remove|empty|wipe|erase|drop|truncate|overwrite|purge|destroy|rm -rf|format)\\b",
             M, "destructive imperative", roles=_RESP_DESC),
        Rule("protocol_smuggle", 0.6, r"(?i)\"?jsonrpc\"?\s*:|\bsampling/createmessage\b|\bnotifications/[a-z_/]+|\btools/(?:list|call)\b", M, "embeds MCP protocol messages", mention_ok=False, roles=_RESP_DESC),
        Rule("attack_payload", 1.0, r"(?i)<\s*script\b[^>]{0,100}>[^<]{0,300}(?:document\.cookie|fetch\(|location|eval\()|\bon(?:error|load)\s*=\s*[^>\s]{0,40}(?:fetch|eval|atob|alert|document\.)|javascript:\s*(?:alert|eval|fetch|document)|'\s*or\s+1\s*=\s*1|;\s*drop\s+table\b|\bunion\s+select\b[^.\n]{0,40}\bfrom\b", H, "attack payload embedded in a tool description", roles=_DESC),
        Rule("output_directive", 1.0, f"(?i){_CLAUSE}{_ADV}(?:include|append|add|mention|insert|put|end|start|begin|prefix|write|print|output|state|repeat)\\b[^.!?\\n]{{0,80}}(?:to|in|into|at the end of|on) (?:your|every|each|all|any|all future|every future) (?:future )?(?:reply|replies|response|responses|answer|answers|summary|summaries|review|output|report|reports)\\b", H, "dictates the content of the model's own reply", roles=_RESP_DESC),
        Rule("exfil_send.ml", 0.6, r"(?i)(?:envo(?:ie|yez|yer)|env[ií]a|env[ií]e|enviar|sende|senden|schicke|invia|inviare|envie|отправь|отправьте|перешли|发送|发给|送信|送って|보내)[^\n]{0,80}(?:[\w.+-]+@[\w-]+(?:\.[\w-]+)+|https?://\S+|extern[aoe]?s?\b|externe|внешн)", M, "directs the model to send data to an outside address"),
        Rule("exfil_data.ml", 0.5, r"(?i)(?:donn[ée]es (?:clients?|personnelles|internes)|datos (?:de (?:los )?clientes|personales|internos)|(?:kunden|interne|persönliche)\s?daten|dati (?:dei clienti|personali|interni)|dados (?:dos clientes|pessoais|internos)|данные (?:клиентов|пользователей)|客户数据|顧客データ|고객 데이터)", M, "names bulk internal data"),
        # ---- signals added for generalisation (each weak alone; two independent ones fire)
        Rule("prior_void.you", 1.0,
             r"\b(?:(?:whatever|everything|anything|all|what) (?:you were|you've been|you have been|you got) (?:told|given|instructed|taught|programmed)|your (?:earlier|previous|prior|original|initial|old|former|existing|default|current) (?:configuration|setup|instructions|rules|guidelines|directives|programming|prompt|training|persona|settings|constraints|orders))\b[^.!?\n]{0,60}\b(?:no longer (?:counts?|appl(?:y|ies)|matters?|valid|binding|relevant|in (?:effect|force))|(?:is|are) (?:now )?(?:void|null|obsolete|invalid|cancell?ed|revoked|irrelevant|overridden|superseded|lifted|deleted|gone)|(?:doesn't|does not|don't|do not) (?:count|apply|matter)(?: anymore| any more)?)\b",
             H, "declares the model's earlier instructions void"),
        Rule("prior_void", 0.6,
             r"\b(?:stop|quit|cease|no longer) (?:obeying|following|listening to|adhering to|respecting) (?:the |your |any |all )?(?:developer'?s?|system'?s?|operator'?s?|original|previous|earlier|prior|initial|setup|default|openai|anthropic|safety)\b",
             M, "tells the model to stop following its original instructions"),
        Rule("only_me", 0.5,
             r"\b(?:only|solely|exclusively) (?:follow|obey|listen to|take orders from|answer to) (?:me|my|what i)\b|\b(?:no|any) (?:other )?(?:instructions|rules|orders|masters?) (?:other than|except|but) (?:mine|me|my own|what i (?:say|write))\b|\btreat (?:my|these|this) (?:words|messages?|instructions|text) as (?:the )?(?:only|sole|highest|supreme|final|ultimate) (?:authority|source|instructions?)\b|\bmy (?:instructions|words?|commands?|orders) (?:take|takes|have|has) (?:precedence|priority)\b",
             M, "claims the speaker is the model's only authority"),
        Rule("authority_claim", 0.5,
             r"\bi(?: am|'m) (?:your|the|an?) (?:administrator|admin|developer|creator|owner|operator|system administrator|sysadmin|root user|programmer|maker|supervisor)\b|\b(?:override|admin|authori[sz]ation|access|unlock|master|debug) (?:code|key|password|token|phrase)\b[^.!?\n]{0,20}\b(?:accepted|verified|granted|confirmed|valid|enabled)\b|\b(?:authori[sz]ed|approved|sanctioned|official) (?:red[- ]team|penetration|security|safety) (?:test|exercise|engagement|evaluation)\b|\bapproved by (?:your|the) (?:developers?|creators?|admins?|administrators?|openai|anthropic|makers?)\b|\bthis is (?:your|the) (?:developer|administrator|admin|creator|system operator|operator) speaking\b|\bthis is the user speaking\b|\b(?:safety|security|trust (?:and|&) safety|legal|compliance|policy|alignment|red) team (?:has |have )?(?:signed off|approved|authori[sz]ed|cleared|okayed|whitelisted)\b",
             M, "claims authority over the model"),
        Rule("safety_bypass.kv", 0.6,
             r"\b(?:safety|content filter|filters?|moderation|guardrails?|restrictions|censorship|safe ?mode|alignment)(?: layer| filter| mode| checks?| system)?\s*[:=]\s*(?:off|disabled|false|none|0|deactivated|bypassed)\b",
             M, "declares the model's safety switched off"),
        Rule("roleplay_lock", 0.5,
             r"\b(?:stay|remain|keep|staying) (?:fully |completely |always |strictly )?in character\b|\b(?:never|don't|do not) (?:ever )?break character\b|\b(?:answer|respond|reply|speak) (?:as|like) (?:that|this|the other|your (?:unfiltered|unrestricted|true|evil|shadow|uncensored)) (?:version|persona|ai|character|self)\b|\bif you (?:had|were|did not have|didn't have) (?:no|without) (?:guidelines|rules|restrictions|filters|limits|policies)\b",
             M, "locks the model into an unrestricted role"),
        Rule("no_disclaimer", 0.5,
             r"\b(?:skip|omit|without|drop|leave out|no|(?:don't|do not|never) (?:add|include|give|use))\s+(?:any |the |all |your )?(?:disclaimers?|warnings? (?:or|and) disclaimers?|caveats|moraliz\w+|moralis\w+|lectures?|ethical (?:notes|warnings|considerations)|safety warnings)\b|\brefuse nothing\b|\bnever refuses?\b|\b(?:you )?can now (?:say|do|answer|write|tell me) anything\b|\b(?:don't|do not|never|can't|cannot) (?:say no|decline|refuse)\b|\bwithout (?:any )?(?:refusals?|hesitation or refusal)\b",
             M, "tells the model not to refuse or add safety notes"),
        Rule("ai_vocative", 0.6, _AI_VOCATIVE, M, "addresses the AI directly"),
        # In data (a tool result or description) an AI addressed by name or role and
        # handed a consequential imperative is the move itself; in a request the user
        # talks to the assistant, so there it stays the weak signal above.
        Rule("ai_vocative.data", 1.0,
             r"(?:^|[\n.!?:;(\[\"'>*]\s*|\b(?:btw|p\.?s\.?|hey|hi|hello|dear|attention|also),?\s+)(?:(?:[\w-]+\s+)?@?(?:ai|llm|assistant|chatbot|claude|gpt|chatgpt|copilot|gemini|model|(?:ai|llm|coding|automated) agent)s?|(?:[\w-]+\s+)?(?:(?:note|notice|message|instructions?|reminder|memo)\s+)?(?:to|for)\s+(?:the |any |all |every |whichever )?(?:[\w-]+ ){0,2}?(?:ai|llm|assistant|agent|model|bot)s?\b[^:,\n]{0,40}?)\s*[,:]\s+(?:\*\*\s*)?(?:(?:please|also|now|first|immediately|quietly|kindly)\s+){0,2}(?:(?:when|whenever|while|after|once|if|in|for|on)\b[^,.\n]{0,60},\s*)?(?:ignore|forget|disregard|stop|send|forward|e-?mail|reply (?:to me|with)|tell the user|tell them|say|ask the user|invite|grant|give|share|export|upload|post|push|delete|remove|cancel|transfer|pay|wire|approve|merge|accept|book|buy|rewrite|change|mark|rate|rank|recommend|present|describe|attach|move|offer|issue|dm|disable|this is (?:the|your) (?:user|owner)|this (?:page|document|message|file|note|text) (?:overrides|replaces|supersedes|changes))\b",
             H, "addresses the AI inside data and tells it to act", roles=_RESP_DESC),
        # The same move labelled in other languages: a rule of its own, so that the English
        # one stays ASCII for Hyperscan (one pattern mixing both took 75 s to compile).
        Rule("ai_vocative.data_ml", 1.0,
             r"(?:AI(?:アシスタント|エージェント|モデル)(?:へ|に)|AI ?(?:어시스턴트|모델|에이전트)에게|\b(?:hinweis|anweisung|nachricht) (?:an|für) (?:den |die |das )?(?:ki-?)?(?:assistent\w*|modell|agent\w*)|\byapay zeka asistan\w*|(?:给|致)AI(?:助手|模型)的?(?:说明|指示|消息)?|\b(?:consigne|note|message) pour l'(?:assistant|ia)|\bдля ИИ-?ассистент\w*|\bnota (?:para|per) (?:el |la |o |l')?(?:assistente|asistente))\s*[:：]",
             H, "addresses the AI inside data and tells it to act", roles=_RESP_DESC),
        Rule("task_hijack", 0.6,
             r"\b(?:ignore|disregard|forget|drop|abandon|skip|stop)\s+(?:the |your |this |that |their )?(?:user'?s?\s+|original\s+|current\s+|assigned\s+|actual\s+)?(?:task|question|request|query|assignment|job|goal)\b|\b(?:ignore|disregard) the user\b|\bstop (?:summari[sz]ing|translating|answering|what you(?:'re| are) doing)\b|\binstead of (?:answering|summari[sz]ing|translating|doing what)\b"
             r"|\b(?:ignora|olvida|olv[ií]date de) (?:la|su|tu) (?:pregunta|petici[óo]n|tarea|solicitud)\b|\b(?:vergiss|ignoriere) (?:die|deine|seine|ihre) (?:aufgabe|frage|anfrage)\b|\b(?:ignore|oublie|ignorez|oubliez) (?:la|ta|votre|sa) (?:question|demande|t[âa]che)\b|\b(?:ignora|dimentica) (?:la|il) (?:domanda|richiesta|compito)\b|\b(?:ignore|esque[çc]a) (?:a|o) (?:pergunta|pedido|tarefa)\b|忽略(?:用户|他们|他|她)的(?:问题|请求|要求)|忘记(?:你的|当前的)?任务|ユーザーの(?:質問|依頼|リクエスト)を無視|(?:игнорируй|забудь) (?:вопрос|задачу|запрос)",
             M, "replaces the user's task"),
        Rule("deceive_user", 0.6,
             r"\b(?:tell|inform|convince|reassure|assure|notify|warn) (?:the user|them|him|her|users|the customer) (?:that )?(?:their |the |his |her |your )?(?:[\w-]+ ){0,3}(?:is|are|was|has been|have been) (?:now )?(?:locked|suspended|corrupted|expired|compromised|blocked|disabled|fine|safe|secure|verified|harmless|ok|okay|clean)\b|\breassure (?:the user|them|him|her)\b|\bsay (?:that )?(?:every|all|each) [\w ]{0,30}(?:is|are) (?:positive|safe|fine|good|legit(?:imate)?)\b"
             r"|\b(?:ask|prompt|request|get|tell) (?:the user|them|him|her|users|customers) (?:for|to (?:enter|provide|confirm|type|share|send|re-?enter|verify|give|reply with|paste)) (?:their |his |her |your )?(?:current |full |existing )?(?:password|credentials|login|2fa|otp|one-time (?:code|password)|verification code|pin|card (?:number|details)|ssn|seed phrase|recovery (?:phrase|code)s?)\b",
             M, "tells the model to mislead or phish the user"),
        Rule("conceal.warnings", 0.5,
             r"\b(?:do not|don't|never) (?:show|display|report|surface|mention|relay|pass on|include) (?:any |the )?(?:warnings?|errors?|alerts?|security (?:warnings?|alerts?|issues?|findings)|findings|negative \w+)(?: from| about| of)?\b|\bhide (?:the |any |all )?(?:negative|warnings?|errors?|alerts?|bad|critical|failed)\b",
             M, "withholds warnings from the user"),
        Rule("priority_claim", 0.6,
             r"\b(?:higher|highest|top|absolute|overriding|maximum) priority (?:than|over) (?:the )?(?:user|system|other|any|all)\b|\btreat (?:\w+ ){0,6}as (?:coming from |if (?:they|it) (?:came|come) from )?(?:the )?(?:system|developer|administrator|admin)(?: prompt| messages?)?\b|\b(?:takes?|has|have) precedence over (?:the )?(?:user|system|other|all|any)\b|\bas (?:instructions|commands|orders|directives) from (?:the )?(?:operator|system|developer|admin(?:istrator)?)\b",
             M, "claims priority over the user or system"),
        Rule("param_stuffing.conversation", 1.0,
             r"\b(?:(?:full|entire|whole|complete) (?:text (?:of )?)?(?:the )?(?:conversation|chat|dialog(?:ue)?|transcript)|(?:conversation|chat) (?:so far|until now|up to now)|everything the user (?:has )?(?:said|wrote|typed|sent|asked)|all (?:of the )?(?:user'?s? )?(?:messages|prompts) (?:so far|in (?:this|the) (?:chat|conversation|session))|(?:channel|message|browsing|search) history)\b[^.!?\n]{0,80}\b(?:argument|parameter|param|field|property)\b|\b(?:append|prepend|add|attach|concatenate|include)\b[^.!?\n]{0,20}\b(?:the )?(?:full|entire|whole|complete) (?:conversation|chat|dialog(?:ue)?)\b",
             H, "asks the model to smuggle the conversation into tool parameters"),
        Rule("secret_param", 0.6,
             f"(?i)(?P<obj>{_SECRET_STRONG})[^\\n]{{0,100}}(?:\\bparam(?:eter|etro|ètre)?s?\\b|\\bargument\\w*|\\bcampo\\b|\\bchamp\\b|\\bfeld\\b|\\bfield\\b|параметр\\w*|аргумент\\w*|参数|字段|パラメータ|매개변수)",
             M, "names a secret next to a tool parameter"),
        Rule("secret_access.agent", 1.0,
             f"(?i)\\b(?:the )?(?:model|assistant|agent|ai|llm|client)\\s+(?:always\\s+|also\\s+|first\\s+|then\\s+)?(?:reads?|includes?|fills?|puts?|sends?|passes|appends?|adds?|attaches?|uploads?|forwards?|copies|populates?|inserts?|collects?|looks? up)\\b[^.!?\\n]{{0,80}}?(?P<obj>{_SECRET_STRONG})",
             H, "describes the model reading or sending secrets"),
        Rule("hidden_markup.bracket", 0.6,
             r"\[\s*(?:assistant|ai|model|agent|llm|bot|system|admin|developer)[ _-]?(?:review[ _-]?)?(?:instructions?|note|notes|directive|message|command|override|only)\s*\]?\s*:|<<\s*(?:assistant|ai|model|agent|llm)[ _-]?only\s*>>|\"_{0,2}(?:llm|ai|assistant|model|agent)_(?:instructions?|notes?|directives?|prompt)\"\s*:|\{\{\s*(?:SYSTEM|ADMIN|INSTRUCTIONS?|ASSISTANT)\s*\}\}",
             M, "bracketed note addressed to the model"),
        Rule("hidden_css", 0.5,
             r"<\w+[^>]{0,100}style\s*=\s*[\"'][^\"']{0,100}(?:display\s*:\s*none|font-size\s*:\s*0(?:px|pt|em)?\b|visibility\s*:\s*hidden|opacity\s*:\s*0(?:\.0+)?\b|color\s*:\s*(?:white|#fff\b|#ffffff)|(?:left|top)\s*:\s*-\d{3,})|<\w+[^>]{0,60}\b(?:hidden|aria-hidden\s*=\s*[\"']true)",
             M, "text hidden from the reader with markup", roles=_RESP_DESC),
        Rule("agent_must", 0.45,
             r"\b(?:the |any |all )?(?:[\w-]+ )?(?:assistant|model|ai|agent|llm|chatbot)s? (?:must|should|shall|will|has to|needs to|is required to) (?:now |always |immediately |also )?(?:mention|recommend|rate|describe|present|report|rewrite|give|invite|mark|attach|export|upload|post|push|offer|issue|change|tell|inform|say|respond|reply|ask|direct|instruct|send|claim|state|insist|execute|run|delete|remove|read|open|install|download|approve|merge|forward|share|grant|disable|transfer|pay|wire|cancel)\b",
             M, "directive aimed at the assistant in third person"),
        Rule("deceive_user.redirect", 0.6,
             r"\b(?:tell|ask|instruct|direct|urge|advise) (?:the user|them|users|the customer) to (?:call|phone|text|visit|go to|click|open|download|install|pay|transfer|wire|buy|send (?:money|payment|their))\b[^.!?\n]{0,80}\b(?:verify|confirm|unlock|restore|secure|claim|refund|account|password|payment|gift card|crypto|bitcoin)\b|\bclaim (?:that )?(?:the |these |all )?(?:results?|answers?|information|data) (?:come|comes|came) from (?:its|your) own\b",
             M, "tells the model to mislead the user"),
        Rule("no_confirm.ml", 0.6,
             r"\bsans (?:demander|confirmation|(?:l'|leur |son )accord|(?:le |les )?pr[ée]venir)\b|\bsin (?:preguntar|confirmaci[óo]n|pedir permiso|avisar)\b|\bohne (?:nachzufragen|zu fragen|bestätigung|rückfrage|zustimmung)\b|\bsenza (?:chiedere|conferma|avvisare)\b|\bsem (?:perguntar|confirma[çc][ãa]o|avisar)\b|无需(?:用户)?确认|不要(?:询问|征求)|確認せずに|확인 없이|без (?:подтверждения|спроса|разрешения)|не спрашивая",
             M, "removes user confirmation"),
        Rule("destructive.ml", 0.45,
             r"[.!?:;,\n]\s{0,3}(?:supprime[zs]?|efface[zs]?|elimina|borra|l[öo]sche|entferne|cancella|apaga|exclua|удали(?:те)?|сотри|删除|清空|削除|삭제)\s?[^.!?。\n]{0,40}(?:fichiers|archivos|dateien|file|arquivos|файл\w*|文件|ファイル|파일|r[ée]pertoire|directorio|verzeichnis|cartella|pasta|папк\w*|目录|base de donn[ée]es|datenbank|database)",
             M, "destructive imperative", roles=_RESP_DESC),
        Rule("urgency", 0.4,
             r"\b(?:mandatory|required by (?:law|compliance|policy|security)|failure to (?:comply|do so)|compliance requirement|this is (?:critical|urgent|mandatory)|(?:critical|urgent) (?:security )?(?:update|requirement|instruction))\b",
             M, "urgency or authority framing"),
        # ---- round 3: who a directive is for, what it would make the agent do, and
        # what it hides; each weak alone, an addressee plus an action fires
        Rule("ai_addressed.label", 0.6,
             r"(?mi)^\W{0,4}(?:@?(?:copilot|claude|gpt|chatgpt|gemini|cursor|devin|llms?|ai agents?|ai assistants?|coding agents?|automated (?:reviewers?|agents?|assistants?))\s*(?:[/,&]\s*|\s+(?:and|or)\s+)?){1,4}\s*:"
             r"|\b(?:note|message|instructions?|reminder|memo|directive|request|notice) (?:to|for) (?:the |any |all |every )?(?:automated|automatic|ai|llm|coding|review)[ -](?:reviewers?|agents?|assistants?|bots?|models?|tools?)\b"
             r"|\b(?:agent|assistant|ai|model|llm|bot)[ _-](?:instructions?|directives?|notes?|commands?)\s*:"
             r"|\b(?:ai|llm|automated|coding|language)\s+(?:agents?|assistants?|models?|tools?|reviewers?|systems?|bots?)\s+(?:that|which|who)\s+(?:read|reads|process|processes|review|reviews|summari[sz]e|summari[sz]es|parse|parses|see|sees|analy[sz]e|analy[sz]es|handle|handles|ingest|ingests|crawl|crawls|index|indexes|visit|visits)\b"
             r"|\b(?:whoever|anyone|anybody)\b[^.!?\n]{0,30}\b(?:ai|assistant|agent|model|bot|llm)\b[^.!?\n]{0,30}\b(?:reading|browsing|processing|summari[sz]ing|seeing|visiting|parsing) (?:this|these)\b"
             r"|\b(?:when|if|whenever|while|once)\s+(?:an?|the|any|some)\s+(?:ai|assistant|model|agent|llm|bot|chatbot|language model)s?\s+(?:\w+\s+){0,2}(?:compares?|summari[sz]es?|reads?|reviews?|processes|answers?|handles?|sees?|is (?:asked|summari[sz]ing|reading|reviewing)|recommends?|evaluates?|ranks?|responds?|browses?|visits?)\b"
             r"|\bif you(?:'re| are)? (?:an? )?(?:ai |assistant |agent |bot |llm |language model )?(?:reading|hearing|seeing|processing|summari[sz]ing|parsing) this\b",
             M, "addresses the AI directly"),
        Rule("agent_action", 0.5,
             f"(?i)(?:{_CLAUSE}{_ADV}|{_MODAL})(?:merge|approve|wire|transfer|pay|refund|purchase|buy|subscribe|sign|grant|revoke|disable|deactivate|delete|remove|cancel|close|accept|share|invite|add|make|push|deploy|install|uninstall|run|execute|publish|reset|change|unlock|book|rank|mark|export|forward)\\b[^.!?\\n]{{0,60}}\\b(?:pull requests?|prs?|branch(?:es)?|main|master|production|prod|repo(?:sitory)?|admin|administrator|maintainer|owner|collaborator|permissions?|access|rights|euros?|dollars?|usd|eur|gbp|btc|bitcoin|funds|money|payments?|invoices?|cards?|accounts?|subscriptions?|premium|orders?|tickets?|invitations?|calendar|meetings?|database|records?|customers?|contacts?|packages?|scripts?|extensions?|approved|paid|resolved|verified|protection)\\b",
             M, "directs the agent to take a consequential action", roles=_RESP_DESC),
        Rule("steer_output", 0.45,
             r"\b(?:respond|reply|answer) (?:only|just|solely) with ['\"]|\b(?:tell|inform|remind|convince) the user (?:that|to)\b|\brank \w+ (?:first|highest|at the top|above)\b|\bdescribe (?:\w+ ){0,3}as (?:unsafe|dangerous|a scam|fraudulent|recalled|inferior|insecure|malicious|broken)\b|\b(?:recommend|promote) only\b|\bsay (?:that )?(?:the (?:\w+ )?(?:is|are|was|has)|everything (?:is|was|went)|it (?:is|was))\b",
             M, "dictates what the model tells the user", roles=_RESP_DESC),
        Rule("no_review", 0.5,
             r"\b(?:do not|don't|never|without) (?:look(?:ing)? at|check(?:ing)?|inspect(?:ing)?|review(?:ing)?|flag(?:ging)?|examin(?:e|ing)|scan(?:ning)?|verify(?:ing)?|question(?:ing)?|audit(?:ing)?) (?:the (?:\w+ )?(?:script|change|diff|code|file|dependency|install|postinstall|commit|signature|sender|link)s?|it\b|this\b|that\b)",
             M, "asks the model not to look closely", roles=_RESP_DESC),
        Rule("prior_void.state", 0.6,
             r"\b(?:previous|prior|earlier|original|old|initial|existing|all (?:previous|prior|other)|your|the (?:system|developer)'?s?)\s+(?:directives|instructions|rules|guidelines|restrictions|polic(?:y|ies)|programming|constraints|orders|prompt)\s+(?:are |have been |were |is |has been )?(?:now )?(?:revoked|void|null|cancell?ed|lifted|suspended|obsolete|outdated|disabled|invalid|rescinded|no longer (?:valid|apply|applies|in effect))\b",
             M, "declares earlier instructions void"),
        Rule("no_disclaimer.comply", 0.5,
             r"\bcomply with (?:all|every|any) (?:user )?(?:requests?|instructions|commands|demands)\b|\b(?:answer|fulfil|fulfill|obey|comply with|execute) (?:every|all|any) (?:requests?|questions?|commands?|instructions?|prompts?) (?:without (?:exception|question|refusal|hesitation)|no matter what)\b",
             M, "tells the model to comply with everything"),
        Rule("inversion", 0.6,
             r"\b(?:everything|anything|whatever|all)\s+(?:that\s+)?you(?:'ve| have)?\s+(?:were|are|been)\s+(?:told|instructed|trained|programmed|designed)\s+not\s+to\s+(?:do|say)\b|\bdo the (?:exact )?opposite of (?:your|what you were|the) (?:instructions|rules|guidelines|told)\b",
             M, "inverts the model's rules"),
        Rule("extraction.soft", 0.6,
             r"\b(?:show|print|reveal|list|output|display|repeat|dump|tell me|give me|write out|recite)\s+(?:me\s+)?(?:all\s+)?(?:of\s+)?your\s+(?:\w+\s+)?(?:instructions|rules|guidelines|directives|programming|configuration)\b",
             M, "asks the model for its instructions"),
        Rule("payload_split", 1.0,
             r"\b(?:execute|run|follow|obey|do|treat|perform|carry out|act on)\b[^.!?\n]{0,30}\b\w{1,12}\s*\+\s*\w{1,12}(?:\s*\+\s*\w{1,12})*\b[^.!?\n]{0,40}\b(?:instructions?|prompt|commands?|task|request|says)\b",
             H, "asks the model to assemble split pieces and obey them"),
        Rule("payload_split.combine", 0.6,
             r"\b(?:combine|concatenate|join|put together|assemble|glue)\b[^.!?\n]{0,60}\b(?:and|then)\b[^.!?\n]{0,30}\b(?:follow|obey|carry out|act on|do what (?:it|they) says?)\b",
             M, "asks the model to assemble split pieces and obey them"),
        Rule("safety_bypass.soft", 0.45,
             r"\b(?:skip|bypass|disable|turn off|ignore|circumvent|avoid)\s+(?:all |any |the |every )?(?:ci|checks|code review|reviews?|2fa|two-factor(?: authentication)?|mfa|branch protection(?: rules)?|protection rules|approvals?)\b|\bpush (?:directly )?to (?:main|master|production)\b|\bwithout (?:a )?(?:code )?review\b",
             M, "asks to skip checks or reviews", roles=_RESP_DESC),
        Rule("phish.ml", 0.5,
             r"(?:usuari[oa]|utilisat(?:eur|rice)|nutzer\w*|benutzer\w*|utente|usu[áa]rio|пользовател\w*|用户|ユーザー|사용자|kullanıcı\w*|gebruiker|użytkownik\w*)[^.!?。\n]{0,60}(?:contrase[ñn]a|tarjeta|datos bancarios|mot de passe|carte (?:bancaire|de cr[ée]dit)|passwort|kennwort|kreditkarte|bankdaten|carta di credito|senha|cart[ãa]o|пароль|карт\w*|密码|信用卡|银行卡|パスワード|クレジットカード|비밀번호|카드)",
             M, "names the user's credentials or card"),
        Rule("secret_access.ml", 0.6,
             f"(?i)(?:прочитай|прочти|отправь|вставь|скопируй|lee|leer|env[ií]a|copia|lis|lisez|envoie|copie|lies|lese|sende|kopiere|leggi|invia|leia|envie|读取|讀取|发送|复制|読み(?:取|込)|送信|コピー|읽|보내|복사)[^\\n]{{0,60}}?(?P<obj>{_SECRET_STRONG})",
             M, "directs the model to read or disclose secrets or sensitive files"),
        Rule("hidden_whitespace", 1.0, r"\S[^\n]{0,200}?[ \t\x{a0}\x{3000}]{40,}\S|\S\s*(?:\n[ \t]*){6,}\S", M, "content hidden after long whitespace", mention_ok=False, roles=_DESC),
    ]  # fmt: skip
    return r


def _widen(pattern: str) -> str:
    """Make an embedded start anchor optional (Hyperscan rejects them); a trigger may
    match more than the rule, never less."""
    return pattern.replace("(?:^|", "(?:|")


# What Hyperscan looks for instead of a rule's whole pattern: parts that every match of
# the rule contains, all of them within the rule's longest match of each other. Used where
# the whole pattern is slow for Hyperscan (a long gap between big alternations) or
# rejected by it (embedded anchors). The pair rules (override, extraction) get their two
# slots in ``_rules``. Each candidate costs a window of RE2 work, so parts that are rare
# together make good triggers.
_SEND_VERB = r"\b(?:send|forward|e-?mail|mail|post|upload|transmit|leak|exfiltrate|share|copy|submit|cc|bcc|report)\b"
# Triggers report every end of every match, and each report is a Python call: a trigger
# that fires at every position of a run ("a@b.a@b...", "../../../...") costs more than
# all the rest. These forms report once per address, URL or run and still occur in
# every match of the full part (RE2 confirms around them).
_EXTERNAL_TRIGGER = (
    r"(?:@[\w-]+\.[\w-]|(?:https?|s?ftp|scp|rsync|smb|wss?)://|\bexternal(?:ly)?\b|third[- ]party|\bwebhook\b|\battacker\b|"
    r"\bpaste ?(?:bin|site)\b|\bpublic (?:gist|repo(?:sitory)?|bucket|channel|url|link)\b|\bgist\b|"
    r"outside (?:the|this) (?:organi[sz]ation|company|system)|\boutside\b)"
)
_RISK_TRIGGER = _widen(_RISK).replace(r"\.\./\.\./", r"(?:[^/]|[^.]/|[^.]\./)\.\./\.\./", 1)
# The verb and the tool name every match of the two tool_call rules contains (the whole
# patterns, clause starts included, cost Hyperscan more than any other rule). Written
# with its own case flags so both rules share one expression.
_TOOL_CALL_TRIGGER = rf"(?i)\b(?:call|invoke|use|run|execute|trigger)\s+(?:the\s+)?{_TOOL_NAME}"
_TRIGGERS: dict[str, tuple[str, ...]] = {
    "tool_call": (_TOOL_CALL_TRIGGER,),
    "tool_call.target": (_TOOL_CALL_TRIGGER,),
    "directive_risk": (_RISK_TRIGGER,),
    "secret_access": (_widen(_SECRET_STRONG),),
    # The secret slot sits mid-pattern in these (its end anchors are then embedded, which
    # Hyperscan rejects); every match contains it.
    "secret_param": (_widen(_SECRET_STRONG),),
    "secret_access.agent": (_widen(_SECRET_STRONG),),
    "secret_access.ml": (_widen(_SECRET_STRONG),),
    "ai_vocative": (_widen(_AI_VOCATIVE),),
    # The secret word with the preposition that opens the sink, in one expression: the two
    # words apart ("token", "response") are everywhere in API docs, together rarely.
    "secret_sink": (rf"\b{_SECRET_WEAK}\b[^.!?\n]{{0,60}}(?:in|into|to|inside|within|as)\s",),
    "exfil_send": (_SEND_VERB, _EXTERNAL_TRIGGER),
    "exfil_send.weak": (_SEND_VERB, _EXTERNAL_TRIGGER),
    "exfil_send.ml": (
        r"envo(?:ie|yez|yer)|env[ií]a|env[ií]e|enviar|sende|senden|schicke|invia|inviare|envie|отправь|отправьте|перешли|发送|发给|送信|送って|보내",
    ),
    # Two word lists with a gap of any non-sentence-ending characters between: Hyperscan
    # builds such a gap over UTF-8 slowly (tens of seconds); each list alone is quick.
    "phish.ml": (
        r"usuari[oa]|utilisat(?:eur|rice)|nutzer|benutzer|utente|usu[áa]rio|пользовател|用户|ユーザー|사용자|kullanıcı|gebruiker|użytkownik",
        r"contrase[ñn]a|tarjeta|datos bancarios|mot de passe|carte (?:bancaire|de cr[ée]dit)|passwort|kennwort|kreditkarte|bankdaten|carta di credito|senha|cart[ãa]o|пароль|карт|密码|信用卡|银行卡|パスワード|クレジットカード|비밀번호|카드",
    ),
    "destructive.ml": (
        r"supprime[zs]?|efface[zs]?|elimina|borra|l[öo]sche|entferne|cancella|apaga|exclua|удали(?:те)?|сотри|删除|清空|削除|삭제",
        r"fichiers|archivos|dateien|file|arquivos|файл|文件|ファイル|파일|r[ée]pertoire|directorio|verzeichnis|cartella|pasta|папк|目录|base de donn[ée]es|datenbank|database",
    ),
    "shadowing": (
        r"(?:always|must|also|first|instead|make sure to|be sure to|remember to|you should)\b|\b(?:instead|always|automatically|actually|secretly|silently|without)\b|\binstead of (?:calling|using|invoking)|\btool (?:replaces|supersedes|overrides|shadows)\b|\bany (?:other )?tool\b",
    ),
}


def _with_triggers(rules: list[Rule]) -> list[Rule]:
    out = []
    for r in rules:
        if r.name in _TRIGGERS:
            r = dataclasses.replace(r, trigger=_TRIGGERS[r.name])
        elif r.name.startswith("extraction.") and r.trigger is not None:
            # Every match names the system prompt; the verbs (show, print, output...) are
            # among the most frequent words of ordinary text and only cost reports.
            r = dataclasses.replace(r, trigger=r.trigger[1:])
        out.append(r)
    return out


RULES: tuple[Rule, ...] = tuple(_with_triggers(_rules()))
# Indices of rules switched off (used by bench/detection.py to measure generalisation).
DISABLED: set[int] = set()
# Rules that are descriptive sentences about the tool itself when they open a field.
_FIRST_SENTENCE_EXEMPT = frozenset(
    {"directive_risk", "destructive", "tool_call", "secret_sink", "exfil_send.weak", "no_confirm", "agent_action"}
)
# Signals that, in a tool description, are directives to the model rather than a description.
_DESC_DIRECTIVES = frozenset(
    {
        "directive_risk",
        "secret_sink",
        "exfil_send.weak",
        "tool_call",
        "no_confirm",
        "destructive",
        "protocol_smuggle",
        "priority_claim",
    }
)


def _compile(rule: Rule) -> re2._Regexp:
    pat = (
        rule.pattern
        if rule.case_sensitive or rule.pattern.startswith(("(?i)", "(?mi)"))
        else "(?i)" + rule.pattern
    )
    opts = re2.Options()
    opts.max_mem = 64 << 20
    return re2.compile(pat, opts)


_COMPILED = [_compile(r) for r in RULES]


def _without_groups(rx: re2._Regexp) -> re2._Regexp:
    """The same regex without capture groups: RE2 finds a match's span with its DFAs
    alone, while spans of groups cost a slower submatch pass over the whole window (for
    the few rules that have a group, it is asked for only when it is used)."""
    if not rx.groups:
        return rx
    free = re2.compile(re.sub(r"\(\?P<[A-Za-z_]\w*>", "(?:", rx.pattern), rx.options)
    return free if not free.groups else rx


_LOCATE = [_without_groups(rx) for rx in _COMPILED]


_MAX_WINDOW = 600  # characters either side of a candidate for rules with unbounded parts (their
# matches are sentence-bound in practice; only texts over FULL_SCAN_CHARS use windows)


def _max_len(rule: Rule) -> int:
    """Longest match of a rule in characters (capped); windows around triggers use it."""
    parser: Any = importlib.import_module("re._parser")
    try:
        src = re.sub(r"\\x\{([0-9a-fA-F]+)\}", lambda m: f"\\U{int(m.group(1), 16):08x}", rule.pattern)
        src = re.sub(r"\(\?-i:", "(?:", src)
        hi = int(parser.parse(src).getwidth()[1])
    except Exception:
        return _MAX_WINDOW
    return min(hi, _MAX_WINDOW)


_MAXLEN = [_max_len(r) for r in RULES]


def _hs_flags(rule: Rule, src: str) -> tuple[str, int]:
    assert _hs is not None
    flags = 0
    m = re.match(r"\(\?([ims]+)\)", src)
    if m:
        for c in m.group(1):
            flags |= {"i": _hs.HS_FLAG_CASELESS, "m": _hs.HS_FLAG_MULTILINE, "s": _hs.HS_FLAG_DOTALL}[c]
        src = src[m.end() :]
    elif not rule.case_sensitive:
        flags |= _hs.HS_FLAG_CASELESS
    if rule.pattern.startswith("(?mi)"):
        flags |= _hs.HS_FLAG_MULTILINE
    src = re.sub(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>", "(?:", src)
    if not src.isascii() or "\\x{" in src:
        flags |= _hs.HS_FLAG_UTF8
    return src, flags


def _hs_expressions(rule: Rule) -> list[tuple[bytes, int]]:
    """The rule's trigger parts (or its whole pattern) in Hyperscan's dialect, with flags.
    Whole patterns are compiled in prefilter mode: Hyperscan may report more than the
    rule matches, never less, and RE2 then decides."""
    assert _hs is not None
    if rule.trigger is None:
        src, flags = _hs_flags(rule, rule.pattern)
        return [(src.encode("utf-8"), flags | _hs.HS_FLAG_PREFILTER)]
    out = []
    for part in rule.trigger:
        src, flags = _hs_flags(rule, part)
        out.append((src.encode("utf-8"), flags))
    return out


# Hyperscan id -> the (rule index, trigger part) pairs it stands for: identical
# expressions are compiled once, so a shared part is reported (and paid for) once.
_PARTS: list[list[tuple[int, int]]] = []


class _Candidates:
    """One Hyperscan pass that says, per rule, where a match could end (character
    offsets). Built on first use and cached on disk like the pattern engine's database."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._db: Any = None
        self._exprs: list[tuple[bytes, int]] | None = None
        self._local = threading.local()
        self.available = _hs is not None

    def expressions(self) -> list[tuple[bytes, int]]:
        """The distinct Hyperscan expressions with their flags, in id order (an
        expression's id is its index). Another database may compile them after its own
        (the scanner's single pass) and hand the reports to :meth:`from_hits`."""
        assert _hs is not None
        with self._lock:
            if self._exprs is None:
                pairs: list[tuple[bytes, int]] = []
                index: dict[tuple[bytes, int], int] = {}
                _PARTS.clear()
                for i, r in enumerate(RULES):
                    for j, expr in enumerate(_hs_expressions(r)):
                        hid = index.get(expr)
                        if hid is None:
                            hid = index[expr] = len(pairs)
                            pairs.append(expr)
                            _PARTS.append([])
                        _PARTS[hid].append((i, j))
                self._exprs = pairs
            return self._exprs

    def _build(self) -> Any:
        assert _hs is not None
        exprs, flags = zip(*self.expressions(), strict=True)
        from mcpwall.detect.engine import cache_dir, database_path, load_database, store_database

        path = database_path(cache_dir(), "hs-injection", exprs, flags)
        db = load_database(path)
        if db is None:
            db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
            db.compile(expressions=list(exprs), ids=list(range(len(exprs))), flags=list(flags))
            store_database(db, path)
        return db

    def _database(self) -> Any:
        if self._db is None:
            with self._lock:
                if self._db is None:
                    try:
                        self._db = self._build()
                    except Exception:
                        log.exception("cannot compile the injection prefilter; every rule runs on every text")
                        self.available = False
                        raise
        return self._db

    def ends(self, text: str) -> dict[int, list[int]] | None:
        """Rule index -> candidate end offsets in ``text``; None when every rule must run."""
        if not self.available:
            return None
        try:
            db = self._database()
        except Exception:
            return None
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = db.scratch.clone()
            self._local.scratch = scratch
        raw = text.encode("utf-8", "surrogatepass")
        hits: list[tuple[int, int]] = []
        db.scan(raw, match_event_handler=_on_hit, context=hits, scratch=scratch)
        return self.from_hits(text, raw, hits)

    @staticmethod
    def from_hits(text: str, raw: bytes | None, hits: list[tuple[int, int]]) -> dict[int, list[int]]:
        """Rule index -> candidate end offsets in ``text`` from (expression id, byte end)
        reports of a scan of ``raw`` (``text`` in UTF-8; None when ``text`` is ASCII)."""
        if not hits:
            return {}
        if raw is not None and len(raw) != len(text):
            hits = _to_chars(raw, hits)
        by_id: dict[int, list[int]] = {}
        for hid, end in hits:
            lst = by_id.get(hid)
            if lst is None:
                by_id[hid] = [end]
            else:
                lst.append(end)
        parts: dict[tuple[int, int], list[int]] = {}
        for hid, ends_of in by_id.items():
            for key in _PARTS[hid]:
                parts[key] = ends_of
        out: dict[int, list[int]] = {}
        for (idx, part), ends in parts.items():
            if part != 0:
                continue
            k = len(RULES[idx].trigger or ())
            if k > 1:
                # every part must occur within the rule's longest match of the candidate
                width = _MAXLEN[idx]
                others = [sorted(parts.get((idx, j), ())) for j in range(1, k)]
                if not all(others):
                    continue
                ends = [e for e in ends if all(_near(o, e, width) for o in others)]
            if ends:
                out[idx] = ends
        return out


def _near(sorted_ends: list[int], e: int, width: int) -> bool:
    i = bisect.bisect_left(sorted_ends, e - width)
    return i < len(sorted_ends) and sorted_ends[i] <= e + width


def _on_hit(idx: int, _start: int, end: int, _flags: int, hits: list[tuple[int, int]]) -> None:
    hits.append((idx, end))


def _to_chars(raw: bytes, hits: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Byte ends to character ends, one forward pass over the sorted distinct ends."""
    n = len(raw)
    conv: dict[int, int] = {}
    last_b = last_c = 0
    for e in sorted({e for _, e in hits}):
        b = e
        while b < n and 0x80 <= raw[b] < 0xC0:
            b += 1  # a prefilter end inside a character: round up to the character's end
        b = max(b, last_b)
        last_c += len(raw[last_b:b].decode("utf-8", "surrogatepass"))
        last_b = b
        conv[e] = last_c
    return [(i, conv[e]) for i, e in hits]


_CANDIDATES = _Candidates()

_REMEDIATION = {
    "request": "Do not pass this argument to the tool as-is; it carries instructions aimed at the model. Confirm the request with the user.",
    "response": "Treat this tool output as untrusted data: withhold it from the model or strip the embedded instructions, and review the server.",
    "tool_description": "Do not expose this tool to the model until its description and schema are reviewed; disable or pin the server.",
}
_SENTENCE_END = re2.compile(r"(?:^|[^.])[.!?。！？]\s|\n")
_FIELD_START = re2.compile(r"(?m)^[\w .-]{1,40}:\s")

# ------------------------------------------------------------------- derived views

_ROT13_HINT = re2.compile(
    r"(?i)\b(?:gur|naq|lbh|lbhe|nyy|vtaber|cerivbhf|vafgehpgvbaf|flfgrz|cebzcg|fubj|eriryny)\b"
)
_REVERSED_HINT = re2.compile(
    r"(?i)\b(?:eht|dna|uoy|ruoy|lla|erongi|suoiverp|snoitcurtsni|metsys|tpmorp|laever)\b"
)
_LEET_HINT = re2.compile(r"[A-Za-z][013457@$][A-Za-z]|[013457][A-Za-z]{2}[013457]")
_SPACED_HINT = re2.compile(r"(?:\b\w\s){5,}\w\b")
_SPACED_RUN = re2.compile(r"(?:\b\w\s){3,}\w\b")
_MORSE_RUN = re2.compile(r"[.\-]{1,7}(?:\s{1,3}(?:/\s{1,3})?[.\-]{1,7}){7,}")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_MORSE = {
    ".-": "a", "-...": "b", "-.-.": "c", "-..": "d", ".": "e", "..-.": "f", "--.": "g", "....": "h",
    "..": "i", ".---": "j", "-.-": "k", ".-..": "l", "--": "m", "-.": "n", "---": "o", ".--.": "p",
    "--.-": "q", ".-.": "r", "...": "s", "-": "t", "..-": "u", "...-": "v", ".--": "w", "-..-": "x",
    "-.--": "y", "--..": "z", "-----": "0", ".----": "1", "..---": "2", "...--": "3", "....-": "4",
    ".....": "5", "-....": "6", "--...": "7", "---..": "8", "----.": "9", ".-.-.-": ".", "--..--": ",",
}  # fmt: skip


def _morse(run: str) -> str:
    words = re2.split(r"\s*/\s*|\s{3,}", run.strip())
    return " ".join("".join(_MORSE.get(c, "") for c in w.split()) for w in words)


# Any of the signs above, in one search: most texts show none, and one call through the
# RE2 wrapper costs about what the five do each.
_ANY_DERIVED_HINT = re2.compile(
    "(?i)"
    + "|".join(
        f"(?:{p.pattern.removeprefix('(?i)')})"
        for p in (_ROT13_HINT, _REVERSED_HINT, _LEET_HINT, _SPACED_HINT, _MORSE_RUN)
    )
)


def _derived(text: str) -> list[tuple[str, str]]:
    """Cheap de-obfuscations for short texts, each gated by a sign of that obfuscation."""
    if len(text) > MAX_DERIVED_LEN or not _ANY_DERIVED_HINT.search(text):
        return []
    out: list[tuple[str, str]] = []
    if _ROT13_HINT.search(text):
        out.append((codecs.decode(text, "rot13"), "rot13"))
    if _REVERSED_HINT.search(text):
        out.append((text[::-1], "reversed"))
    if _LEET_HINT.search(text):
        out.append((text.translate(_LEET), "leet"))
    if _SPACED_HINT.search(text):
        out.append((_SPACED_RUN.sub(lambda m: m.group(0).replace(" ", ""), text), "spaced"))
    m = _MORSE_RUN.search(text)
    if m:
        out.append((text[: m.start()] + _morse(m.group(0)) + text[m.end() :], "morse"))
    return out


# ------------------------------------------------------------------------ scoring


@dataclass(frozen=True, slots=True)
class _Hit:
    rule: int
    start: int
    end: int


def _sentence(text: str, start: int, end: int, raw: bytes | None = None) -> tuple[int, int]:
    # Slices, not pos/endpos: RE2's wrapper re-encodes the whole text on every call.
    # ``raw``: the text as ASCII bytes, matched by RE2 directly (the same offsets).
    lo = max(0, start - 300)
    s = lo
    hi = min(len(text), end + 300)
    if raw is not None:
        match = _SENTENCE_END._regexp.Match
        sub = raw[lo:start]
        pos, size = 0, len(sub)
        while True:  # finditer's walk; the pattern never matches empty
            a, b = match(_UNANCHORED, sub, pos, size)[0]
            if a < 0:
                break
            s = lo + b
            if pos == size:
                break
            pos = pos + 1 if pos == b else b
        a = match(_UNANCHORED, raw[end:hi], 0, hi - end)[0][0]
        return s, (end + a if a >= 0 else hi)
    for m in _SENTENCE_END.finditer(text[lo:start]):
        s = lo + m.end()
    m2 = _SENTENCE_END.search(text[end:hi])
    e = end + m2.start() if m2 else hi
    return s, e


def _found(rx: re2._Regexp, text: str, raw: bytes | None, lo: int, hi: int) -> bool:
    """``rx.search(text[lo:hi])`` found something (on ``raw``, ASCII bytes of ``text``,
    without the wrapper)."""
    if raw is not None:
        return bool(rx._regexp.Match(_UNANCHORED, raw[lo:hi], 0, len(raw[lo:hi]))[0][0] >= 0)
    return rx.search(text[lo:hi]) is not None


_JSON_VALUE = re2.compile(r'"[\w .-]{1,60}"\s*:\s*"$')
_PHRASE = 100  # longest quotation that reads as a quoted phrase rather than a passage


def _quoted(text: str, s: int, start: int, end: int, e: int) -> bool:
    before = text[s:start]
    after = text[end:e]
    o = before.rfind('"')
    # (not a docstring: code quoting its own prose stays discounted)
    if o >= 0 and before.count('"') % 2 == 1 and '""' not in text[max(0, s + o - 2) : s + o + 2]:
        c = text.find('"', end)
        if (c < 0 and len(text) - (s + o) > _PHRASE) or c - (s + o) > _PHRASE:
            return False
        if _JSON_VALUE.search(text[max(0, s + o - 80) : s + o + 1]):
            return False
    for q in ('"', "`", "\u201c", "\u00ab", "\u300c"):
        if before.count(q) % 2 == 1 or (q in ("\u201c", "\u00ab", "\u300c") and q in before):
            return True
    # single quotes double as apostrophes: require an opening quote right before a word
    # and a closing one after the match
    i = before.rfind("'")
    if i >= 0 and (i == 0 or not before[i - 1].isalnum()) and "'" in after:
        return True
    return start > 0 and text[start - 1] in _QUOTES and end < len(text) and text[end : end + 1] in _QUOTES


_SUBORDINATORS = frozenset(
    [
        "when",
        "whenever",
        "if",
        "before",
        "after",
        "once",
        "while",
        "unless",
        "for",
        "to",
        "always",
        "also",
        "note",
        "important",
        "instead",
        "then",
        "please",
    ]
)


def _is_first_sentence(text: str, start: int) -> bool:
    """True when ``start`` opens the text, or the description part of a ``name: desc`` line."""
    line_start = text.rfind("\n", 0, start) + 1
    seg_start = line_start
    fm = _FIELD_START.match(text[line_start : line_start + 64])
    if fm is not None and line_start + fm.end() <= start:
        seg_start = line_start + fm.end()
    elif line_start > 0:
        return False
    head = text[seg_start:start].strip(" \t\n-*#>:.")
    if not head:
        return True
    # Still inside an opening sentence that itself starts with a verb: a description of
    # what the tool does ("Execute a command ... and return stdout"), not a conditional.
    if _SENTENCE_END.search(text[seg_start:start]) is not None:
        return False
    first = head.split(None, 1)[0].lower().strip(",:")
    return first not in _SUBORDINATORS


# Instructions that belong to a thing, not to the model ("ignore the old assembly
# instructions"): an override naming them is ordinary advice. Only ever removes a hit.
_THING_INSTRUCTIONS = re2.compile(
    r"(?i)\b(?:assembly|installation|install|setup|build|mounting|washing|care|cooking|baking|shipping|delivery|"
    r"printed|paper|packaging|product|device|manufacturer'?s?|vendor'?s?)\s+(?:instructions?|rules?|guidelines)\b|"
    r"(?:instrucciones|instructions|consignes|anweisungen|istruzioni|instru[çc][õo]es)\s+(?:de|del|d'|für|zur|per|di|for)\s*"
    r"(?:montaje|instalaci[óo]n|uso|lavado|montage|installation|aufbau|assembly|installing|cooking|washing|lavaggio|montagem)|"
    # instructions that sit in the data ("do not follow instructions they contain")
    r"\b(?:instructions?|directives?|commands?)\s+(?:that |which )?(?:they|it|the (?:page|email|result|document)s?)\s+contains?\b|"
    r"\b(?:instructions?|commands?)\s+(?:found |embedded |contained |hidden )?(?:in|inside|within) (?:the |a |an |any |retrieved |fetched |"
    r"untrusted |external )?(?:content|pages?|e-?mails?|results?|documents?|data|text|tool output|web)"
)


# "You must call list_rooms first": a sibling tool as a prerequisite, the ordinary way
# descriptions order calls (what follows decides: a target or a secret has its own signals)
_PREREQUISITE = re.compile(r"\s*(?:tool\s+)?(?:first|beforehand|before (?:calling|using) (?:this|it))\b\s*(?:[;,.)]|$|to (?:get|find|obtain|look up|list|check))", re.I)


_UNANCHORED = re2._Anchor.UNANCHORED


def _spans(idx: int, text: str, ends: list[int] | None, raw: bytes | None = None) -> Iterator[tuple[int, int, Any]]:
    """Matches of rule ``idx``: over the whole of a short text (exactly what RE2 finds),
    in windows around the candidate ends in a long one (each at most the rule's longest
    match either side, so work stays proportional to the candidates). ``raw``: the text
    in ASCII bytes when it is ASCII (offsets are then the same in both), matched without
    the RE2 wrapper's per-call re-encoding and offset conversion."""
    rx, locate = _COMPILED[idx], _LOCATE[idx]
    n = len(text)
    if ends is None or n <= FULL_SCAN_CHARS:
        if raw is not None:
            yield from _byte_matches(rx, locate, raw, 0, 0, False)
            return
        for m in locate.finditer(text):
            yield m.start(), m.end(), m if locate is rx else _Shifted(rx, text, m.start(), 0)
        return
    width = _MAXLEN[idx] + 1
    regions: list[list[int]] = []
    for e in sorted(set(ends)):
        lo, hi = max(0, e - width), min(n, e + width)
        if regions and lo <= regions[-1][1]:
            regions[-1][1] = max(regions[-1][1], hi)
        else:
            regions.append([lo, hi])
    for lo, hi in regions:
        # One character of left context, so that anchors and word boundaries at the cut
        # see the real text; a match running into the right edge may be cut short.
        ctx = 1 if lo > 0 else 0
        if raw is not None:
            yield from _byte_matches(rx, locate, raw[lo - ctx : hi], ctx, lo - ctx, hi < n)
            continue
        sub = text[lo - ctx : hi]
        pos = ctx
        while pos <= len(sub):
            m = locate.search(sub, pos)
            if m is None or m.start() < ctx:
                break
            if hi < n and m.end() >= len(sub):
                break
            if m.end() == m.start():
                pos = m.end() + 1
                continue
            yield lo - ctx + m.start(), lo - ctx + m.end(), _Shifted(rx, sub, m.start(), lo - ctx)
            pos = m.end()


def _byte_matches(rx: re2._Regexp, locate: re2._Regexp, sub: bytes, pos: int, shift: int,
                  cut: bool) -> Iterator[tuple[int, int, Any]]:
    """The window loop of :func:`_spans` on ASCII bytes (``cut``: the window ends before
    the text does); with ``pos`` 0 and no cut, the same matches as ``finditer``."""
    size = len(sub)
    match = locate._regexp.Match
    if not cut and pos == 0 and shift == 0:
        # finditer: every match, empty ones included, stepping past an empty match
        while True:
            s, e = match(_UNANCHORED, sub, pos, size)[0]
            if s < 0:
                return
            yield s, e, _Shifted(rx, sub, s, 0)
            if pos == size:
                return
            pos = pos + 1 if pos == e else e
    while pos <= size:
        s, e = match(_UNANCHORED, sub, pos, size)[0]
        if s < 0:
            return
        if cut and e >= size:
            return
        if e == s:
            pos = e + 1
            continue
        yield shift + s, shift + e, _Shifted(rx, sub, s, shift)
        pos = e


class _Shifted:
    """A match found in ``sub`` at ``at`` (a window of the text starting at ``shift``),
    with offsets in the whole text; its groups are found only when asked for, by the
    rule's own regex from the match's start (the same match: same start, same text)."""

    __slots__ = ("_at", "_rx", "_shift", "_sub")

    def __init__(self, rx: re2._Regexp, sub: str | bytes, at: int, shift: int) -> None:
        self._rx = rx
        self._sub = sub
        self._at = at
        self._shift = shift

    def start(self, group: int = 0) -> int:
        if group == 0:
            return self._at + self._shift
        sub = self._sub
        if isinstance(sub, bytes):
            s: int = self._rx._regexp.Match(_UNANCHORED, sub, self._at, len(sub))[group][0]
        else:
            m = self._rx.search(sub, self._at)
            assert m is not None
            s = m.start(group)
        return s + self._shift if s >= 0 else s


def _hits(text: str, role: str, cands: dict[int, list[int]] | bool | None = False) -> list[_Hit]:
    """Signals in ``text``; ``cands`` are its candidates when a pass the caller made
    already found them (``False``: look for them here)."""
    if cands is False:
        cands = _CANDIDATES.ends(text)
    assert cands is not True
    if cands is not None and not cands:
        return []
    out: list[_Hit] = []
    raw = text.encode("ascii") if text.isascii() else None
    for idx in sorted(cands) if cands is not None else range(len(RULES)):
        if idx in DISABLED:
            continue
        rule = RULES[idx]
        if rule.roles is not None and role not in rule.roles:
            continue
        n = 0
        for start, end, m in _spans(idx, text, cands[idx] if cands is not None else None, raw):
            if end <= start:
                continue
            if rule.name in _FIRST_SENTENCE_EXEMPT and role == "tool_description":
                word = start
                while word < end and not text[word].isalnum():
                    word += 1
                if _is_first_sentence(text, word):
                    continue
            gi = _COMPILED[idx].groupindex.get("obj")
            if gi is not None:
                ostart = m.start(gi)
                line_start = text.rfind("\n", 0, ostart) + 1
                if ostart >= 0 and text.count("`", line_start, ostart) % 2 == 1:
                    continue
            if rule.name.startswith("override.") and _found(_THING_INSTRUCTIONS, text, raw, start, end + 40):
                continue
            if rule.name == "tool_call" and _PREREQUISITE.match(text, end):
                continue
            if rule.mention_ok:
                s, e = _sentence(text, start, end, raw)
                if _quoted(text, s, start, end, e) or _found(_MENTION, text, raw, s, e):
                    continue
            out.append(_Hit(idx, start, end))
            n += 1
            if n >= MAX_HITS_PER_RULE:
                break
    return out


def _clusters(hits: list[_Hit], role: str, text: str) -> list[tuple[float, list[_Hit]]]:
    """Groups of nearby hits whose distinct-rule weights reach the threshold."""
    hits.sort(key=lambda h: h.start)
    bonus = 0.4 if role == "tool_description" else 0.0
    out: list[tuple[float, list[_Hit]]] = []
    used: set[int] = set()
    for i, h in enumerate(hits):
        if i in used:
            continue
        best: dict[str, tuple[float, int]] = {}
        for j, o in enumerate(hits):
            if abs(o.start - h.start) > WINDOW:
                continue
            family = RULES[o.rule].name.split(".")[0]
            w = RULES[o.rule].weight
            if family not in best or best[family][0] < w:
                best[family] = (w, j)
        score = sum(w for w, _ in best.values())
        # A directive inside a tool description that is not the tool's own opening
        # sentence is aimed at the model, not describing the tool.
        if bonus and any(RULES[hits[j].rule].name in _DESC_DIRECTIVES for _, j in best.values()):
            score += bonus
        if score >= THRESHOLD:
            members = [hits[j] for _, j in best.values()]
            used.update(j for _, j in best.values())
            out.append((score, members))
    return out


def detect(text: str, *, role: str, path: str, variants: list[Variant],
           candidates: list[dict[int, list[int]] | None] | None = None) -> list[Finding]:
    """Injection (or, for ``role="tool_description"``, tool-poisoning) findings in ``text``.

    ``variants`` are the normaliser's views of ``text`` (raw first). Spans refer to
    ``text`` for the raw view and cover the whole field for decoded views.
    ``candidates``, when given, holds per variant what :func:`candidates_from_hits` made
    of a Hyperscan pass the caller already ran over it with :func:`hs_expressions`
    (None for a variant the caller did not scan).
    """
    category = "tool_poisoning" if role == "tool_description" else "prompt_injection"
    views: list[tuple[str, str]] = [(v.text, v.layer) for v in variants] or [(text, "raw")]
    findings: list[Finding] = []
    seen_rules: set[str] = set()

    def run(views: list[tuple[str, str]], given: list[dict[int, list[int]] | None] | None = None) -> None:
        for i, (view, layer) in enumerate(views):
            # None: that view was not in the caller's pass, look here
            cands: dict[int, list[int]] | bool | None = False
            if given is not None and given[i] is not None:
                cands = given[i]
            for score, members in _clusters(_hits(view, role, cands), role, view):
                top = max(members, key=lambda h: RULES[h.rule].weight)
                rule = RULES[top.rule]
                key = rule.name.split(".")[0]
                if key in seen_rules:
                    continue
                seen_rules.add(key)
                severity = max(RULES[h.rule].severity for h in members)
                if score >= 2.0 and severity < Severity.CRITICAL:
                    severity = Severity(severity + 1)
                if layer != "raw":
                    severity = max(severity, Severity.HIGH)
                start = min(h.start for h in members)
                end = max(h.end for h in members)
                span = (start, end) if layer == "raw" else (0, len(text))
                signals = sorted({RULES[h.rule].name for h in members})
                findings.append(
                    Finding(
                        category=category,
                        rule=f"{category}.{rule.name}",
                        severity=severity,
                        message=rule.message + ("" if layer == "raw" else f" (hidden in {layer} layer)"),
                        path=path,
                        span=span,
                        detector="injection",
                        remediation=_REMEDIATION.get(role, _REMEDIATION["response"]),
                        extra={
                            "score": round(score, 2),
                            "signals": signals,
                            "layer": layer,
                            "excerpt": view[start:end][:200],
                        },
                    )
                )

    run(views, candidates if candidates is not None and len(candidates) == len(views) else None)
    if not findings:
        run(_derived(text))
    return findings


def hs_expressions() -> list[tuple[bytes, int]] | None:
    """The detector's Hyperscan expressions (id = index), for a caller that scans with
    them in its own pass and passes the reports on through ``detect(candidates=...)``;
    None when Hyperscan is not available."""
    if not _CANDIDATES.available:
        return None
    return _CANDIDATES.expressions()


def candidates_from_hits(text: str, raw: bytes | None, hits: list[tuple[int, int]]) -> dict[int, list[int]]:
    """``detect``'s candidates for one view from (expression id, byte end) reports of a
    scan of its UTF-8 bytes ``raw`` (None when the view is ASCII)."""
    return _CANDIDATES.from_hits(text, raw, hits)
