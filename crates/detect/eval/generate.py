"""Labelled evaluation set for confidant-detect.

Writes JSON lines, one document per line:
    {"text": "...", "labels": [{"start": 12, "end": 31, "kind": "card_number"}, ...]}
Offsets are UTF-8 byte offsets (end exclusive), as the detector reports them.

Documents mix letters, CSV and TSV tables (headers named as exports name
them, cells quoted as RFC 4180 says), log lines and config snippets built
with Faker in several locales, embed values of the detector's kinds, and add
hard negatives (order and invoice numbers, timestamps, ISBNs, tracking
numbers, UUIDs, digit runs that fail the checksums, dates that are not birth
dates, numbered title-case phrases ending in a word that is also a street
suffix, company names in tables) that carry no label.

    python generate.py OUT.jsonl [--docs 2000] [--seed 7]

The same seed always gives the same file (with the pinned Faker version).
Where Faker makes values that cannot exist, they are fixed or drawn again:
phone numbers are kept only when libphonenumber calls them valid, JCB
numbers only in JCB's range (3528-3589), and NINOs are built by HMRC's
prefix and suffix rules (Faker's en_GB ssn() is the placeholder "ZZ...T").
"""

import argparse
import datetime
import json
import random
import string

import phonenumbers
from faker import Faker

LOCALES = ["en_US", "en_GB", "en_CA", "de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT"]
IBAN_LOCALES = ["de_DE", "en_GB", "fr_FR", "nl_NL", "es_ES", "it_IT"]


