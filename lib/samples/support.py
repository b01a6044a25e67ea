"""A seeded customer-support conversation dataset with planted, documented data-quality problems.

Every problem planted is listed by row index in the manifest, so the data-quality checks can be
tested against ground truth and a newcomer can see what each check is supposed to find: the profiler's
counts on the demo files equal the manifest's (lib.samples.writer.expected_profiles).

That needs clean rows that are duplicates of nothing, exactly or nearly. Built from a few templates, the
clean rows once made 812 exact and 1,190 near duplicates of each other, drowning the 60 and 90 planted.
So a conversation is assembled at random from large pools (a greeting, one of two phrasings of a
question, details, a sign-off; an opener, one of two answers to that question, extra sentences, a
closing) with per-row slot values ({order}, {product}, names, dates), and then `_separate` makes sure of
it: it finds, exactly, every pair of rows whose word 5-gram Jaccard similarity (on the normalised text,
as the profiler's MinHash sees it) is above SEPARATION = 0.5, well below the profiler's 0.7, and
regenerates the later row of each from the same seeded generator until none is left. It does so for the
conversation as the profiler flattens it (system prompt included) and for the user message alone (the
CSV's column with the PII and the logs). Planted rows take part (a regenerated row gets its problem
again); only the appended duplicate copies are left out. Rows also keep to a length band, so the pasted
logs are the only length outliers, and replies take 25 to 100 seconds, so the planted response times are
the only numeric outliers. Everything draws from one random.Random(seed): a seed always writes the same
rows.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from lib.quality.normalize import normalize

SYSTEM_PROMPT = "You are a helpful support assistant for Northwind Outfitters, an online outdoor-gear shop."

SEPARATION = 0.5  # the highest word 5-gram Jaccard similarity allowed between two rows that are not planted copies
NEAR_COPY_FLOOR = 0.8  # the lowest similarity of a near-duplicate copy to its source (the profiler asks for 0.7)
NGRAM = 5  # the profiler's shingle size (lib.quality.dedup.DEFAULT_NGRAM)
# Every row but the pasted logs stays within these lengths (characters; the conversation as flattened, and the
# user message when it is not the blanked one), so the profiler's length outliers (a robust z-score of the log
# length above 3.5) are exactly the planted very_long rows: the band's ends sit near z = 2.5 on both views.
CONVERSATION_CHARS = (330, 950)
USER_CHARS = (90, 340)

FIRST_NAMES = [
    "Ava", "Liam", "Maya", "Noah", "Zoe", "Ethan", "Priya", "Omar", "Lena", "Kenji", "Sofia", "Marcus", "Ines",
    "Tom", "Hannah", "Diego", "Chloe", "Samir", "Freya", "Jonas", "Amara", "Lucas", "Nina", "Felix", "Grace", "Ravi",
]  # fmt: skip
LAST_NAMES = ["Nguyen", "Smith", "Garcia", "Okafor", "Müller", "Rossi", "Kowalski", "Tanaka", "Brown", "Haddad"]
AGENTS = ["Jess", "Ollie", "Mei", "Tariq", "Rosa", "Ben", "Anja", "Kofi", "Lucy", "Mateo"]
PRODUCTS = [
    "pair of trail running shoes", "two-person tent", "down sleeping bag", "hydration pack", "rain jacket",
    "pair of trekking poles", "camp stove", "headlamp", "merino base layer", "climbing harness", "kayak paddle",
    "insulated jacket", "pair of hiking boots", "daypack", "sleeping mat", "water filter", "fleece jacket",
    "bivvy bag", "pair of gaiters", "camping hammock",
]  # fmt: skip
CARRIERS = ["UPS", "FedEx", "DHL", "USPS"]
CHANNELS = ["chat", "email", "web form"]
CITIES = ["Leeds", "Denver", "Lyon", "Utrecht", "Portland", "Glasgow", "Boulder", "Hamburg", "Bristol", "Calgary"]
COUNTRIES = ["Canada", "Ireland", "Norway", "Australia", "Japan", "Switzerland", "New Zealand", "Iceland"]
REGIONS = ["Scotland", "the Lake District", "the Rockies", "Patagonia", "the Alps", "Norway", "the Pyrenees"]
COLOURS = ["olive", "navy", "orange", "charcoal", "red", "sand", "teal", "black"]
SIZES = ["S", "M", "L", "XL", "38", "40", "42", "44"]
DEVICES = ["phone", "laptop", "tablet", "work computer", "old iPad"]
CARD_TYPES = ["Visa", "Mastercard", "Amex", "debit"]
RELATIVES = ["sister", "brother", "dad", "mum", "partner", "son", "daughter", "best friend", "grandad"]
CODES = ["TRAIL15", "SUMMIT10", "WELCOME10", "BASECAMP20", "AUTUMN25"]

USER_GREETINGS = [
    "Hi!", "Hello.", "Hi there!", "Hey.", "Good morning!", "Good afternoon.", "Good evening.", "Hello team.",
    "Hi Northwind!", "Hi support team.", "Hi, {first} here.", "Hello, this is {first} {last}.", "Hi, quick question.",
    "", "", "",
]  # fmt: skip
USER_SIGN_OFFS = [
    "Thanks.", "Thanks in advance!", "Thank you.", "Appreciate any help.", "Cheers, {first}", "Best, {first} {last}",
    "Many thanks, {first}", "Looking forward to hearing from you.", "Thanks for your help!", "Please advise.",
    "", "", "",
]  # fmt: skip
ASSISTANT_OPENERS = [
    "Hi {first}, thanks for reaching out.", "Hello {first},", "Thanks for getting in touch, {first}.",
    "Hi {first}, {agent} here from Northwind support.", "Thanks for your patience, {first}.",
    "Hello {first}, I can help with that.", "Hi {first}!", "Thanks for the message, {first}.",
    "Hi there, thanks for contacting Northwind.", "Hi {first}, happy to help.", "",
]  # fmt: skip
ASSISTANT_CLOSINGS = [
    "Is there anything else I can help with?", "Have a great trip!", "Let me know if you have any other questions.",
    "Happy trails, {agent}", "Best regards, {agent} at Northwind Support", "Thanks for shopping with us.",
    "Enjoy the outdoors!", "I hope this helps.", "Just reply here if anything changes.", "Kind regards, {agent}",
    "Take care, {first}.", "", "",
]  # fmt: skip

# Each topic: cases (two ways a customer asks a question, two ways support answers it), details a
# customer adds and extra sentences support adds, combined at random with the greetings and closings
# above and per-row slot values, so rows vary like real tickets and every reply answers its question.
TOPICS: dict[str, dict[str, list]] = {
    "shipping": {
        "cases": [
            (("My order {order} still hasn't arrived.", "Could you tell me what's happening with order {order}? It was meant to be here by {date}."),
             ("I checked order {order}: it left our warehouse on {date} with {carrier} and is in transit. Deliveries in your area are running about {days} days behind, so it should reach you by {date2}.",
              "Order {order} is with {carrier} and moving normally; their last scan was at the {city} hub on {date}. The updated estimate is {date2}, and I'll keep an eye on it.")),
            (("Where is my package? The order number is {order}.", "Can you check where my parcel is? I ordered on {date} and haven't received a dispatch update since."),
             ("Your package left us on {date} and {carrier} expects to deliver it on {date2}. The tracking link is in your shipping confirmation email if you'd like to follow it.",
              "I've looked up order {order}: it was handed to {carrier} on {date} and is now at their depot in {city}, due with you by {date2}.")),
            (("I ordered a {product} on {date} and the tracking page hasn't changed since.", "My {product} has been showing the same tracking status since {date}."),
             ("I'm sorry about the delay. Your {product} shipped with {carrier}, but the carrier has not scanned it since {date}. I've opened a trace with them, and if it doesn't move within 48 hours we'll send a replacement at no cost.",
              "A tracking page that stops updating usually means the first scan was missed. I've asked {carrier} to confirm they have your {product}, and I'll write back by {date2} either way.")),
            (("The tracking for my {product} says delivered, but there is nothing at my door.", "I got a delivered notification for my {product} on {date}, but I never received it."),
             ("{carrier} marked the parcel as delivered on {date}, which sometimes happens a day before the actual drop-off. If it hasn't appeared by tomorrow evening, reply here and I'll file a lost-parcel claim for you.",
              "I'm sorry, that's frustrating. The driver's note says it was left in a safe place, so please check with neighbours and any porch or bin store. If the {product} hasn't turned up by {date2}, we'll send another one.")),
            (("{carrier} left a note saying they couldn't deliver my parcel.", "I missed a delivery from {carrier} yesterday and the card they left is hard to read."),
             ("The parcel is waiting at the {carrier} depot in {city}. You can collect it with photo ID, or I can ask them to attempt delivery again on {date2}.",
              "No problem. I've asked {carrier} to redeliver on {date2}; if that day doesn't suit you, the card they left has a link to choose another day or a pickup point.")),
            (("Do you ship to {country}, and how long does it usually take?", "How long does delivery to {country} take, and are there import fees?"),
             ("Yes, we ship to {country}. Standard delivery takes {days} to {days2} business days, and duties are included in the price at checkout, so there is nothing extra to pay on arrival.",
              "We do. Orders to {country} go out with {carrier} and usually arrive within {days2} business days, and express is available at checkout for most items.")),
            (("Only half of my order {order} turned up today.", "Part of order {order} arrived, but the {product} wasn't in the box."),
             ("Order {order} was split into two shipments. The first one was delivered on {date}; the second, with your {product}, is scheduled for {date2}.",
              "Sorry for the confusion: the {product} was packed separately because it ships from our second warehouse. It's on its way with {carrier} and due on {date2}.")),
            (("I paid for express delivery on my {product} and it's now three days late.", "I paid extra for express shipping on order {order}, and it still hasn't come."),
             ("Since you paid for express delivery and it is running late, I've refunded the ${amount} shipping charge to your original payment method. The parcel itself is moving again and due on {date2}.",
              "You're right, it should have arrived by {date}. I've refunded the express fee of ${amount}, and {carrier} has confirmed the {product} is on the van for tomorrow.")),
            (("My package seems to be stuck at the {carrier} depot in {city}.", "The {carrier} tracking has said 'at depot, {city}' for days now."),
             ("I can see the warehouse packed your order on {date}, but {carrier} only collected it two days later. It's now at their {city} depot and out for delivery on {date2}.",
              "Depots in {city} are catching up after a backlog this week. I've raised it with {carrier}, and they've promised to move order {order} by {date2}.")),
        ],
        "detail": [
            "I need it for a trip on {date2}.",
            "The tracking number from {carrier} says label created only.",
            "It's a birthday present for my {relative}, so I'm a bit worried.",
            "I already waited the {days} business days your site mentions.",
            "Nobody in the building signed for it, and I was home all day on {date}.",
            "The {carrier} app shows no scans for {days} days.",
            "My neighbours at number {house} haven't seen it either.",
            "I'm away from {date2}, so I won't be home to receive it after that.",
            "The last update says it left the sorting centre in {city}.",
            "I live in a flat in {city} with a shared entrance.",
            "I need the {product} for {region} next month.",
            "I've ordered from you {times} times and never had this before.",
        ],
        "extra": [
            "You'll get a tracking email as soon as it's out for delivery.",
            "Tracking updates can take up to 24 hours to appear on the {carrier} site.",
            "I've also added a note to your account so any colleague can pick this up.",
            "If that date doesn't suit you, the {carrier} page lets you pick another delivery day.",
            "Parcels to {city} sometimes go through a regional hub first, which adds a day.",
            "I've flagged the order as urgent so the warehouse gives it priority.",
            "There is nothing you need to do on your side for now.",
            "If a neighbour took it in, the card from the driver usually says which door.",
        ],
    },
    "returns": {
        "cases": [
            (("I'd like to return the {product} I bought last week.", "How do I send back a {product} from order {order}? It isn't what I expected."),
             ("Returns are free within 60 days for unused items. I've emailed you a prepaid {carrier} label for order {order}; once we receive the {product}, your refund is issued within 3 to 5 business days.",
              "Of course. Start the return from the Orders page, print the label or show the QR code at any {carrier} drop-off, and we'll refund you as soon as it's scanned in.")),
            (("The {product} I received is the wrong size. How do I exchange it?", "I need a different size of the {product} I ordered on {date}."),
             ("Exchanges are easy: start one from the Orders page, choose the new size, and we'll ship it as soon as the carrier scans your return. Your {product} stays reserved until then.",
              "Tell me the size you need and I'll set the exchange up for you. The new {product} ships today, and you have 30 days to send the first one back with the label in the box.")),
            (("My {product} arrived damaged. What are my options?", "The {product} from order {order} came broken. Can you help?"),
             ("I'm sorry it arrived damaged. Please reply with a photo of the {product} and the packaging, and I'll ship a replacement today, before we even receive the damaged one.",
              "That shouldn't happen. You can choose a full refund of ${amount} or a replacement, and either way there's no need to send the damaged {product} back.")),
            (("Can I still return a {product} after {weeks} weeks?", "Is it too late to send back the {product} I bought on {date}?"),
             ("Our usual window is 60 days, but we can make an exception here. I've issued a return label anyway, and the refund of ${amount} will go back as store credit.",
              "Yes, as long as it's unused: our return window is 60 days from delivery. Your order arrived on {date}, so you're still within it.")),
            (("I sent back my {product} on {date} but haven't had a refund yet.", "You should have received my returned {product} by now, but the refund hasn't shown up."),
             ("Your return reached our warehouse on {date2}. Refunds are processed in the order they arrive, and yours was approved this morning, so the ${amount} should show on your statement within five business days.",
              "I can see {carrier} still has the parcel in transit to us. As soon as it's scanned at the warehouse, the ${amount} refund goes out automatically, and I've set a reminder to chase it on {date2}.")),
            (("The return label you emailed me won't scan at the {carrier} drop-off point.", "The {carrier} shop says my return barcode is invalid."),
             ("Sorry about the label. I've generated a fresh one with a new barcode and sent it to your inbox; the old one expired after 14 days.",
              "Some {carrier} points only accept printed labels. I've sent a new label as a PDF you can print, and a QR code as a backup for staffed counters.")),
            (("I received a {product} in {colour} instead of the colour I ordered.", "The {product} I got is the wrong colour; it's {colour}."),
             ("That's our mistake. Keep the {colour} one if you like it, or send it back with the label I've attached; the right colour ships today either way.",
              "Apologies for the mix-up. The correct {product} is on its way with {carrier} and should arrive by {date2}, and a prepaid return label for the {colour} one is in your email.")),
            (("Is it possible to return only one item from order {order}?", "Can I keep most of order {order} and just send back the {product}?"),
             ("Of course, you can return a single item. Select only the {product} in the returns form and the rest of order {order} stays as it is.",
              "Yes. Partial returns are refunded per item, so you'll get ${amount} back for the {product} once it reaches us.")),
            (("I bought a {product} as a gift. Can the recipient return it without the receipt?", "My {relative} got a {product} from me and wants to exchange it. How does that work?"),
             ("Gift returns don't need a receipt. The recipient can enter order {order} in our returns form and choose store credit, and the buyer won't be notified.",
              "Yes. The packing slip doubles as a gift receipt, and with it the recipient can exchange the {product} or get store credit worth ${amount}.")),
        ],
        "detail": [
            "I haven't used it, and the tags are still on.",
            "The box was crushed when it arrived on {date}.",
            "I still have the receipt from {date}.",
            "The order number is {order}.",
            "I'd prefer store credit if that's quicker.",
            "It's still in the original packaging.",
            "I only tried it on once, indoors, with my {relative}.",
            "I'd rather have a refund than an exchange.",
            "I ordered a size {size} but it fits like a size smaller.",
            "It was meant for my {relative}, who already has one.",
            "I paid ${amount} for it.",
        ],
        "extra": [
            "You don't need to print anything; the QR code on your phone works at most drop-off points.",
            "Please pack it in any sturdy box, it doesn't have to be the original.",
            "I've waived the restocking fee on this one.",
            "Store credit is issued instantly once the return is scanned.",
            "If you'd rather exchange it, just tell me the size you need.",
            "The refund will appear as Northwind Outfitters on your statement.",
            "Remember to check the pockets before you send it.",
            "I've reserved a replacement for you until {date2}.",
        ],
    },
    "billing": {
        "cases": [
            (("I was charged twice for order {order}.", "My statement shows the payment for order {order} twice."),
             ("I see one completed charge of ${amount} and one authorisation hold. The hold is released automatically by your bank within 5 business days, so you will only pay once.",
              "You're right, a payment retry took the ${amount} twice on {date}. I've refunded the duplicate, and it'll be back on your card within five business days.")),
            (("Why is there a pending charge from Northwind on my card?", "There's a charge from you on my card that I don't understand."),
             ("A pending charge is the authorisation we take when you place an order. It turns into the final charge when order {order} ships, or disappears if the order is cancelled.",
              "That's a temporary hold of ${amount} for order {order}, which hasn't shipped yet. If anything is out of stock, the hold is reduced before we take the payment.")),
            (("My discount code {code} didn't apply at checkout.", "The code {code} was rejected when I tried to pay for the {product}."),
             ("The code {code} excludes sale items, which is why it didn't apply to your {product}. As a one-time courtesy I've refunded 15 percent, ${amount}, to your original payment method.",
              "It looks like {code} expired on {date}. I've applied the discount to order {order} by hand, so ${amount} goes back to your card.")),
            (("Can I get an invoice with my company's VAT number for order {order}?", "I need an invoice for order {order} that shows my business VAT number."),
             ("I've regenerated the invoice for order {order} with your VAT number; you can download it from the Orders page, and a copy is on its way to your email.",
              "Certainly. Reply with the company name and VAT number exactly as they should appear, and I'll issue a corrected invoice for the ${amount} order the same day.")),
            (("I was charged ${amount} but the product page showed a lower price.", "Your site listed the {product} for less than the ${amount} I was charged."),
             ("The lower price was the member price, which applies when you're signed in at checkout. I've refunded the difference to your card as a goodwill gesture.",
              "The page still showed a sale price that ended on {date}, and your order went through a few minutes later. I've honoured the sale price and refunded the difference.")),
            (("My payment keeps getting declined even though the card works elsewhere.", "Every time I try to pay, the card is declined, but my bank says it's fine."),
             ("Declines at checkout usually come from the card's address check. Please make sure the billing address matches the one your bank has, character for character, and try once more.",
              "I can see three declines from your bank's fraud check on {date}. A quick call or app approval with your bank usually clears it, and your basket is saved in the meantime.")),
            (("Can I split the payment for order {order} between a gift card and a credit card?", "Is there a way to use a gift card and a card together on order {order}?"),
             ("Yes, you can combine a gift card with a card payment. Enter the gift card first at checkout and the remaining ${amount} goes on the card.",
              "You can. Since order {order} is already placed, I've applied your gift card to it and refunded the same amount, ${amount}, to your credit card.")),
            (("I still haven't received the refund you confirmed on {date}.", "The refund you sent on {date} hasn't reached my account."),
             ("The refund was sent on {date} and our payment provider confirms your bank accepted it. Banks can take up to ten days to post it; if it isn't there by {date2}, I'll ask them for a trace reference.",
              "I'm sorry for the wait. The ${amount} left us on {date}, and the reference for your bank is in the confirmation email; most banks can find the payment with it.")),
            (("The price of the {product} dropped the day after I bought it.", "I bought a {product} and now it's on sale for less. Can I get the difference?"),
             ("We offer a price adjustment within 14 days of purchase, so I've refunded the difference of ${amount} on the {product}. You should see it in three to five business days.",
              "Good timing to ask: our price promise covers 14 days. The difference, ${amount}, is on its way back to the card you paid with.")),
            (("Do you offer payment in instalments for bigger orders?", "Can I pay for a bigger order, like a tent and a {product}, in several payments?"),
             ("For orders over $150 you can choose four interest-free instalments at checkout. Your card is charged a quarter today and the rest every two weeks.",
              "Yes, with our payment partner you can spread orders above $150 over three or four months. Pick it at checkout, and approval takes a few seconds.")),
        ],
        "detail": [
            "The amount was ${amount}.",
            "My bank shows two transactions on {date}.",
            "I've been on the annual member plan since {year}.",
            "It's for my small guiding business in {city}.",
            "I tried {days} times with the same card.",
            "The checkout page just shows an error and sends me back to the basket.",
            "My card provider says the charge came from you on {date}.",
            "I'd like the money back on the original card, not as store credit.",
            "The order also included a {product}.",
            "I paid with my {cardtype} card.",
        ],
        "extra": [
            "I've added a note to your account in case you contact us again.",
            "You'll get a confirmation email with the refund reference shortly.",
            "Nothing is owed on your side.",
            "The charge will show as Northwind Outfitters on your statement.",
            "If your bank asks, the transaction reference is on the invoice.",
            "Member discounts can't be combined with sale prices, I'm afraid.",
            "Let me know if you'd like the invoice addressed to someone else.",
            "Store credit never expires, if you'd rather use that next time.",
        ],
    },
    "account": {
        "cases": [
            (("I can't log in to my account.", "Your website won't let me sign in, it keeps saying my details are wrong."),
             ("Your account was locked after five failed sign-in attempts, which is a security measure. I've unlocked it, and you can sign in again now.",
              "I've checked and your account is active, so it's likely a saved password issue. I've sent a reset link to the address on file, and it's valid for 30 minutes.")),
            (("How do I reset my password?", "I've forgotten my password and need a new one."),
             ("I've sent a new password-reset link; it is valid for 30 minutes. If it isn't in your inbox, please check the spam folder, since some providers filter our automated emails.",
              "Choose 'Forgot password' on the sign-in page and enter your email. The link arrives within a minute and works for 30 minutes.")),
            (("Please delete my account and all my data.", "I'd like you to close my Northwind account and erase my details."),
             ("I've started the deletion. Your account and personal data will be removed within 30 days, as our privacy policy says; order records we must keep for tax purposes are anonymised.",
              "Done, the request is logged under your name, {first}. You'll get a confirmation email, and everything is erased within 30 days unless you cancel before then.")),
            (("I want to change the email address on my account.", "Can you update the email address I use to sign in?"),
             ("You can change your email under Account, then Profile. We'll send a confirmation link to the new address, and the change takes effect once you click it.",
              "I can do that for you. Please confirm the new address by replying from it, and I'll move your orders and member points across.")),
            (("My member points from the order on {date} are missing.", "I didn't get any points for the {product} I bought on {date}."),
             ("Points from an order post once its return window closes, which is {weeks} weeks after delivery. Yours will appear on {date2}.",
              "Sorry about that. The order on {date} was placed as a guest, so the points didn't attach. I've added them to your member account by hand.")),
            (("I keep getting logged out of the app every few minutes.", "The app signs me out constantly, even while I'm browsing."),
             ("Being logged out often usually means the app's session cookie is blocked. Updating to the latest version of the app fixes it for most people.",
              "We fixed a sign-in bug in the app update released on {date}. Please update, sign out once and back in, and it should keep you logged in.")),
            (("I'd like to unsubscribe from your marketing emails.", "How do I stop the promotional emails?"),
             ("Done: I've removed you from every marketing list. Order and delivery emails will still arrive, since you need those.",
              "Of course. I've turned off newsletters and offers, though it can take 48 hours for emails already scheduled to stop.")),
            (("Someone placed an order on my account that I don't recognise.", "There's an order for a {product} on my account that I didn't place."),
             ("I've cancelled that order and locked the account to be safe. Please set a new password with the link I've just sent, and turn on two-step sign-in under Security.",
              "Thanks for telling us quickly. Order {order} is cancelled and refunded, and I've signed out every device on your account; please choose a new password when you next sign in.")),
            (("How do I merge my two accounts?", "I have a guest account and a member account. Can they be combined?"),
             ("I can merge them for you. I've moved the order history and points from the guest account into your member account, and the guest account is now closed.",
              "Send me the email address of the second account from the one you want to keep, and I'll combine the order history and points into it.")),
            (("The app won't accept my verification code.", "The code you text me to verify my account never works."),
             ("Verification codes expire after ten minutes and only the latest one works. I've sent a fresh code; please use it straight away.",
              "Codes sometimes arrive late when the phone has a weak signal. I've switched your verification to email for now, so the next code will go to your inbox.")),
        ],
        "detail": [
            "I'm using the app on my {device}.",
            "It started after the last update on {date}.",
            "I've been a member since {year}.",
            "I tried on my {device} and on the website.",
            "This is the second time I've asked since {date}.",
            "I'd like this sorted today if possible.",
            "The account is still under my old surname, {last}.",
            "My {relative} sometimes orders on the same account.",
            "I already tried clearing the browser cookies on my {device}.",
            "I shop both as a guest and with my member login.",
        ],
        "extra": [
            "Your order history and member points are not affected.",
            "For your security we never ask for your password over chat.",
            "You'll get an email confirming the change.",
            "If anything looks wrong afterwards, just reply to this message.",
            "Two-step sign-in is worth switching on while you're there.",
            "It can take a few minutes for the change to reach the app.",
            "I've noted this on your profile so the team knows it's been handled.",
            "Nothing else is needed from you.",
        ],
    },
    "product": {
        "cases": [
            (("Is the {product} waterproof?", "Can the {product} handle heavy rain?"),
             ("The {product} is water-resistant and rated for light rain, but not fully waterproof. For a wet week I'd pair it with our rain jacket, which has taped seams and a 20,000 mm rating.",
              "It has a water-repellent finish that handles showers well. For steady rain, a waterproof layer on top is the safer choice.")),
            (("What's the difference between your two {product} models?", "I'm trying to decide between the two versions of the {product}. What sets them apart?"),
             ("The newer {product} is about 15 percent lighter and uses a recycled shell; the older one is more durable and currently ${amount}, a good deal if weight matters less to you.",
              "The main difference is the fabric: the premium model uses a tougher weave and has a lifetime repair plan, while the standard one saves you about ${amount}.")),
            (("Will the {product} be back in stock soon?", "When will you have the {product} in stock again?"),
             ("We expect a restock of the {product} on {date2}. You can tap 'notify me' on the product page and we'll email you the moment it's available.",
              "The next delivery from the factory is due on {date}, and pre-orders open a week before. I've put your name on the notification list.")),
            (("Does the {product} come with a warranty?", "What warranty do you give on the {product}?"),
             ("Every {product} carries our two-year warranty against manufacturing defects, and our lifetime repair service covers wear and tear at cost.",
              "Yes, two years from the delivery date. Keep the order number, {order}, and we'll handle any claim without a receipt.")),
            (("Which size {product} would you recommend for someone who is quite tall?", "I'm 1.9 m tall; what size {product} should I order?"),
             ("I'd go one size up from your usual. The {product} runs slightly small, and the size chart on the product page lists exact measurements.",
              "Most tall customers take the long version, which adds about 8 cm. If it doesn't fit, the exchange is free.")),
            (("How heavy is the {product} when packed?", "What's the packed weight of the {product}?"),
             ("Packed, the {product} weighs a little under a kilo, and it compresses to roughly the size of a water bottle.",
              "The trail weight is listed on the product page under Specifications, and with the stuff sack it's about 200 grams more.")),
            (("Is the {product} suitable for winter camping?", "Would the {product} work for a winter trip to {region}?"),
             ("It's rated as a three-season item. For nights below freezing I'd look at our expedition range instead, which is built for those temperatures.",
              "For mild winter trips at low altitude, yes. Above the snow line I'd recommend the four-season version, which handles wind and snow loads better.")),
            (("Can I wash the {product} in a machine?", "How should I clean the {product}? Is the washing machine OK?"),
             ("Yes, on a gentle cycle at 30 degrees with a technical wash, then tumble dry on low to restore the water-repellent finish.",
              "Hand washing is best for the {product}, since a machine can damage the coating. Let it dry flat, away from direct heat.")),
            (("Do you sell spare parts for the {product}?", "Where can I get replacement parts for my {product}?"),
             ("We stock spare parts for the {product} for at least five years after a model is retired. Tell me which part you need and I'll send a link.",
              "Yes, the common ones are on our parts page, and for anything else our repair team in {city} can source it.")),
            (("Is the {product} made from recycled materials?", "What is the {product} made of, and is any of it recycled?"),
             ("The outer fabric of the {product} is fully recycled polyester, and the insulation is certified as responsibly sourced.",
              "Partly: the shell is recycled nylon, while the trims are new material for durability. The full breakdown is on the product page.")),
        ],
        "detail": [
            "I'm planning a week in {region}.",
            "I need it before {date2}.",
            "The product page doesn't say.",
            "I'm trying to keep my pack weight under {kilos} kilos.",
            "I usually get cold at night.",
            "I'm choosing between this and another brand's model.",
            "It's for my {relative}.",
            "I saw it recommended in a hiking magazine in {year}.",
            "Mine is from {year}, if that matters.",
            "The reviews on the page disagree with each other.",
            "I'm going to {region} with my {relative}.",
        ],
        "extra": [
            "Our gear experts are also on chat from 9 to 5 if you'd like a second opinion.",
            "Members get free shipping on it as well.",
            "The product page has a short video showing it packed and unpacked.",
            "Most customers in your situation go with the lighter version.",
            "Returns are free for 60 days if it turns out not to suit you.",
            "The care label inside has the same instructions.",
            "You can compare both models side by side on the product page.",
            "It also comes in {colour} if you'd like something brighter.",
        ],
    },
    "order_change": {
        "cases": [
            (("Can I add a {product} to order {order} before it ships?", "I forgot to add a {product} to order {order}. Can you include it?"),
             ("Order {order} is still in the queue, so I've added the {product} and charged the difference of ${amount} to the same card. Everything will ship together.",
              "It's already being packed, so I can't add to it, but I've placed a second order for the {product} with free shipping at ${amount}.")),
            (("I'd like to cancel order {order}.", "Please cancel my order {order}, I don't need it any more."),
             ("I've cancelled order {order} before it was packed. The full amount of ${amount} goes back to your card within three to five business days.",
              "That order has already shipped, so I can't stop it. When it arrives, just refuse the parcel or use the free return label, and you'll get a full refund.")),
            (("I put the wrong delivery address on order {order}.", "Order {order} has my old address on it. Can you fix that?"),
             ("I caught it in time: the address on order {order} is corrected, and the packing slip has been reprinted with the new details.",
              "It's already with {carrier}, so I've asked them to reroute it. Rerouting usually adds a day, so expect it on {date2}.")),
            (("Can I change the size of the {product} in my order?", "I'd like a different size of the {product} I just ordered."),
             ("I've swapped the {product} for the size you asked for. The price is the same, so there's nothing more to pay.",
              "The size you want is out of stock until {date2}. I can hold the whole order until then, or ship the rest now and the {product} later.")),
            (("Is it possible to upgrade order {order} to express shipping?", "Can I pay to have order {order} sent express instead?"),
             ("Express shipping is now on order {order}. I charged ${amount} for the upgrade, and it should arrive by {date2}.",
              "Yes. The upgrade costs ${amount}; reply to confirm and I'll switch it to {carrier} Express for delivery the next business day.")),
            (("I accidentally ordered the {product} twice.", "I seem to have two orders for the same {product}."),
             ("I see two identical orders placed a minute apart. I've cancelled the second one and refunded it in full.",
              "Both orders had already left the warehouse, so I've emailed you a free return label for one of them. The refund of ${amount} follows as soon as it's scanned.")),
            (("Can you hold my order until I'm back from holiday on {date2}?", "I'm away until {date2}. Could you delay sending my order?"),
             ("We can hold it for up to 30 days. I've scheduled order {order} to leave the warehouse on {date2}, so it arrives just after you're home.",
              "Sure. Order {order} now ships on {date2}, and you can change the date from the Orders page up to a day before.")),
            (("Please remove the {product} from my order, I found one locally.", "Could you take the {product} off order {order}?"),
             ("Done. The {product} is removed, and the ${amount} for it is refunded to your card.",
              "No problem. I've taken the {product} off order {order}; the rest ships as planned and your card is only charged for what's left.")),
        ],
        "detail": [
            "I only placed it {minutes} minutes ago.",
            "It hasn't been dispatched yet according to the website.",
            "I'm happy to pay the difference.",
            "The correct street number is {house}.",
            "I'd like the other items to ship as planned.",
            "I'll be away from {date} for two weeks.",
            "The confirmation email came through twice as well.",
            "I'd like it delivered to my office in {city} instead.",
            "My {relative} ordered the same thing for me.",
            "The order total was ${amount}.",
        ],
        "extra": [
            "Once an order is packed we can no longer change it, so this was just in time.",
            "You'll get an updated confirmation email in a few minutes.",
            "The other items in your order are not affected.",
            "If you change your mind, just reply before it ships.",
            "Your member points have been adjusted to match.",
            "The new delivery estimate is on the Orders page.",
            "I've added a note to the order so the warehouse team sees it.",
            "Thanks for letting us know so quickly.",
        ],
    },
}  # fmt: skip

# Other languages: per language a greeting, six questions each paired with its answer (a row takes one
# pair, and the six rows of a language take different ones), a detail, an opener and a closing.
FOREIGN: dict[str, dict[str, list]] = {
    "fr": {
        "greeting": ["Bonjour,", "Bonsoir,", "Bonjour à toute l'équipe,", "Bonjour, c'est {first}."],
        "cases": [
            ("ma commande {order} n'est toujours pas arrivée. Pouvez-vous vérifier où elle se trouve ?",
             "votre colis est parti avec {carrier} et devrait arriver d'ici deux ou trois jours ouvrés."),
            ("je voudrais retourner le sac de couchage que j'ai reçu la semaine dernière, il est trop petit pour moi.",
             "les retours sont gratuits pendant soixante jours. Nous venons de vous envoyer une étiquette prépayée par courriel."),
            ("j'ai été débité deux fois pour la commande {order} et je ne comprends pas pourquoi.",
             "l'un des deux montants n'est qu'une préautorisation temporaire que votre banque annulera dans quelques jours."),
            ("je n'arrive plus à me connecter à mon compte depuis ce matin, le mot de passe est refusé.",
             "nous avons débloqué votre compte et envoyé un nouveau lien de réinitialisation, valable trente minutes."),
            ("la tente que j'ai commandée est arrivée avec un arceau cassé.",
             "nous sommes vraiment désolés. Une tente neuve part aujourd'hui même, sans aucun frais pour vous."),
            ("est-ce que la veste de pluie est vraiment imperméable ? Je pars randonner en Bretagne le mois prochain.",
             "oui, ses coutures sont étanches et elle résiste à une pluie forte pendant plusieurs heures."),
        ],
        "detail": [
            "J'en ai besoin pour un voyage la semaine prochaine.",
            "Le suivi n'a pas changé depuis plusieurs jours.",
            "J'ai encore l'emballage d'origine et le ticket de caisse.",
            "C'est un cadeau pour ma sœur, donc c'est assez urgent.",
        ],
        "opener": ["Bonjour {first},", "Bonjour et merci pour votre message,", "Chère cliente, cher client,"],
        "closing": ["Bonne journée !", "N'hésitez pas à nous recontacter si besoin.", "Cordialement, l'équipe Northwind."],
    },
    "de": {
        "greeting": ["Hallo,", "Guten Tag,", "Sehr geehrtes Support-Team,", "Hallo zusammen,"],
        "cases": [
            ("meine Bestellung {order} ist immer noch nicht angekommen. Können Sie bitte nachsehen, wo sie gerade ist?",
             "Ihr Paket wurde mit {carrier} verschickt und sollte in zwei bis drei Werktagen bei Ihnen sein."),
            ("ich möchte meinen Schlafsack zurückgeben, weil er mir leider zu klein ist. Wie funktioniert das?",
             "Rücksendungen sind innerhalb von 60 Tagen kostenlos; das Etikett haben wir Ihnen gerade per E-Mail geschickt."),
            ("mir wurde die Bestellung {order} zweimal von der Kreditkarte abgebucht.",
             "eine der beiden Buchungen ist nur eine vorläufige Reservierung, die Ihre Bank in wenigen Tagen automatisch freigibt."),
            ("ich kann mich seit heute Morgen nicht mehr in mein Kundenkonto einloggen.",
             "wir haben Ihr Konto entsperrt und Ihnen einen neuen Link zum Zurücksetzen des Passworts geschickt, der dreißig Minuten gültig ist."),
            ("das Zelt, das ich bestellt habe, ist mit einer gebrochenen Stange angekommen.",
             "das tut uns sehr leid. Wir schicken Ihnen noch heute ein neues Zelt, ohne zusätzliche Kosten."),
            ("ist die Regenjacke wirklich wasserdicht? Ich plane im nächsten Monat eine Tour durch die Alpen.",
             "ja, sie hat verschweißte Nähte und hält auch stundenlangem Starkregen stand."),
        ],
        "detail": [
            "Ich brauche die Sachen dringend für eine Wanderung am Wochenende.",
            "Die Sendungsverfolgung zeigt seit Tagen keine Änderung.",
            "Die Originalverpackung und den Kassenbon habe ich noch.",
            "Es ist ein Geschenk für meinen Bruder, deshalb ist es eilig.",
        ],
        "opener": ["Hallo {first},", "Guten Tag {first},", "Vielen Dank für Ihre Nachricht,"],
        "closing": ["Viele Grüße, Ihr Northwind-Team", "Einen schönen Tag noch!", "Melden Sie sich gern, falls noch Fragen offen sind."],
    },
    "es": {
        "greeting": ["Hola,", "Buenos días,", "Buenas tardes,", "Hola, soy {first}."],
        "cases": [
            ("mi pedido {order} todavía no ha llegado. ¿Pueden revisar dónde está?",
             "su paquete salió con {carrier} y debería llegar en dos o tres días hábiles."),
            ("quiero devolver el saco de dormir que recibí la semana pasada porque me queda pequeño.",
             "las devoluciones son gratuitas durante sesenta días. Le acabamos de enviar una etiqueta prepagada por correo electrónico."),
            ("me cobraron dos veces el pedido {order} y no entiendo por qué.",
             "uno de los cargos es solo una retención temporal que su banco liberará en unos días."),
            ("no puedo entrar en mi cuenta desde esta mañana, dice que la contraseña es incorrecta.",
             "hemos desbloqueado su cuenta y le enviamos un nuevo enlace para restablecer la contraseña, válido durante treinta minutos."),
            ("la tienda de campaña que pedí llegó con una varilla rota.",
             "lo sentimos mucho. Hoy mismo le enviamos una tienda nueva sin ningún coste adicional."),
            ("¿la chaqueta impermeable aguanta de verdad la lluvia fuerte? Voy de ruta por Galicia el mes que viene.",
             "sí, tiene las costuras selladas y resiste varias horas de lluvia intensa."),
        ],
        "detail": [
            "La necesito para una excursión este fin de semana.",
            "El seguimiento no ha cambiado en varios días.",
            "Todavía tengo la caja original y el recibo.",
            "Es un regalo para mi madre, así que es bastante urgente.",
        ],
        "opener": ["Hola {first},", "Buenos días {first},", "Gracias por escribirnos,"],
        "closing": ["Un saludo, el equipo de Northwind.", "¡Que tenga un buen día!", "Quedamos a su disposición para cualquier otra consulta."],
    },
    "it": {
        "greeting": ["Buongiorno,", "Salve,", "Buonasera,", "Buongiorno, sono {first}."],
        "cases": [
            ("il mio ordine {order} non è ancora arrivato. Potete controllare dove si trova?",
             "il suo pacco è partito con {carrier} e dovrebbe arrivare entro due o tre giorni lavorativi."),
            ("vorrei restituire il sacco a pelo che ho ricevuto la settimana scorsa perché è troppo piccolo.",
             "i resi sono gratuiti entro sessanta giorni. Le abbiamo appena inviato un'etichetta prepagata via email."),
            ("mi avete addebitato due volte l'ordine {order} e non capisco il motivo.",
             "uno dei due addebiti è solo una preautorizzazione temporanea che la sua banca annullerà tra qualche giorno."),
            ("da stamattina non riesco più ad accedere al mio account, la password risulta sbagliata.",
             "abbiamo sbloccato il suo account e le abbiamo inviato un nuovo link per reimpostare la password, valido per trenta minuti."),
            ("la tenda che ho ricevuto è danneggiata, uno dei pali è rotto.",
             "ci dispiace molto. Le spediremo subito una tenda nuova senza costi aggiuntivi."),
            ("la giacca antipioggia è davvero impermeabile? Il mese prossimo vado a camminare sulle Dolomiti.",
             "sì, ha le cuciture nastrate e resiste per ore anche sotto una pioggia forte."),
        ],
        "detail": [
            "Mi serve per un'escursione questo fine settimana.",
            "Il tracciamento non si aggiorna da diversi giorni.",
            "Ho ancora la scatola originale e lo scontrino.",
            "È un regalo per mio padre, quindi è piuttosto urgente.",
        ],
        "opener": ["Buongiorno {first},", "Gentile {first},", "Grazie per averci scritto,"],
        "closing": ["Cordiali saluti, il team Northwind.", "Buona giornata!", "Restiamo a disposizione per qualsiasi domanda."],
    },
    "pt": {
        "greeting": ["Olá,", "Bom dia,", "Boa tarde,", "Olá, aqui é {first}."],
        "cases": [
            ("o meu pedido {order} ainda não chegou. Vocês podem verificar onde ele está?",
             "a sua encomenda foi enviada pela {carrier} e deve chegar em dois ou três dias úteis."),
            ("quero devolver o saco de dormir que recebi na semana passada porque ficou pequeno.",
             "as devoluções são gratuitas durante sessenta dias. Acabamos de enviar uma etiqueta pré-paga para o seu e-mail."),
            ("fui cobrado duas vezes pelo pedido {order} e não entendo o motivo.",
             "uma das cobranças é apenas uma pré-autorização temporária que o seu banco vai cancelar em poucos dias."),
            ("não consigo entrar na minha conta desde hoje de manhã, diz que a senha está errada.",
             "desbloqueamos a sua conta e enviamos um novo link para redefinir a senha, válido por trinta minutos."),
            ("a barraca que encomendei chegou com uma vareta quebrada.",
             "pedimos muitas desculpas. Hoje mesmo enviaremos uma barraca nova sem nenhum custo adicional."),
            ("a jaqueta de chuva é mesmo impermeável? Vou fazer uma trilha na serra no mês que vem.",
             "sim, ela tem costuras seladas e aguenta várias horas de chuva forte."),
        ],
        "detail": [
            "Preciso dela para uma viagem neste fim de semana.",
            "O rastreamento não muda há vários dias.",
            "Ainda tenho a caixa original e o recibo.",
            "É um presente para a minha irmã, então é bastante urgente.",
        ],
        "opener": ["Olá {first},", "Bom dia {first},", "Obrigado pela mensagem,"],
        "closing": ["Atenciosamente, equipe Northwind.", "Tenha um ótimo dia!", "Estamos à disposição para qualquer dúvida."],
    },
}  # fmt: skip
FOREIGN_TOPICS = ["shipping", "returns", "billing", "account", "returns", "product"]  # of each language's cases

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
EMAIL_SENTENCES = [
    " You can reach me at {email}.",
    " My email is {email} if you need it.",
    " Please reply to {email} rather than my old address.",
    " Feel free to email me at {email}.",
]
PHONE_SENTENCES = [
    " My number is {phone} if that's easier.",
    " You can call me on {phone}.",
    " Please ring me at {phone} after six.",
    " I'm reachable on {phone} during the day.",
]
CARD_SENTENCES = [
    " The card I used was {card}.",
    " It was charged to card {card}.",
    " My card number is {card}, in case you need it.",
]

# The problems planted on base rows, each on its own rows, in the order they are drawn.
PLANTED_COUNTS = {
    "email": 45,
    "phone": 40,
    "card_number": 20,
    "html": 30,
    "very_long": 10,
    "empty": 25,
    "response_time_outlier": 12,
    "non_english": 30,
}
COPY_COUNTS = {"exact_duplicate": 60, "near_duplicate": 90}  # copies appended after the base rows
OUTLIER_SECONDS = [86400, 43210, 99999, -5]  # a reply a day later, half a day, a logging glitch, a clock skew


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
    languages: dict[int, str] = field(default_factory=dict)  # non-English row -> ISO 639-1 code


def generate_support_dataset(seed: int = 7, base_rows: int = 3000) -> SupportDataset:
    """Build the dataset: `base_rows` clean conversations, then each problem planted on its own rows."""
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, 8, 0, 0)
    # The planted rows are drawn first, so a row regenerated by `_separate` gets its problem again.
    drawn = rng.sample(range(base_rows), sum(PLANTED_COUNTS.values()))
    planted: dict[str, list[int]] = {}
    for name, count in PLANTED_COUNTS.items():
        planted[name], drawn = sorted(drawn[:count]), drawn[count:]
    problem_of = {row: name for name, rows in planted.items() for row in rows}
    # The languages take turns (six rows each), and a language's rows ask different questions while they last.
    languages = [list(FOREIGN)[k % len(FOREIGN)] for k in range(len(planted["non_english"]))]
    rng.shuffle(languages)
    questions = {
        lang: itertools.cycle(rng.sample(range(len(pool["cases"])), len(pool["cases"])))
        for lang, pool in FOREIGN.items()
    }
    foreign_plan = {
        row: (lang, next(questions[lang])) for row, lang in zip(planted["non_english"], languages, strict=True)
    }

    def build(index: int) -> SupportRow:
        problem = problem_of.get(index)
        for _ in range(1000):
            row = _clean_row(rng, index, start)
            if problem == "non_english":
                _foreign(rng, row, *foreign_plan[index], start)
            elif problem is not None:
                PROBLEMS[problem](rng, row)
            if problem == "very_long" or _typical_length(row):
                return row
        raise RuntimeError(f"No {problem or 'clean'} row of typical length after 1,000 tries; check the length band.")

    rows = [build(i) for i in range(base_rows)]
    _separate(rows, build)
    data = SupportDataset(rows, planted, languages={row: lang for row, (lang, _) in foreign_plan.items()})

    # Duplicates are appended copies of clean rows (each its own source), so the originals stay where they were.
    originals = [i for i in range(base_rows) if i not in problem_of]
    sources = rng.sample(originals, sum(COPY_COUNTS.values()))
    for name, count in COPY_COUNTS.items():
        data.planted[name] = []
        for source in sources[:count]:
            copy = SupportRow(**vars(rows[source]))
            copy.id = f"conv-{len(rows):05d}"
            if name == "near_duplicate":
                copy.assistant = _near_copy(rng, rows[source])
            data.duplicate_of[len(rows)] = source
            data.planted[name].append(len(rows))
            rows.append(copy)
        sources = sources[count:]
    return data


def _typical_length(row: SupportRow) -> bool:
    """True when the conversation and its (non-empty) user message are within the usual length band."""
    low, high = CONVERSATION_CHARS
    if not low <= len(conversation_text(row)) <= high:
        return False
    low, high = USER_CHARS
    return not row.user.strip() or low <= len(row.user) <= high


def conversation_text(row: SupportRow) -> str:
    """The row as the profiler flattens a chat record: "role: content" lines."""
    return f"system: {SYSTEM_PROMPT}\nuser: {row.user}\nassistant: {row.assistant}"


def shingles(text: str) -> frozenset[tuple[str, ...]]:
    """The word 5-grams of the normalised text, as the profiler's MinHash sees them; empty for an empty text."""
    words = normalize(text).split(" ")
    if words == [""]:
        return frozenset()
    if len(words) < NGRAM:  # a short text is one shingle of all its words
        return frozenset([tuple(words)])
    return frozenset(zip(*(words[k:] for k in range(NGRAM)), strict=False))


