"""A small question-answer evaluation set with reference answers, and a text for perplexity demos."""

from __future__ import annotations

import random

from lib.samples.support import TOPICS, _slots

# (question, reference answer, other acceptable answers)
QA_PAIRS: list[tuple[str, str, list[str]]] = [
    ("What is the capital of France?", "Paris", ["Paris, France"]),
    ("What is the capital of Japan?", "Tokyo", []),
    ("What is the largest planet in the Solar System?", "Jupiter", []),
    ("What is the chemical symbol for gold?", "Au", []),
    ("How many continents are there?", "Seven", ["7"]),
    ("Who wrote 'Romeo and Juliet'?", "William Shakespeare", ["Shakespeare"]),
    ("What is the boiling point of water at sea level in Celsius?", "100 degrees Celsius", ["100", "100 °C"]),
    ("What gas do plants absorb from the air for photosynthesis?", "Carbon dioxide", ["CO2"]),
    ("What is the longest river in Africa?", "The Nile", ["Nile"]),
    ("How many days are there in a leap year?", "366", ["366 days"]),
    ("What is the square root of 81?", "9", ["nine"]),
    ("Which planet is known as the Red Planet?", "Mars", []),
    ("What is the freezing point of water in Fahrenheit?", "32 degrees Fahrenheit", ["32", "32 °F"]),
    ("Who painted the Mona Lisa?", "Leonardo da Vinci", ["da Vinci", "Leonardo"]),
    ("What is the smallest prime number?", "2", ["two"]),
    ("What language is spoken in Brazil?", "Portuguese", []),
    ("What is the hardest natural substance?", "Diamond", []),
    ("How many minutes are in an hour?", "60", ["sixty"]),
    ("What organ pumps blood through the human body?", "The heart", ["heart"]),
    ("What is the currency of the United Kingdom?", "The pound sterling", ["pound", "GBP"]),
    ("How long do Northwind customers have to return unused items?", "60 days", ["sixty days"]),
    ("How long is a Northwind password-reset link valid?", "30 minutes", ["thirty minutes"]),
    ("How long is the warranty on Northwind products?", "Two years", ["2 years"]),
    (
        "Within how many days is a Northwind refund issued after the return arrives?",
        "3 to 5 business days",
        ["3-5 business days"],
    ),
    ("How many failed sign-in attempts lock a Northwind account?", "Five", ["5"]),
    ("What does the discount code TRAIL15 exclude?", "Sale items", []),
    ("How long does a bank take to release an authorisation hold?", "Up to 5 business days", ["5 business days"]),
    ("Within how many days is a deleted Northwind account's data removed?", "30 days", ["thirty days"]),
    ("What water rating does the Northwind rain jacket have?", "20,000 mm", ["20000 mm"]),
    ("What does lifetime repair service cover?", "Wear and tear, at cost", ["wear and tear"]),
]


def qa_eval_rows() -> list[dict]:
    """The evaluation set as rows: id, question, reference, and the other answers that also count."""
    return [
        {"id": f"qa-{i:03d}", "question": q, "reference": ref, "aliases": aliases}
        for i, (q, ref, aliases) in enumerate(QA_PAIRS)
    ]


def help_centre_text(seed: int = 7, entries: int = 40) -> str:
    """A help-centre article in plain English (a few thousand tokens) for perplexity demos."""
    rng = random.Random(seed)
    from datetime import datetime

    start = datetime(2026, 9, 1)
    paragraphs = [
        "Northwind Outfitters Help Centre",
        "This page collects the questions our customers ask most often, with the answers our support team "
        "gives. It covers shipping, returns and exchanges, billing, your account, and our products. If your "
        "question is not answered here, our team is available by chat and email every day from 8 am to 8 pm.",
    ]
    for _ in range(entries):
        topic = TOPICS[rng.choice(list(TOPICS))]
        slots = _slots(rng, start)
        questions, answers = rng.choice(topic["cases"])
        question, answer = rng.choice(questions).format_map(slots), rng.choice(answers).format_map(slots)
        paragraphs.append(f"Question: {question}\nAnswer: {answer}")
    return "\n\n".join(paragraphs) + "\n"
