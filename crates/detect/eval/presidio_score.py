"""Scores Microsoft Presidio's pattern and checksum recognizers on the labelled
set that generate.py writes, with the same rule as the detector's eval
example: a result is a true positive when an unmatched label of the same kind
overlaps it; other results are false positives; unmatched labels are false
negatives.

No NLP model is loaded (none can be downloaded here): the recognizers are
instantiated one by one and called with nlp_artifacts=None, so Presidio's
context enhancement (which needs lemmas) is off, and its PERSON recognizer
(spaCy NER) is not run. Results are kept at Presidio's default threshold (0,
every result; "min0") and, as a second figure, at 0.5 ("min05", the
detector's own reporting threshold). Overlapping results of one kind are
merged with EntityRecognizer.remove_duplicates, as AnalyzerEngine does.

    python presidio_score.py SET.jsonl   # prints one JSON object
"""

import json
import sys
import time

import tldextract
import tldextract.tldextract
from presidio_analyzer import EntityRecognizer
from presidio_analyzer.predefined_recognizers import (
    AbaRoutingRecognizer,
    CaSinRecognizer,
    CreditCardRecognizer,
    DateRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    PhoneRecognizer,
    UkNinoRecognizer,
    UkPostcodeRecognizer,
    UsSsnRecognizer,
)

# Presidio entity -> our kind. Presidio has no pattern recognizer for
# secrets, person names (spaCy NER only) or street addresses; its UK
# postcode recognizer is counted as postal_address (a postcode overlaps the
# labelled address), its date recognizer (any date) as date_of_birth.
ENTITY_KIND = {
    "CREDIT_CARD": "card_number",
    "IBAN_CODE": "iban",
    "ABA_ROUTING_NUMBER": "routing_number",
    "US_SSN": "ssn",
    "UK_NINO": "national_id",
    "CA_SIN": "national_id",
    "PHONE_NUMBER": "phone",
    "EMAIL_ADDRESS": "email",
    "UK_POSTCODE": "postal_address",
    "DATE_TIME": "date_of_birth",
}


def recognizers():
    out = []
    for cls in [
        CreditCardRecognizer,
        IbanRecognizer,
        AbaRoutingRecognizer,
        UsSsnRecognizer,
        UkNinoRecognizer,
        CaSinRecognizer,
        PhoneRecognizer,
        EmailRecognizer,
        UkPostcodeRecognizer,
        DateRecognizer,
    ]:
        r = cls()
        out.append((r, list(r.supported_entities)))
    return out


def byte_offsets(text):
    """Character index -> byte offset, for index 0..=len(text)."""
    if text.isascii():
        return None
    table = [0]
    for ch in text:
        table.append(table[-1] + len(ch.encode("utf-8")))
    return table


def score(labels, found, counts):
    matched = [False] * len(labels)
    for kind, start, end in found:
        c = counts.setdefault(kind, {"tp": 0, "fp": 0, "fn": 0})
        for i, lab in enumerate(labels):
            if not matched[i] and lab["kind"] == kind and lab["start"] < end and start < lab["end"]:
                matched[i] = True
                c["tp"] += 1
                break
        else:
            c["fp"] += 1
    for lab, m in zip(labels, matched):
        if not m:
            counts.setdefault(lab["kind"], {"tp": 0, "fp": 0, "fn": 0})["fn"] += 1


def main():
    # The e-mail recognizer checks domains with tldextract, which would try to
    # download the public suffix list; use the snapshot it ships instead.
    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    recs = recognizers()
    # Warm up (one-time loads such as the suffix list are not timed).
    for r, entities in recs:
        r.analyze("Call +1 212 555 0100 or write to a@example.com, card 4111 1111 1111 1111.", entities, nlp_artifacts=None)
    kinds = sorted(set(ENTITY_KIND.values()))
    counts = {"min0": {}, "min05": {}}
    seconds = 0.0
    nbytes = 0
    docs = 0
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            doc = json.loads(line)
            text = doc["text"]
            started = time.perf_counter()
            results = []
            for r, entities in recs:
                results.extend(r.analyze(text, entities, nlp_artifacts=None))
            results = EntityRecognizer.remove_duplicates(results)
            seconds += time.perf_counter() - started
            nbytes += len(text.encode("utf-8"))
            docs += 1
            table = byte_offsets(text)
            found = []
            for res in results:
                kind = ENTITY_KIND.get(res.entity_type)
                if kind is None:
                    continue
                s, e = (res.start, res.end) if table is None else (table[res.start], table[res.end])
                found.append((kind, s, e, res.score))
            # Only the kinds Presidio covers are scored.
            labels = [lab for lab in doc["labels"] if lab["kind"] in kinds]
            score(labels, [(k, s, e) for k, s, e, _ in found], counts["min0"])
            score(labels, [(k, s, e) for k, s, e, sc in found if sc >= 0.5], counts["min05"])
    print(
        json.dumps(
            {
                "docs": docs,
                "bytes": nbytes,
                "seconds": seconds,
                "kinds": kinds,
                "per_kind": counts["min0"],
                "per_kind_min05": counts["min05"],
            }
        )
    )


if __name__ == "__main__":
    main()