def jaccard(a: frozenset, b: frozenset) -> float:
    """Jaccard similarity of two shingle sets (0 when both are empty)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def _separate(rows: list[SupportRow], build: Callable[[int], SupportRow], rounds: int = 50) -> None:
    """Regenerate rows until no two are more similar than SEPARATION, as conversations or as user messages.

    The first round compares every pair; later rounds compare the rows just regenerated with all the others.
    The user message is checked on its own because the CSV is profiled by that column too.
    """
    vocabulary: dict[str, int] = {}
    fresh = itertools.count()  # a new word's id; a known word keeps its own

    def words(text: str) -> np.ndarray:
        found = normalize(text).split()
        return np.fromiter(map(vocabulary.setdefault, found, fresh), dtype=np.int64, count=len(found))

    # normalize() turns the flattened conversation into these words: the prefix, the user's, a role, the reply's.
    system, role = words(f"system: {SYSTEM_PROMPT} user:"), words("assistant:")
    user = [words(row.user) for row in rows]
    reply = [words(row.assistant) for row in rows]

    def views(index: int) -> tuple[np.ndarray, np.ndarray]:
        return np.concatenate([system, user[index], role, reply[index]]), user[index]

    checks = [_Separation([views(i)[k] for i in range(len(rows))], SEPARATION) for k in range(2)]
    redo = {later for check in checks for _, later in check.pairs}
    for _ in range(rounds):
        if not redo:
            return
        for index in sorted(redo):
            rows[index] = build(index)
            user[index], reply[index] = words(rows[index].user), words(rows[index].assistant)
        close = {pair for k, check in enumerate(checks) for pair in check.recheck({i: views(i)[k] for i in redo})}
        # Each pair has a row just regenerated: regenerate it again (the later one if both were).
        redo = {later if later in redo else first for first, later in close}
    raise RuntimeError(f"The demo rows are still too similar after {rounds} rounds; the phrase pools are too small.")


class _Separation:
    """Exact pairs of rows above a Jaccard limit: all pairs once, then quick re-checks of rows that change.

    A re-check compares each changed row with every unchanged row through an inverted index of the first
    pass (each shingle's rows), counting shared shingles exactly; shingles every row holds (the system
    prompt's) are added as a constant instead of listed. Changed rows are compared with each other by
    `close_pairs`.
    """

    def __init__(self, words: list[np.ndarray], limit: float) -> None:
        self.words, self.limit = list(words), limit
        self.shingled = _shingled(self.words)
        self.pairs = _prefix_join(self.shingled, limit)
        sh = self.shingled
        self.starts = np.r_[0, np.cumsum(np.bincount(sh.token, minlength=sh.keys.size))]
        self.everywhere = sh.held == len(words)
        self.changed: set[int] = set()

    def recheck(self, new_words: dict[int, np.ndarray]) -> list[tuple[int, int]]:
        """Replace the words of some rows; the pairs above the limit that involve one of them."""
        for index, found in new_words.items():
            self.words[index] = found
        self.changed |= set(new_words)
        fresh = sorted(new_words)
        sh, n = self.shingled, len(self.words)
        row, key = _shingle_keys([self.words[index] for index in fresh])
        entry = np.unique(np.stack([row.astype(np.uint64), key]), axis=1)  # each row's distinct shingles
        row, key = entry[0].astype(np.int64), entry[1]
        sizes = np.bincount(row, minlength=len(fresh))
        at = np.minimum(np.searchsorted(sh.keys, key), sh.keys.size - 1)
        known = sh.keys[at] == key  # a shingle no unchanged row had cannot be shared with one
        row, token = row[known], at[known]
        always = np.bincount(row[self.everywhere[token]], minlength=len(fresh))
        row, token = row[~self.everywhere[token]], token[~self.everywhere[token]]
        lengths = self.starts[token + 1] - self.starts[token]
        holders = sh.row[_ranges(self.starts[token], lengths)]
        overlap = np.bincount(np.repeat(row, lengths) * n + holders, minlength=len(fresh) * n).reshape(len(fresh), n)
        overlap += always[:, None]
        union = sizes[:, None] + sh.sizes[None, :] - overlap
        close = overlap > self.limit * union
        close[:, sorted(self.changed)] = False  # their first-pass shingles are out of date
        found = {(min(fresh[i], j), max(fresh[i], j)) for i, j in zip(*np.nonzero(close), strict=True)}
        # Changed rows among themselves, from their current words.
        others = sorted(self.changed)
        local = {index: k for k, index in enumerate(others)}
        for i, j in close_pairs([self.words[index] for index in others], self.limit, {local[f] for f in fresh}):
            found.add((others[i], others[j]))
        return sorted(found)


_SHINGLE_WEIGHTS = (np.arange(1, NGRAM + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)


@dataclass
class _Shingled:
    """Each row's distinct shingles, as (shingle id, row) entries sorted by shingle, then row."""

    keys: np.ndarray  # the distinct shingle keys, sorted: a shingle's id is its position here
    token: np.ndarray
    row: np.ndarray
    held: np.ndarray  # rows holding each shingle
    sizes: np.ndarray  # distinct shingles of each row


def _shingled(words: list[np.ndarray]) -> _Shingled:
    row, key = _shingle_keys(words)
    by_key = np.argsort(key, kind="stable")  # stable: rows stay ascending within a shingle
    key, row = key[by_key], row[by_key]
    new = np.r_[True, key[1:] != key[:-1]]
    distinct = new | np.r_[True, row[1:] != row[:-1]]
    token, row = (np.cumsum(new) - 1)[distinct], row[distinct]
    return _Shingled(key[new], token, row, np.bincount(token), np.bincount(row, minlength=len(words)))


def close_pairs(words: list[np.ndarray], limit: float, among: set[int] | None = None) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, of rows whose word 5-gram Jaccard similarity is above `limit`: exact, none missed.

    `words` holds each row's word ids; with `among`, only pairs with a row in it.
    """
    return _prefix_join(_shingled(words), limit, among)


def _prefix_join(sh: _Shingled, limit: float, among: set[int] | None = None) -> list[tuple[int, int]]:
    """`close_pairs` on shingled rows.

    A prefix filter (Chaudhuri et al., 2006) keeps this well below all pairs: with each row's shingles sorted
    rarest first in one global order, two rows above the limit share a shingle among the first
    n - ceil(limit * n) + 1 of each. The positional bound of PPJoin (Xiao et al., 2008) then drops candidates
    that cannot reach the limit, and the rest are counted exactly.
    """
    n, held, sizes = sh.sizes.size, sh.held, sh.sizes
    if sh.token.size == 0:
        return []
    # A shingle of one row never overlaps: it only counts towards the row's size, and comes first (rarest).
    shared = held[sh.token] > 1
    token, row = sh.token[shared], sh.row[shared]
    lone = sizes - np.bincount(row, minlength=n)
    counts = sizes - lone
    firsts = np.cumsum(counts) - counts
    by_row = np.argsort((row * (int(held.max()) + 1) + held[token]) * held.size + token)  # rarest first per row
    rank = np.empty(row.size, dtype=np.int64)
    rank[by_row] = np.arange(row.size) - np.repeat(firsts, counts) + np.repeat(lone, counts)
    keep = np.flatnonzero(rank < (sizes - np.ceil(limit * sizes).astype(np.int64) + 1)[row])
    if among is not None:
        wanted = np.fromiter(among, dtype=np.int64, count=len(among))
        keep = keep[np.isin(token[keep], token[keep[np.isin(row[keep], wanted)]])]
    left, right = _pairs_within_runs(token[keep])
    left, right = keep[left], keep[right]  # row[left] < row[right]
    if among is not None:
        mine = np.isin(row[left], wanted) | np.isin(row[right], wanted)
        left, right = left[mine], right[mine]
    if left.size == 0:
        return []
    # Each pair's shared prefix shingles, and the ranks of the last one (the order is the same in both rows).
    pair = row[left] * n + row[right]
    by_pair = np.argsort(pair, kind="stable")
    pair = pair[by_pair]
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    common = np.diff(np.r_[starts, pair.size])
    last_a = np.maximum.reduceat(rank[left[by_pair]], starts)
    last_b = np.maximum.reduceat(rank[right[by_pair]], starts)
    a, b = pair[starts] // n, pair[starts] % n
    # Shingles shared later in the order: at most what either row has left after its last shared one.
    bound = common + np.minimum(sizes[a] - last_a - 1, sizes[b] - last_b - 1)
    could = bound > limit * (sizes[a] + sizes[b] - bound)
    a, b = a[could], b[could]
    # Exact overlap: look each of a's shared shingles up among b's.
    lengths = counts[a]
    total = int(lengths.sum())
    if total == 0:
        return []
    at = by_row[_ranges(firsts[a], lengths)]
    code = token * n + row  # sorted, like (token, row)
    query = token[at] * n + np.repeat(b, lengths)
    found = code[np.minimum(np.searchsorted(code, query), code.size - 1)] == query
    overlap = np.add.reduceat(found.astype(np.int64), np.r_[0, np.cumsum(lengths)[:-1]])
    close = overlap > limit * (sizes[a] + sizes[b] - overlap)
    return sorted(zip(a[close].tolist(), b[close].tolist(), strict=True))


def _shingle_keys(words: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(row, 64-bit key) of every word 5-gram of each row (a row of fewer words is one shingle of them all).

    A key is a weighted sum of its words' mixed ids: two different 5-grams share one with a chance of about
    2**-64, one expected collision in the demo's shingles every billion runs.
    """
    counts = np.fromiter((w.size for w in words), dtype=np.int64, count=len(words))
    ids = np.concatenate([*words, np.zeros(NGRAM, dtype=np.int64)]).astype(np.uint64) + np.uint64(1)
    # MurmurHash3's finaliser: small consecutive ids would let weighted sums of different words coincide.
    for shift, factor in ((33, 0xFF51AFD7ED558CCD), (33, 0xC4CEB9FE1A85EC53), (33, None)):
        ids ^= ids >> np.uint64(shift)
        if factor:
            ids *= np.uint64(factor)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    per_row = np.where(counts == 0, 0, np.maximum(counts - NGRAM + 1, 1))
    row = np.repeat(np.arange(len(words), dtype=np.int64), per_row)
    position = np.arange(per_row.sum()) + np.repeat(starts - (np.cumsum(per_row) - per_row), per_row)
    end = np.repeat(starts + counts, per_row)
    key = np.zeros(position.size, dtype=np.uint64)
    for j, weight in enumerate(_SHINGLE_WEIGHTS):
        key += np.where(position + j < end, ids[position + j], np.uint64(0)) * weight
    return row, key


def _pairs_within_runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j), i < j, of every two positions in the same run of equal sorted `values`."""
    if values.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    sizes = np.diff(np.r_[starts, values.size])
    partners = np.repeat(sizes, sizes) - (np.arange(values.size) - np.repeat(starts, sizes)) - 1
    left = np.repeat(np.arange(values.size), partners)
    return left, _ranges(np.arange(1, values.size + 1), partners)


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """start, start + 1, ..., start + length - 1 for each (start, length), concatenated."""
    return np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))


def _clean_row(rng: random.Random, index: int, start: datetime) -> SupportRow:
    topic = rng.choice(list(TOPICS))
    parts = TOPICS[topic]
    slots = _slots(rng, start)
    questions, answers = rng.choice(parts["cases"])
    # Some customers and agents write one line, some a paragraph: (details, extra sentences) by style.
    details, extras = rng.choice([(1, 0), (1, 1), (2, 0), (2, 1), (2, 2), (3, 2), (3, 3)])
    user = [rng.choice(USER_GREETINGS), rng.choice(questions), *rng.sample(parts["detail"], details)]
    user.append(rng.choice(USER_SIGN_OFFS))
    assistant = [rng.choice(ASSISTANT_OPENERS), rng.choice(answers), *rng.sample(parts["extra"], extras)]
    assistant.append(rng.choice(ASSISTANT_CLOSINGS))
    created = start + timedelta(minutes=index * 37 + rng.randint(0, 30))
    return SupportRow(
        id=f"conv-{index:05d}",
        created_at=created.isoformat(),
        channel=rng.choice(CHANNELS),
        topic=topic,
        user=_join(user, slots),
        assistant=_join(assistant, slots),
        # Replies within a couple of minutes: a spread narrow enough that the planted values stand out.
        response_seconds=round(min(100.0, max(25.0, rng.gauss(60.0, 15.0))), 1),
        csat=rng.choice([None, 3, 4, 4, 5, 5, 5, 2, 1]),
    )


def _join(parts: list[str], slots: Slots) -> str:
    return " ".join(part for part in parts if part).format_map(slots)


class Slots(dict):
    """A row's slot values ({order}, {product}, ...), each drawn when a template first asks for it."""

    def __init__(self, rng: random.Random, start: datetime) -> None:
        super().__init__()
        self.rng, self.start, self.day = rng, start, start

    def __missing__(self, name: str) -> str:
        self[name] = value = self._draw(name)
        return value

    def _draw(self, name: str) -> str:
        rng = self.rng
        if name in SLOT_CHOICES:
            return rng.choice(SLOT_CHOICES[name])
        if name == "date":
            self.day = self.start + timedelta(days=rng.randint(0, 80))
            return self.day.strftime("%B %d")
        if name == "date2":  # a few days after {date}, which is drawn first if the template has none
            if "date" not in self:
                self["date"] = self._draw("date")
            return (self.day + timedelta(days=rng.randint(2, 6))).strftime("%B %d")
        if name == "order":
            return f"NW-{rng.randint(100000, 999999)}"
        if name == "amount":
            return f"{rng.randint(19, 480)}.{rng.randint(0, 99):02d}"
        if name == "days2":  # more than {days}
            return str(int(self["days"]) + rng.randint(2, 4))
        low, high = SLOT_RANGES[name]
        return str(rng.randint(low, high))


