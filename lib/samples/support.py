"""A seeded customer-support conversation dataset with planted, documented data-quality problems.

Every problem planted is listed by row index in the manifest, so the data-quality checks can be
tested against ground truth and a newcomer can see what each check is supposed to find.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

SYSTEM_PROMPT = "You are a helpful support assistant for Northwind Outfitters, an online outdoor-gear shop."

FIRST_NAMES = ["Ava", "Liam", "Maya", "Noah", "Zoe", "Ethan", "Priya", "Omar", "Lena", "Kenji", "Sofia", "Marcus"]
LAST_NAMES = ["Nguyen", "Smith", "Garcia", "Okafor", "Müller", "Rossi", "Kowalski", "Tanaka", "Brown", "Haddad"]
PRODUCTS = [
    "trail running shoes",
    "two-person tent",
    "down sleeping bag",
    "hydration pack",
    "rain jacket",
    "trekking poles",
    "camp stove",
    "headlamp",
    "merino base layer",
    "climbing harness",
    "kayak paddle",
]
CARRIERS = ["UPS", "FedEx", "DHL", "USPS"]
CHANNELS = ["chat", "email", "web form"]

# Each topic: openers, details and assistant replies are combined at random, so rows vary
# like real tickets instead of repeating one template (which would look like near-duplicates).
TOPICS: dict[str, dict[str, list[str]]] = {
    "shipping": {
        "user": [
            "Hi, my order {order} still hasn't arrived.",
            "Where is my package? The order number is {order}.",
            "I ordered a {product} ten days ago and the tracking page hasn't changed since Monday.",
            "Can you check the delivery status for order {order}? It was supposed to arrive yesterday.",
        ],
        "detail": [
            "I need it for a trip this weekend.",
            "The tracking number from {carrier} says label created only.",
            "It's a gift, so I'm a bit worried.",
            "I already waited the five business days your site mentions.",
            "",
        ],
        "assistant": [
            "Thanks for reaching out. I checked order {order}: it left our warehouse on {date} with {carrier} "
            "and is currently in transit. Deliveries in your area are running about two days behind, so it "
            "should arrive by {date2}.",
            "I'm sorry about the delay. Your {product} shipped with {carrier}, but the carrier has not scanned it "
            "since {date}. I've opened a trace with them, and if it doesn't move within 48 hours we'll send a "
            "replacement at no cost.",
            "I can see order {order} was split into two shipments. The first one was delivered on {date}; the "
            "second, with your {product}, is scheduled for {date2}. You'll get an email as soon as it's out for delivery.",
        ],
    },
    "returns": {
        "user": [
            "I'd like to return the {product} I bought last week.",
            "The {product} I received is the wrong size. How do I exchange it?",
            "My {product} arrived damaged. What are my options?",
            "Can I still return a {product} after 40 days?",
        ],
        "detail": [
            "I haven't used it.",
            "The box was crushed when it arrived.",
            "I still have the receipt and the tags.",
            "Order number {order}.",
            "",
        ],
        "assistant": [
            "Of course. Returns are free within 60 days for unused items. I've emailed you a prepaid {carrier} "
            "label for order {order}; once we receive the {product}, your refund is issued within 3 to 5 business days.",
            "I'm sorry it arrived damaged. Please reply with a photo of the {product} and the packaging, and I'll "
            "ship a replacement today, before we even receive the damaged one.",
            "Exchanges are easy: start one from the Orders page, choose the new size, and we'll ship it as soon as "
            "the carrier scans your return. Your original {product} stays reserved for you until then.",
        ],
    },
    "billing": {
        "user": [
            "I was charged twice for order {order}.",
            "Why is there a pending charge on my card from Northwind?",
            "My discount code didn't apply at checkout.",
            "Can I get an invoice with my company's VAT number for order {order}?",
        ],
        "detail": [
            "The amount was ${amount}.",
            "My bank shows two transactions on {date}.",
            "The code was TRAIL15.",
            "",
        ],
        "assistant": [
            "I checked and see one completed charge of ${amount} and one authorisation hold. The hold is released "
            "automatically by your bank within 5 business days, so you will only pay once.",
            "Sorry about that. The code TRAIL15 excludes sale items, which is why it didn't apply to your {product}. "
            "As a one-time courtesy I've refunded 15% (${amount}) to your original payment method.",
            "Certainly. I've regenerated the invoice for order {order} with your VAT number; you can download it from "
            "the Orders page, and a copy is on its way to your email.",
        ],
    },
    "account": {
        "user": [
            "I can't log in to my account.",
            "How do I reset my password?",
            "Please delete my account and my data.",
            "I want to change the email address on my account.",
        ],
        "detail": [
            "The reset email never arrives.",
            "It says my password is wrong but I'm sure it's right.",
            "I don't use the account anymore.",
            "",
        ],
        "assistant": [
            "I've sent a new password-reset link; it is valid for 30 minutes. If it isn't in your inbox, please "
            "check the spam folder, since some providers filter our automated emails.",
            "Your account was locked after five failed sign-in attempts, which is a security measure. I've unlocked "
            "it; you can sign in again now, and I recommend resetting the password afterwards.",
            "I've started the deletion. Your account and personal data will be removed within 30 days, as required "
            "by our privacy policy; order records we must keep for tax purposes are anonymised.",
        ],
    },
    "product": {
        "user": [
            "Is the {product} waterproof?",
            "What's the difference between your two {product} models?",
            "Will the {product} be back in stock soon?",
            "Does the {product} come with a warranty?",
        ],
        "detail": [
            "I'm planning a week in Scotland.",
            "I need it before the end of the month.",
            "The product page doesn't say.",
            "",
        ],
        "assistant": [
            "The {product} is water-resistant, rated for light rain, but not fully waterproof. For a wet week in the "
            "hills I'd pair it with our rain jacket, which has taped seams and a 20,000 mm rating.",
            "We expect a restock of the {product} on {date2}. You can tap 'notify me' on the product page and we'll "
            "email you the moment it's available.",
            "Every {product} carries our two-year warranty against manufacturing defects, and our lifetime repair "
            "service covers wear and tear at cost.",
        ],
    },
}

FOREIGN_ROWS = [
    (
        "fr",
        "Bonjour, ma commande {order} n'est toujours pas arrivée. Pouvez-vous vérifier ?",
        "Bonjour, votre colis a été expédié le {date} avec {carrier} et devrait arriver d'ici deux jours.",
    ),
    (
        "de",
        "Hallo, ich möchte meinen Schlafsack zurückgeben. Wie funktioniert das?",
        "Gerne. Rücksendungen sind innerhalb von 60 Tagen kostenlos; das Etikett haben wir Ihnen per E-Mail geschickt.",
    ),
    (
        "es",
        "Hola, me cobraron dos veces el pedido {order}. ¿Me pueden ayudar?",
        "Hola, uno de los cargos es solo una retención temporal que su banco liberará en unos días.",
    ),
    (
        "it",
        "Buongiorno, la tenda che ho ricevuto è danneggiata. Cosa posso fare?",
        "Ci dispiace molto. Le spediremo subito una tenda nuova senza costi aggiuntivi.",
    ),
    (
        "pt",
        "Olá, não consigo entrar na minha conta. Podem me ajudar?",
        "Olá! Enviamos um novo link para redefinir a senha; ele é válido por 30 minutos.",
    ),
]

HTML_WRAPPERS = [
    "<p>{text}</p>",
    '<div class="reply">{text}<br><br>Best regards,<br><b>Northwind Support</b></div>',
    '{text} <a href="https://help.example.com/returns">Read our returns policy</a>.',
    "<html><body><p>{text}</p><script>track('support_reply')</script></body></html>",
]

# Luhn-valid numbers from the card networks' published test ranges, never real accounts.
TEST_CARDS = [
    "4111 1111 1111 1111",
    "5555 5555 5555 4444",
    "3782 822463 10005",
    "6011 1111 1111 1117",
    "4012888888881881",
]


@dataclass
class SupportRow:
    """One conversation: the chat messages plus the ticket metadata the CSV carries."""

    id: str
    created_at: str
    channel: str
    topic: str
    user: str
    assistant: str
    response_seconds: float
    csat: int | None


@dataclass
class SupportDataset:
    """The rows and, per planted problem, the indices of the rows that carry it."""

    rows: list[SupportRow]
    planted: dict[str, list[int]] = field(default_factory=dict)
    duplicate_of: dict[int, int] = field(default_factory=dict)


def generate_support_dataset(seed: int = 7, base_rows: int = 3000) -> SupportDataset:
    """Build the dataset: `base_rows` clean conversations, then each problem planted on its own rows."""
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, 8, 0, 0)
    rows = [_clean_row(rng, i, start) for i in range(base_rows)]
    data = SupportDataset(rows)

    used: set[int] = set()

    def fresh(count: int) -> list[int]:
        free = [i for i in range(base_rows) if i not in used]
        picks = rng.sample(free, count)
        used.update(picks)
        return sorted(picks)

    for name, count, change in [
        ("email", 45, lambda r: _append(r, "user", f" You can reach me at {_email(rng)}.")),
        ("phone", 40, lambda r: _append(r, "user", f" My number is {_phone(rng)} if that's easier.")),
        ("card_number", 20, lambda r: _append(r, "user", f" The card I used was {rng.choice(TEST_CARDS)}.")),
        ("html", 30, lambda r: setattr(r, "assistant", rng.choice(HTML_WRAPPERS).format(text=r.assistant))),
        ("very_long", 10, lambda r: _append(r, "user", "\n\nHere is the full log:\n" + _long_log(rng))),
        ("empty", 25, lambda r: setattr(r, rng.choice(["user", "assistant"]), rng.choice(["", " ", "\n"]))),
        (
            "response_time_outlier",
            12,
            lambda r: setattr(r, "response_seconds", float(rng.choice([86400, 43210, 99999, -5]))),
        ),
    ]:
        picks = fresh(count)
        data.planted[name] = picks
        for i in picks:
            change(rows[i])

    foreign = fresh(30)
    data.planted["non_english"] = foreign
    for i in foreign:
        _language, user, assistant = rng.choice(FOREIGN_ROWS)
        slots = _slots(rng, start)
        rows[i].user, rows[i].assistant = user.format(**slots), assistant.format(**slots)

    # Duplicates are appended copies of clean rows, so the originals stay where they were.
    originals = [i for i in range(base_rows) if i not in used]
    for name, count, edit in [("exact_duplicate", 60, None), ("near_duplicate", 90, _small_edit)]:
        for source in rng.sample(originals, count):
            copy = SupportRow(**vars(rows[source]))
            copy.id = f"conv-{len(rows):05d}"
            if edit:
                copy.assistant = edit(rng, copy.assistant)
            data.duplicate_of[len(rows)] = source
            data.planted.setdefault(name, []).append(len(rows))
            rows.append(copy)
    return data


def _clean_row(rng: random.Random, index: int, start: datetime) -> SupportRow:
    topic = rng.choice(list(TOPICS))
    parts = TOPICS[topic]
    slots = _slots(rng, start)
    user = " ".join(p for p in [rng.choice(parts["user"]), rng.choice(parts["detail"])] if p).format(**slots)
    assistant = rng.choice(parts["assistant"]).format(**slots)
    created = start + timedelta(minutes=index * 37 + rng.randint(0, 30))
    return SupportRow(
        id=f"conv-{index:05d}",
        created_at=created.isoformat(),
        channel=rng.choice(CHANNELS),
        topic=topic,
        user=user,
        assistant=assistant,
        response_seconds=round(rng.lognormvariate(4.0, 0.6), 1),
        csat=rng.choice([None, 3, 4, 4, 5, 5, 5, 2, 1]),
    )


def _slots(rng: random.Random, start: datetime) -> dict[str, str]:
    day = start + timedelta(days=rng.randint(0, 80))
    return {
        "order": f"NW-{rng.randint(100000, 999999)}",
        "product": rng.choice(PRODUCTS),
        "carrier": rng.choice(CARRIERS),
        "date": day.strftime("%B %d"),
        "date2": (day + timedelta(days=rng.randint(2, 6))).strftime("%B %d"),
        "amount": f"{rng.randint(19, 480)}.{rng.randint(0, 99):02d}",
    }


def _append(row: SupportRow, field_name: str, text: str) -> None:
    setattr(row, field_name, getattr(row, field_name) + text)


def _email(rng: random.Random) -> str:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return f"{first.lower()}.{last.lower().replace('ü', 'u')}{rng.randint(1, 99)}@{rng.choice(['gmail.com', 'outlook.com', 'example.org'])}"


def _phone(rng: random.Random) -> str:
    return rng.choice(
        [
            f"+1 (555) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
            f"+44 20 7946 {rng.randint(1000, 9999)}",
            f"555-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
        ]
    )


def _long_log(rng: random.Random) -> str:
    lines = [
        f"2026-10-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z ERROR checkout "
        f"payment_intent={rng.randint(10**8, 10**9)} status=requires_action retry={n}"
        for n in range(rng.randint(220, 320))
    ]
    return "\n".join(lines)


def _small_edit(rng: random.Random, text: str) -> str:
    """A change a human would still call the same reply: a word dropped or swapped, a sign-off added."""
    words = text.split()
    choice = rng.randrange(3)
    if choice == 0 and len(words) > 8:
        del words[rng.randrange(len(words))]
    elif choice == 1 and len(words) > 8:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    else:
        words.append(rng.choice(["Thanks!", "Have a great day.", "Cheers,"]))
    return " ".join(words)
