"""A loopback Oura API v2: the usercollection routes with `next_token` pagination over generated,
realistic history, Oura's rate-limit headers, range-end semantics per collection, and signed webhooks.

Field names, envelopes and quirks follow the provider reference §1 (and keep what it marks unconfirmed
configurable through SandboxConfig).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from integrations.sandbox.server import Grant, Sandbox, SandboxConfig

PREFIX = "/v2/usercollection/"
# end_date is inclusive for these collections and exclusive for the others (reference §1.3).
INCLUSIVE_END = {"daily_sleep", "daily_readiness", "daily_spo2"}
SUBSCRIPTIONS = "/v2/webhook/subscription"
DAILY = ("daily_sleep", "sleep", "daily_readiness", "daily_activity", "workout", "daily_spo2")


class Person:
    """One sandbox ring wearer: `days` of history ending `today`, generated once and deterministically."""

    def __init__(self, person_id: str, days: int, today: date, gaps: dict[str, int] | None = None) -> None:
        self.id = person_id
        self.rng = random.Random(person_id)  # noqa: S311 (fake data, not cryptography)
        self.tz = timezone(timedelta(hours=self.rng.choice([-5, 0, 1, 2])))
        self.first = today - timedelta(days=days - 1)
        self.today = today
        # Per collection, how many most recent days have no document (a ring that stopped syncing sleep).
        self.gaps = gaps or {}
        self.docs: dict[str, list[dict[str, Any]]] = {name: [] for name in DAILY}
        for n in range(days):
            self._day(self.first + timedelta(days=n))
        self.info = {
            "id": person_id,
            "age": self.rng.randint(22, 70),
            "weight": round(self.rng.uniform(52, 105), 1),
            "height": round(self.rng.uniform(1.55, 1.95), 2),
            "biological_sex": self.rng.choice(["male", "female"]),
            "email": f"{person_id[:8]}@sandbox.invalid",
        }

    def _stamp(self, day: date, hour: float) -> str:
        moment = datetime(day.year, day.month, day.day, tzinfo=self.tz) + timedelta(hours=hour)
        return moment.isoformat()

    def _add(self, name: str, day: date, doc: dict[str, Any]) -> None:
        if day > self.today - timedelta(days=self.gaps.get(name, 0)):
            return
        self.docs[name].append({"id": str(uuid.UUID(int=self.rng.getrandbits(128))), **doc, "day": day.isoformat()})

    def _day(self, day: date) -> None:
        r = self.rng
        midnight = self._stamp(day, 0)
        deep, rem, light = r.randint(2400, 6600), r.randint(3600, 8400), r.randint(12000, 19000)
        awake, latency = r.randint(1200, 4800), r.randint(180, 1800)
        total = deep + rem + light
        in_bed = total + awake
        start_hour = r.uniform(-2.5, 0.5)
        phases = "".join(r.choice("12234") for _ in range(in_bed // 300))
        temperature = round(r.gauss(0, 0.3), 2)
        hrv = r.randint(20, 95)
        lowest = r.randint(42, 60)
        readiness_score = r.randint(55, 97)
        contributors = {k: r.randint(40, 100) for k in ("deep_sleep", "efficiency", "latency", "rem_sleep")}
        contributors |= {k: r.randint(40, 100) for k in ("restfulness", "timing", "total_sleep")}
        self._add("daily_sleep", day, {"contributors": contributors, "score": r.randint(55, 95), "timestamp": midnight})
        self._add(
            "sleep",
            day,
            {
                "average_breath": round(r.uniform(12, 17), 3),
                "average_heart_rate": round(lowest + r.uniform(3, 9), 3),
                "average_hrv": hrv,
                "awake_time": awake,
                "bedtime_start": self._stamp(day, start_hour),
                "bedtime_end": self._stamp(day, start_hour + in_bed / 3600),
                "deep_sleep_duration": deep,
                "efficiency": round(100 * total / in_bed),
                "heart_rate": {
                    "interval": 300.0,
                    "items": [lowest + r.randint(0, 15) for _ in range(8)],
                    "timestamp": self._stamp(day, start_hour),
                },
                "hrv": {
                    "interval": 300.0,
                    "items": [hrv + r.randint(-15, 15) for _ in range(8)],
                    "timestamp": self._stamp(day, start_hour),
                },
                "latency": latency,
                "light_sleep_duration": light,
                "low_battery_alert": False,
                "lowest_heart_rate": lowest,
                "movement_30_sec": "".join(r.choice("1112") for _ in range(in_bed // 30)),
                "period": 0,
                "readiness": {
                    "contributors": {},
                    "score": readiness_score,
                    "temperature_deviation": temperature,
                    "temperature_trend_deviation": round(temperature / 2, 2),
                },
                "readiness_score_delta": 0,
                "rem_sleep_duration": rem,
                "restless_periods": r.randint(100, 350),
                "sleep_phase_5_min": phases,
                "sleep_score_delta": 0,
                "sleep_algorithm_version": "v2",
                "time_in_bed": in_bed,
                "total_sleep_duration": total,
                "type": "long_sleep",
            },
        )
        if r.random() < 0.15:  # an afternoon nap now and then: not the night's sleep
            self._add(
                "sleep",
                day,
                {
                    "type": "sleep",
                    "period": 1,
                    "time_in_bed": 1500,
                    "total_sleep_duration": 1200,
                    "bedtime_start": self._stamp(day, 14),
                    "bedtime_end": self._stamp(day, 14.4),
                    "average_hrv": None,
                    "heart_rate": None,
                    "hrv": None,
                    "efficiency": 80,
                },
            )
        self._add(
            "daily_readiness",
            day,
            {
                "contributors": {"hrv_balance": r.randint(40, 100), "resting_heart_rate": r.randint(40, 100)},
                "score": readiness_score,
                "temperature_deviation": temperature,
                "temperature_trend_deviation": round(temperature / 2, 2),
                "timestamp": midnight,
            },
        )
        steps = r.randint(2500, 19000)
        high, medium, low = r.randint(0, 3600), r.randint(600, 6000), r.randint(6000, 20000)
        active = int(steps * r.uniform(0.03, 0.06))
        self._add(
            "daily_activity",
            day,
            {
                "active_calories": active,
                "average_met_minutes": round(r.uniform(1.2, 2.2), 3),
                "class_5_min": "".join(r.choice("012345") for _ in range(288)),
                "score": r.randint(50, 100),
                "equivalent_walking_distance": int(steps * 0.78),
                "high_activity_time": high,
                "medium_activity_time": medium,
                "low_activity_time": low,
                "inactivity_alerts": r.randint(0, 3),
                "met": {
                    "interval": 60.0,
                    "items": [round(r.uniform(0.9, 3), 1) for _ in range(12)],
                    "timestamp": self._stamp(day, 4),
                },
                "non_wear_time": r.randint(0, 3600),
                "resting_time": r.randint(18000, 30000),
                "sedentary_time": r.randint(20000, 40000),
                "steps": steps,
                "target_calories": 500,
                "target_meters": 10000,
                "total_calories": 1600 + active,
                "timestamp": self._stamp(day, 4),
            },
        )
        self._add(
            "daily_spo2",
            day,
            {
                "spo2_percentage": {"average": round(r.uniform(94.5, 99.2), 3)},
                "breathing_disturbance_index": r.randint(0, 30),
            },
        )
        if r.random() < 0.35:
            kind = r.choice(["walking", "running", "cycling", "strength_training", "yoga"])
            begin = r.uniform(7, 19)
            minutes = r.randint(20, 90)
            self._add(
                "workout",
                day,
                {
                    "activity": kind,
                    "calories": round(minutes * r.uniform(4, 11), 3),
                    "distance": round(minutes * r.uniform(80, 300), 2)
                    if kind in ("walking", "running", "cycling")
                    else None,
                    "end_datetime": self._stamp(day, begin + minutes / 60),
                    "intensity": r.choice(["easy", "moderate", "hard"]),
                    "label": None,
                    "source": "autodetected",
                    "start_datetime": self._stamp(day, begin),
                },
            )

    def heartrate(self, start: datetime, end: datetime) -> _Series:
        """5-minute samples in [start, end), each computed from its own moment, so any window or page agrees."""
        first = datetime.combine(self.first, datetime.min.time(), tzinfo=UTC).timestamp()
        last = datetime.combine(self.today + timedelta(days=1), datetime.min.time(), tzinfo=UTC).timestamp()
        begin = max(start.timestamp(), first)
        begin += -begin % 300
        stop = min(end.timestamp(), last)
        return _Series(self, int(begin), max(0, int((stop - begin + 299) // 300)))

    def sample(self, epoch: int) -> dict[str, Any]:
        moment = datetime.fromtimestamp(epoch, UTC)
        seed = epoch ^ zlib.crc32(self.id.encode())
        hour = moment.astimezone(self.tz).hour
        asleep = hour < 6 or hour >= 23
        bpm = (50 if asleep else 68) + seed % (12 if asleep else 55)
        return {"bpm": bpm, "source": "sleep" if asleep else "awake", "timestamp": moment.isoformat()}


class _Series:
    """A window of heart-rate samples made only when a page is cut from it (a year is 105,000 rows)."""

    def __init__(self, person: Person, begin: int, count: int) -> None:
        self.person, self.begin, self.count = person, begin, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, cut: slice) -> list[dict[str, Any]]:
        return [self.person.sample(self.begin + 300 * n) for n in range(*cut.indices(self.count))]


class OuraSandbox(Sandbox):
    name = "oura"
    data_prefix = PREFIX

    def __init__(self, config: SandboxConfig | None = None, *, today: date | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.today = today or datetime.now(UTC).date()
        self.subscriptions: dict[str, dict[str, Any]] = {}

    def new_person(
        self, person_id: str | None = None, *, days: int | None = None, gaps: dict[str, int] | None = None
    ) -> str:
        person_id = person_id or uuid.uuid4().hex
        with self.lock:
            if person_id in self.people:
                return person_id
            self.people[person_id] = Person(person_id, days or self.config.days, self.today, gaps)
        return person_id

    def rate_limit_headers(self, retry_after: int, reset: float) -> dict[str, str]:
        return {
            "Retry-After": str(retry_after),
            "X-RateLimit-Limit": str(self.config.quota_requests),
            "X-RateLimit-Window": str(int(self.config.quota_window)),
            "X-RateLimit-Reset": str(int(reset)),
            "X-RateLimit-Tier": "application",
        }

    def handle_data(self, method: str, path: str, query: dict[str, str], grant: Grant) -> tuple[int, Any]:
        if not path.startswith(PREFIX) or method != "GET":
            return 404, {"detail": "Not Found"}
        person = self.people[grant.person]
        name, _, document_id = path[len(PREFIX) :].partition("/")
        if name == "personal_info":
            return 200, person.info
        if name == "heartrate":
            return self._heartrate(person, query)
        if name not in person.docs:
            return 404, {"detail": "Not Found"}
        docs = person.docs[name]
        if document_id:
            found = [d for d in docs if d["id"] == document_id]
            return (200, self._shape(found[0])) if found else (404, {"detail": "Document not found."})
        try:
            end = date.fromisoformat(query["end_date"]) if query.get("end_date") else self.today + timedelta(days=1)
            start = date.fromisoformat(query["start_date"]) if query.get("start_date") else end - timedelta(days=1)
        except ValueError:
            return 400, {"detail": "Query Parameter Validation Error"}
        if start > end:
            return 422, {
                "detail": [
                    {
                        "type": "value_error",
                        "loc": ["query", "start_date"],
                        "msg": "Start date must be before end date",
                        "input": str(start),
                    }
                ]
            }
        inclusive = name in INCLUSIVE_END
        chosen = [
            d
            for d in docs
            if start.isoformat() <= d["day"]
            and (d["day"] <= end.isoformat() if inclusive else d["day"] < end.isoformat())
        ]
        return self._page(chosen, query, self.config.page_size)

    def _heartrate(self, person: Person, query: dict[str, str]) -> tuple[int, Any]:
        try:
            end = datetime.fromisoformat(query["end_datetime"]) if query.get("end_datetime") else datetime.now(UTC)
            start = (
                datetime.fromisoformat(query["start_datetime"])
                if query.get("start_datetime")
                else end - timedelta(days=1)
            )
        except ValueError:
            return 400, {"detail": "Query Parameter Validation Error"}
        return self._page(person.heartrate(start, end), query, self.config.series_page_size, shape=False)

    def _page(self, rows: Any, query: dict[str, str], size: int, *, shape: bool = True) -> tuple[int, Any]:
        offset = 0
        if query.get("next_token"):
            try:
                offset = int(json.loads(base64.urlsafe_b64decode(query["next_token"].encode()))["o"])
            except (ValueError, KeyError, TypeError):
                return 400, {"detail": "Invalid next_token"}
        page = rows[offset : offset + size]
        more = offset + size < len(rows)
        token = base64.urlsafe_b64encode(json.dumps({"o": offset + size}).encode()).decode() if more else None
        return 200, {"data": [self._shape(d) if shape else d for d in page], "next_token": token}

    def _shape(self, doc: dict[str, Any]) -> dict[str, Any]:
        if self.config.emit_meta:
            return {**doc, "meta": {"updated_at": datetime.now(UTC).isoformat(), "version": 1}}
        return doc

    # --- webhooks -----------------------------------------------------------------------------------
    def handle_app_route(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any] | None:
        """The subscription API (reference §1.7): x-client-id/x-client-secret, a challenge on create."""
        if not path.startswith(SUBSCRIPTIONS):
            return None
        if (
            headers.get("x-client-id") != self.config.client_id
            or headers.get("x-client-secret") != self.config.client_secret
        ):
            return 403, {"detail": "Forbidden"}
        rest = path[len(SUBSCRIPTIONS) :].strip("/")
        if method == "GET" and not rest:
            return 200, list(self.subscriptions.values())
        if method == "POST" and not rest:
            try:
                request = json.loads(body)
                fields = {k: request[k] for k in ("callback_url", "verification_token", "event_type", "data_type")}
            except (ValueError, KeyError, TypeError):
                return 422, {"detail": [{"type": "missing", "loc": ["body"], "msg": "Field required"}]}
            if fields["event_type"] not in ("create", "update", "delete") or fields["data_type"] not in DAILY:
                return 422, {
                    "detail": [{"type": "enum", "loc": ["body", "data_type"], "msg": "Invalid data_type value"}]
                }
            if not self._challenge(fields["callback_url"], fields["verification_token"]):
                return 400, {"detail": "The callback did not answer the verification challenge"}
            subscription = {
                "id": str(uuid.uuid4()),
                "callback_url": fields["callback_url"],
                "event_type": fields["event_type"],
                "data_type": fields["data_type"],
                "expiration_time": (datetime.now(UTC) + timedelta(days=90)).isoformat(),
            }
            self.subscriptions[subscription["id"]] = subscription
            return 201, subscription
        subscription_id = rest.removeprefix("renew/")
        if subscription_id not in self.subscriptions:
            return 403, {"detail": "Webhook with specified id does not exist."}
        if method == "DELETE":
            del self.subscriptions[subscription_id]
            return 204, None
        if method == "PUT":
            self.subscriptions[subscription_id]["expiration_time"] = (
                datetime.now(UTC) + timedelta(days=90)
            ).isoformat()
            return 200, self.subscriptions[subscription_id]
        return 200, self.subscriptions[subscription_id]

    def _challenge(self, callback_url: str, verification_token: str) -> bool:
        challenge = uuid.uuid4().hex
        query = urllib.parse.urlencode({"verification_token": verification_token, "challenge": challenge})
        try:
            with urllib.request.urlopen(f"{callback_url}?{query}", timeout=10) as response:  # noqa: S310 (caller's URL)
                return json.loads(response.read()) == {"challenge": challenge}
        except (urllib.error.URLError, ValueError):
            return False

    def signed_event(
        self, person: str, data_type: str, object_id: str, event_type: str = "update", timestamp: int | None = None
    ) -> tuple[dict[str, str], bytes]:
        """Headers and body of a webhook delivery, signed as Oura signs: upper-case hex HMAC-SHA256 over
        timestamp + body, keyed with the client secret (the exact compact bytes sent)."""
        body = json.dumps(
            {
                "event_type": event_type,
                "data_type": data_type,
                "object_id": object_id,
                "event_time": datetime.now(UTC).isoformat(),
                "user_id": person,
            },
            separators=(",", ":"),
        ).encode()
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(self.config.client_secret.encode(), stamp.encode() + body, hashlib.sha256)
        return {
            "x-oura-signature": digest.hexdigest().upper(),
            "x-oura-timestamp": stamp,
            "content-type": "application/json",
        }, body

    def deliver(
        self, callback_url: str, person: str, data_type: str, object_id: str, event_type: str = "update"
    ) -> int:
        """POST a signed event to `callback_url`; returns the receiver's status code."""
        headers, body = self.signed_event(person, data_type, object_id, event_type)
        request = urllib.request.Request(callback_url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback URL given by caller)
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