SLOT_CHOICES = {
    "product": PRODUCTS, "carrier": CARRIERS, "first": FIRST_NAMES, "last": LAST_NAMES, "agent": AGENTS,
    "city": CITIES, "country": COUNTRIES, "region": REGIONS, "colour": COLOURS, "size": SIZES, "code": CODES,
    "relative": RELATIVES, "device": DEVICES, "cardtype": CARD_TYPES,
}  # fmt: skip
SLOT_RANGES = {
    "year": (2015, 2025), "days": (2, 4), "weeks": (6, 10), "house": (2, 98), "times": (3, 12), "kilos": (6, 12),
    "minutes": (5, 55),
}  # fmt: skip


def _slots(rng: random.Random, start: datetime) -> Slots:
    return Slots(rng, start)


def _foreign(rng: random.Random, row: SupportRow, lang: str, case: int, start: datetime) -> None:
    """Replace the row's messages with a conversation in another language."""
    pool = FOREIGN[lang]
    slots = _slots(rng, start)
    question, answer = pool["cases"][case]
    row.topic = FOREIGN_TOPICS[case]
    greeting = rng.choice(pool["greeting"])
    if greeting.endswith("."):  # "Hola, soy Ana." starts a new sentence; "Hola," does not
        first = next(k for k, char in enumerate(question) if char.isalpha())
        question = question[:first] + question[first].upper() + question[first + 1 :]
    row.user = _join([greeting, question, rng.choice(pool["detail"])], slots)
    row.assistant = _join([rng.choice(pool["opener"]), answer, rng.choice(pool["closing"])], slots)


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