class Doc:
    """Text built piece by piece, with byte-offset labels."""

    def __init__(self):
        self.parts = []
        self.size = 0
        self.labels = []

    def add(self, text, kind=None):
        data = text.encode("utf-8")
        if kind is not None:
            self.labels.append({"start": self.size, "end": self.size + len(data), "kind": kind})
        self.parts.append(text)
        self.size += len(data)

    def json(self):
        return {"text": "".join(self.parts), "labels": self.labels}


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.f = {}
        for i, loc in enumerate(LOCALES):
            fk = Faker(loc)
            fk.seed_instance(seed * 100 + i)
            self.f[loc] = fk

    # ---------------------------------------------------------------- values

    def pick(self, xs):
        return self.r.choice(xs)

    def card(self):
        kinds = ["visa16", "visa16", "mastercard", "mastercard", "amex", "discover", "jcb16", "diners", "visa19"]
        card_type = self.pick(kinds)
        while True:
            raw = self.f["en_US"].credit_card_number(card_type=card_type)
            # Faker's JCB numbers start with any "35"; JCB's range is 3528-3589.
            if card_type != "jcb16" or 3528 <= int(raw[:4]) <= 3589:
                break
        style = self.r.random()
        if style < 0.45:
            return raw
        sep = " " if style < 0.8 else "-"
        if len(raw) == 15:  # Amex 4-6-5
            groups = [raw[:4], raw[4:10], raw[10:]]
        elif len(raw) == 14:  # Diners 4-6-4
            groups = [raw[:4], raw[4:10], raw[10:]]
        else:
            groups = [raw[i : i + 4] for i in range(0, len(raw), 4)]
        return sep.join(groups)

    def iban(self):
        raw = self.f[self.pick(IBAN_LOCALES)].iban()
        if self.r.random() < 0.5:
            return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))
        return raw

    def routing(self):
        return self.f["en_US"].aba()

    def ssn(self):
        s = self.f["en_US"].ssn()
        if self.r.random() < 0.15:
            return s.replace("-", " ")
        return s

    def national_id(self):
        if self.r.random() < 0.5:
            # Faker's en_GB ssn() is the placeholder "ZZ .. .. .. T", which no
            # NINO can be: build one by the allocation rules instead.
            first = "ABCEGHJKLMNOPRSTWXYZ"
            second = "ABCEGHJKLMNPRSTWXYZ"
            while True:
                prefix = self.pick(first) + self.pick(second)
                if prefix not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
                    break
            n = self.digits(6) if self.r.random() < 0.9 else "0" + self.digits(5)
            v = f"{prefix} {n[:2]} {n[2:4]} {n[4:]} {self.pick('ABCD')}"
            return v.replace(" ", "") if self.r.random() < 0.3 else v
        v = self.f["en_CA"].ssn()  # a Canadian SIN with a valid Luhn digit, "123 456 782"
        return v.replace(" ", "-") if self.r.random() < 0.3 else v

    def phone(self):
        # Faker draws digits at random, so many of its numbers are not
        # numbers at all (unassigned area codes, wrong lengths). Only those
        # libphonenumber calls valid for the locale's region are labelled.
        loc = self.pick(["en_US", "en_US", "en_GB", "en_CA"])
        region = {"en_US": "US", "en_GB": "GB", "en_CA": "CA"}[loc]
        while True:
            v = self.f[loc].phone_number()
            if "x" in v:  # keep the extension out of the value
                v = v.split("x")[0].rstrip()
            try:
                if phonenumbers.is_valid_number(phonenumbers.parse(v, region)):
                    return v
            except phonenumbers.NumberParseException:
                pass

    def email(self):
        return self.f[self.pick(LOCALES)].email()

    def address(self):
        if self.r.random() < 0.6:
            fk = self.f["en_US"]
            return f"{fk.street_address()}, {fk.city()}, {fk.state_abbr(include_territories=False)} {fk.zipcode()}"
        fk = self.f["en_GB"]
        street = fk.street_address().replace("\n", ", ")
        return f"{street}, {fk.city()}, {fk.postcode()}"

    def dob(self):
        # Fixed bounds: Faker's date_of_birth() and iso8601() count from today,
        # which would make the set change from day to day.
        d = self.f["en_US"].date_between_dates(datetime.date(1936, 1, 1), datetime.date(2007, 12, 31))
        fmt = self.pick(["%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%B %d, %Y", "%d %B %Y"])
        return d.strftime(fmt)

    def other_date(self):
        """A date that is not anyone's birth date (an order, a payment)."""
        d = self.f["en_US"].date_between_dates(datetime.date(2010, 1, 1), datetime.date(2026, 1, 1))
        fmt = self.pick(["%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%B %d, %Y", "%d %B %Y"])
        return d.strftime(fmt)

    def stamp(self):
        t = self.f["en_US"].date_time_between_dates(datetime.datetime(2015, 1, 1), datetime.datetime(2026, 1, 1))
        return t.isoformat()

    def token(self):
        a = string.ascii_letters + string.digits
        up = string.ascii_uppercase + string.digits
        c = self.r.randrange(5)
        if c == 0:
            return "AKIA" + "".join(self.r.choice(up) for _ in range(16))
        if c == 1:
            return "ghp_" + "".join(self.r.choice(a) for _ in range(36))
        if c == 2:
            return "sk_live_" + "".join(self.r.choice(a) for _ in range(24))
        if c == 3:
            return "xoxb-" + "-".join("".join(self.r.choice(string.digits) for _ in range(12)) for _ in range(2)) + "-" + "".join(self.r.choice(a) for _ in range(24))
        return "AIza" + "".join(self.r.choice(a + "_-") for _ in range(35))

    def password(self):
        return self.f["en_US"].password(length=self.r.randrange(10, 20), special_chars=False)

    def name(self):
        return self.f[self.pick(["en_US", "en_GB", "en_CA", "de_DE", "fr_FR"])].name()

    def first_last(self):
        fk = self.f[self.pick(["en_US", "en_GB", "en_CA"])]
        return f"{fk.first_name()} {fk.last_name()}"

    # -------------------------------------------------------- hard negatives

    def digits(self, n):
        return str(self.r.randrange(1, 10)) + "".join(self.r.choice(string.digits) for _ in range(n - 1))

    def luhn_ok(self, s):
        total = 0
        for i, ch in enumerate(reversed(s)):
            d = int(ch)
            if i % 2 == 1:
                d *= 2
                if d > 9:
                    d -= 9
            total += d
        return total % 10 == 0

    def bad_luhn(self, n):
        while True:
            s = self.digits(n)
            if not self.luhn_ok(s):
                return s

    def bad_aba(self):
        while True:
            s = self.digits(9)
            w = [3, 7, 1] * 3
            if sum(int(c) * k for c, k in zip(s, w)) % 10 != 0:
                return s

    def isbn13(self):
        body = "978" + self.digits(9)
        total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body))
        isbn = body + str((10 - total % 10) % 10)
        if self.r.random() < 0.5:
            return f"{isbn[:3]}-{isbn[3]}-{isbn[4:8]}-{isbn[8:12]}-{isbn[12]}"
        return isbn

    def negative(self):
        """A phrase with nothing to report."""
        fk = self.f["en_US"]
        c = self.r.randrange(16)
        if c == 0:
            return f"Order #{self.bad_luhn(self.pick([12, 14, 16]))} has shipped"
        if c == 1:
            return f"invoice {self.bad_luhn(16)} paid"
        if c == 2:
            return f"ISBN {self.isbn13()}"
        if c == 3:
            return f"tracking number 1Z{''.join(self.r.choice(string.ascii_uppercase + string.digits) for _ in range(16))}"
        if c == 4:
            return f"USPS tracking {self.digits(22)}"
        if c == 5:
            return f"request id {fk.uuid4()}"
        if c == 6:
            return f"at {self.stamp()}Z"
        if c == 7:
            return f"epoch {self.r.randrange(1_500_000_000_000, 1_800_000_000_000)}"
        if c == 8:
            return f"ref {self.bad_luhn(self.pick([13, 15, 16, 19]))}"
        if c == 9:
            return f"batch {self.bad_aba()}"
        if c == 10:
            return f"total ${self.r.randrange(10, 99999)}.{self.r.randrange(100):02d}"
        if c == 11:
            return f"version {self.r.randrange(1, 20)}.{self.r.randrange(30)}.{self.r.randrange(100)}"
        if c == 12:
            return f"confirmation code {self.digits(10)}"
        if c == 13:
            return f"{self.pick(['issued', 'paid on', 'shipped', 'renewal due', 'meeting on'])} {self.other_date()}"
        if c == 14:
            # Numbered title-case phrases whose last word is also a street suffix.
            return self.pick([
                "Apollo 11 Mission", "Top 10 Beach Resorts", "Season 3 Finale", "Terminal 5 Bus Station",
                "Chapter 7 Data Key", "Section 4 Test Run", "Building 2 Car Park", "Level 5 Boss Fight",
                "Windows 11 Start Menu", "Gate 12 Departure Lounge", "Top 5 Ski Resorts", "Step 3 Review Summary",
            ])
        return f"SKU {self.pick(string.ascii_uppercase)}{self.pick(string.ascii_uppercase)}-{self.digits(6)}"

    # ------------------------------------------------------------- snippets

    def sentence(self):
        return self.f["en_US"].sentence(nb_words=self.r.randrange(6, 14))

    def labelled(self, d, kind):
        """Appends a value of `kind` with a natural lead-in phrase."""
        r = self.r
        if kind == "card_number":
            lead = self.pick(["Card number: ", "paid with Visa ", "credit card ", "Please charge card ", "CC: ", "card on file ", ""])
            d.add(lead)
            d.add(self.card(), kind)
        elif kind == "iban":
            d.add(self.pick(["IBAN: ", "Please transfer to IBAN ", "bank account (IBAN) ", "Kontonummer/IBAN ", ""]))
            d.add(self.iban(), kind)
        elif kind == "routing_number":
            d.add(self.pick(["Routing number: ", "ABA routing ", "routing # ", "RTN ", "bank routing number "]))
            d.add(self.routing(), kind)
        elif kind == "ssn":
            d.add(self.pick(["SSN: ", "Social Security number ", "SSN ", "ss# ", "social security no. "]))
            d.add(self.ssn(), kind)
        elif kind == "national_id":
            v = self.national_id()
            if v[0].isalpha():
                d.add(self.pick(["National Insurance number: ", "NINO ", "NI number "]))
            else:
                d.add(self.pick(["SIN: ", "Social Insurance Number ", "SIN "]))
            d.add(v, kind)
        elif kind == "phone":
            d.add(self.pick(["Phone: ", "call me at ", "mobile ", "Tel. ", "reach us on ", ""]))
            d.add(self.phone(), kind)
        elif kind == "email":
            d.add(self.pick(["Email: ", "write to ", "contact ", "<", ""]))
            d.add(self.email(), kind)
        elif kind == "postal_address":
            d.add(self.pick(["Address: ", "ship to ", "mailing address ", "lives at ", ""]))
            d.add(self.address(), kind)
        elif kind == "date_of_birth":
            d.add(self.pick(["DOB: ", "Date of birth: ", "born on ", "birthdate "]))
            d.add(self.dob(), kind)
        elif kind == "secret":
            if r.random() < 0.5:
                key = self.pick(["password", "db_password", "API_KEY", "client_secret", "auth_token"])
                d.add(f"{key} = ")
                d.add(self.password() if "pass" in key else self.token(), kind)
            else:
                d.add(self.pick(["token ", "key: ", "export AWS_ACCESS_KEY_ID=", "Authorization: Bearer "]) if r.random() < 0.6 else "")
                d.add(self.token(), kind)
        elif kind == "person_name":
            c = r.randrange(5)
            if c == 0:
                d.add(self.pick(["Name: ", "Customer: ", "Cardholder: ", "Patient: "]))
                d.add(self.name(), kind)
            elif c == 1:
                d.add("Dear ")
                d.add(self.first_last(), kind)
            elif c == 2:
                d.add(self.pick(["Mr ", "Ms. ", "Dr. ", "Mrs "]))
                d.add(self.f[self.pick(["en_US", "en_GB"])].last_name(), kind)
            else:
                # running text with no cue
                d.add(self.first_last(), kind)
                d.add(self.pick([" called yesterday", " will join the meeting", " signed the form"]))

    KINDS = [
        "card_number", "iban", "routing_number", "ssn", "national_id", "phone",
        "email", "postal_address", "date_of_birth", "secret", "person_name",
    ]

    def letter(self, d):
        d.add(f"Subject: {self.sentence()}\n\n")
        for _ in range(self.r.randrange(2, 5)):
            d.add(self.sentence() + " ")
            roll = self.r.random()
            if roll < 0.6:
                self.labelled(d, self.pick(self.KINDS))
                d.add(". ")
            elif roll < 0.85:
                d.add(self.negative() + ". ")
            d.add(self.sentence() + "\n")
        d.add("\nBest regards,\n" + self.f["en_GB"].company() + "\n")

    # Header labels as exports name their columns; "created" holds dates
    # that are not birth dates and "order" numbers that fail the checksums.
    HEADERS = {
        "name": ["name", "full_name", "Name", "customer"],
        "email": ["email", "e-mail", "Email Address", "email_address"],
        "phone": ["phone", "phone_number", "Phone", "mobile", "tel"],
        "ssn": ["ssn", "SSN", "social_security_number", "ssn_number"],
        "card": ["card", "card_number", "cc_number", "credit_card"],
        "iban": ["iban", "IBAN", "bank_account_iban"],
        "dob": ["dob", "DOB", "date_of_birth", "birth_date", "dateOfBirth"],
        "order": ["order", "order_id", "order_no"],
        "address": ["address", "street_address", "mailing_address", "Address"],
        "created": ["created", "created_at", "order_date", "updated"],
    }

    def csv(self, d):
        """A comma- or tab-separated table. Cells holding the delimiter or a
        quote are quoted as RFC 4180 says (as Python's csv writer does)."""
        delim = "\t" if self.r.random() < 0.25 else ","
        cols = self.r.sample(list(self.HEADERS), 4)
        d.add(delim.join(self.pick(self.HEADERS[c]) for c in cols) + "\n")
        for _ in range(self.r.randrange(2, 6)):
            for i, col in enumerate(cols):
                if i:
                    d.add(delim)
                value, kind = {
                    "name": lambda: (self.name(), "person_name"),
                    "email": lambda: (self.email(), "email"),
                    "phone": lambda: (self.phone(), "phone"),
                    "ssn": lambda: (self.ssn(), "ssn"),
                    "card": lambda: (self.card(), "card_number"),
                    "iban": lambda: (self.iban(), "iban"),
                    "dob": lambda: (self.dob(), "date_of_birth"),
                    "order": lambda: (self.bad_luhn(self.pick([10, 12, 16])), None),
                    "address": lambda: (self.address(), "postal_address"),
                    "created": lambda: (self.other_date(), None),
                }[col]()
                if delim in value or '"' in value:
                    d.add('"')
                    d.add(value.replace('"', '""'), kind)
                    d.add('"')
                else:
                    d.add(value, kind)
            d.add("\n")

    def vendors(self, d):
        """A table of companies, not people: the names are hard negatives;
        e-mail addresses and phone numbers are labelled."""
        header = self.pick(["company,email,phone", "name,email,phone", "supplier,order_id,created", "account_name,phone"])
        d.add(header + "\n")
        cols = header.split(",")
        for _ in range(self.r.randrange(2, 6)):
            for i, col in enumerate(cols):
                if i:
                    d.add(",")
                if col in ("company", "name", "supplier", "account_name"):
                    value = self.f[self.pick(["en_US", "en_GB", "de_DE", "fr_FR"])].company()
                    if "," in value or '"' in value:
                        value = '"' + value.replace('"', '""') + '"'
                    d.add(value)
                elif col == "email":
                    d.add(self.email(), "email")
                elif col == "phone":
                    d.add(self.phone(), "phone")
                elif col == "order_id":
                    d.add(self.bad_luhn(self.pick([10, 12, 16])))
                else:
                    d.add(self.other_date())
            d.add("\n")

    def log(self, d):
        fk = self.f["en_US"]
        for _ in range(self.r.randrange(3, 8)):
            d.add(f"{self.stamp()}Z {self.pick(['INFO', 'WARN', 'ERROR', 'DEBUG'])} {fk.ipv4()} {self.pick(['GET', 'POST'])} {fk.uri_path()} {self.pick([200, 201, 404, 500])} {self.r.randrange(1, 3000)}ms ")
            roll = self.r.random()
            if roll < 0.35:
                self.labelled(d, self.pick(["email", "phone", "card_number", "ssn", "secret", "iban"]))
            elif roll < 0.7:
                d.add(self.negative())
            else:
                d.add(f"user_id={self.r.randrange(10**5, 10**8)} session={fk.uuid4()}")
            d.add("\n")

    def config(self, d):
        fk = self.f["en_US"]
        d.add(f"[{self.pick(['database', 'service', 'billing', 'smtp'])}]\n")
        d.add(f"host = {fk.hostname()}\nport = {self.r.randrange(1024, 65535)}\n")
        for _ in range(self.r.randrange(1, 4)):
            self.labelled(d, "secret")
            d.add("\n")
        d.add(f"timeout_ms = {self.r.randrange(100, 60000)}\nbuild = {fk.sha1()[:12]}\n")
        if self.r.random() < 0.5:
            d.add("admin_email = ")
            d.add(self.email(), "email")
            d.add("\n")

    def document(self):
        d = Doc()
        for i in range(self.r.randrange(1, 4)):
            if i:
                d.add("\n")
            self.pick([self.letter, self.letter, self.csv, self.log, self.config, self.vendors])(d)
        return d.json()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--docs", type=int, default=2000)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    g = Gen(a.seed)
    with open(a.out, "w", encoding="utf-8") as out:
        for _ in range(a.docs):
            out.write(json.dumps(g.document(), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