def _blank(rng: random.Random, row: SupportRow) -> None:
    setattr(row, rng.choice(["user", "assistant"]), rng.choice(["", " ", "\n"]))


PROBLEMS: dict[str, Callable[[random.Random, SupportRow], None]] = {
    "email": lambda rng, r: _append(r, "user", rng.choice(EMAIL_SENTENCES).format(email=_email(rng))),
    "phone": lambda rng, r: _append(r, "user", rng.choice(PHONE_SENTENCES).format(phone=_phone(rng))),
    "card_number": lambda rng, r: _append(r, "user", rng.choice(CARD_SENTENCES).format(card=rng.choice(TEST_CARDS))),
    "html": lambda rng, r: setattr(r, "assistant", rng.choice(HTML_WRAPPERS).format(text=r.assistant)),
    "very_long": lambda rng, r: _append(r, "user", "\n\nHere is the full log:\n" + _long_log(rng)),
    "empty": _blank,
    "response_time_outlier": lambda rng, r: setattr(r, "response_seconds", float(rng.choice(OUTLIER_SECONDS))),
}


def _near_copy(rng: random.Random, source: SupportRow) -> str:
    """The source's reply after `_small_edit`, redrawn until it differs and stays above NEAR_COPY_FLOOR."""
    before = shingles(conversation_text(source))
    for _ in range(100):
        edited = SupportRow(**{**vars(source), "assistant": _small_edit(rng, source.assistant)})
        after = shingles(conversation_text(edited))
        if normalize(edited.assistant) != normalize(source.assistant) and jaccard(before, after) >= NEAR_COPY_FLOOR:
            return edited.assistant
    raise RuntimeError(f"No small edit of {source.id} stays a near-duplicate; its conversation is too short.")


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
