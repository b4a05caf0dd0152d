"""The load generator of `bench_liaisons`: liaisons as HTTP clients of the portal under gunicorn.

Each client signs in, then posts the "log a donor" form on its schedule (or as fast as answers
come, without one) until the window closes, and times every request from when it was due and
from when it was sent. The benchmark forks processes that each run a group of clients in
threads (`run_group`), so the load does not share one interpreter lock with the server or
itself. Plain `http.client`: nothing here touches the database or Django.
"""

from __future__ import annotations

import datetime as dt
import http.client
import re
import time
import urllib.parse

from campaigns.donors.identity import check_character

PORT = 8765  # gunicorn's port on 127.0.0.1; the benchmark sets it before forking the clients
DRAIN_SECONDS = 30  # how long behind schedule a client keeps sending after the window


def _cookie(headers, jar: dict) -> None:
    for name, value in headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            # A browser shows the flash message on the page it is redirected to, and the cookie
            # goes; these clients skip that page, so they drop the cookie instead of letting
            # thousands of messages pile up in it.
            if key != "messages":
                jar[key] = rest.split(";", 1)[0]


def _request(conn, method, path, jar, body=None, headers=None):
    all_headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()), "Host": f"127.0.0.1:{PORT}"}
    all_headers.update(headers or {})
    conn.request(method, path, body=body, headers=all_headers)
    response = conn.getresponse()
    data = response.read()
    _cookie(response.getheaders(), jar)
    return response.status, data


def _sign_in(username: str, password: str) -> dict[str, str]:
    """The liaison's session cookies. Sign-ins are PBKDF2, deliberately slow: 50 at once on a
    busy machine take more than 30 s, so they all happen before the measured window opens."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=180)
    jar: dict[str, str] = {}
    _request(conn, "GET", "/accounts/login/", jar)
    body = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": jar["csrftoken"]})
    status, _ = _request(
        conn,
        "POST",
        "/accounts/login/",
        jar,
        body,
        {"Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://127.0.0.1:{PORT}/"},
    )
    conn.close()
    if status != 302:
        raise RuntimeError(f"login failed for {username}: {status}")
    return jar


def _donor(n: int, counter: int, repeats: list[str], repeat: float) -> str:
    """The ID number of the client's `counter`-th donor: every 1/`repeat`-th one a person who
    gave before (while any are left), the others new people numbered from `n`."""
    if repeats and int(counter * repeat) > int((counter - 1) * repeat):
        return repeats.pop()
    birth = dt.date(1975, 1, 1) + dt.timedelta(days=n // 1000)
    first17 = f"110101{birth:%Y%m%d}{n % 1000:03d}"
    return first17 + check_character(first17)


def _client(args) -> tuple[list, list[str], list[str], int, list[str]]:
    """One liaison: sign in, then log donors until the deadline. Returns latencies, ID numbers
    saved, why others were not, how many were not sent, and ID numbers left unanswered."""
    username, password, unit_id, offset, start_at, deadline, interval, repeats, repeat = args
    jar = _sign_in(username, password)
    time.sleep(max(0.0, start_at - time.time()))
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    today = dt.date.today().isoformat()
    latencies, saved, failures, unsent, unanswered = [], [], [], 0, []
    counter = 0
    due = start_at
    while due < deadline:
        if interval:  # paced: one donor every `interval` seconds, like people at a collection point
            if time.time() > deadline + DRAIN_SECONDS:  # hopelessly behind: count, do not send
                unsent += 1
                due += interval
                continue
            time.sleep(max(0.0, due - time.time()))
        else:
            due = time.time()
        counter += 1
        number = _donor(offset + counter - 1, counter, repeats, repeat)
        body = urllib.parse.urlencode(
            {
                "unit": unit_id,
                "donor_name": "压测",
                "id_number": number,
                "phone": "",
                "donated_on": today,
                "amount": "whole:400",
                "csrfmiddlewaretoken": jar["csrftoken"],
            }
        )
        sent = time.time()
        try:
            status, page = _request(
                conn,
                "POST",
                "/liaison/log/",
                jar,
                body,
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Referer": f"http://127.0.0.1:{PORT}/liaison/log/",
                },
            )
        except (OSError, http.client.HTTPException):  # no answer in 30 s: the donation may be saved
            status = None
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        done = time.time()
        latencies.append((done - due, done - sent, done))  # from the schedule, from the send, when
        if status == 302:
            saved.append(number)
        elif status is None:
            unanswered.append(number)
        else:  # refused (the form shown again with its error) or an error page
            failures.append(_reason(status, page))
        if interval:
            due += interval
    return latencies, saved, failures, unsent, unanswered


def _reason(status: int, page: bytes) -> str:
    """Why a request did not save: the status and the form's first error, as the liaison reads it."""
    found = re.search(r'class="error">(?:<p>)?(.*?)</p>', page.decode("utf-8", "replace"), re.S)
    return f"{status}: " + (re.sub(r"<[^>]+>|\s+", " ", found.group(1)).strip()[:80] if found else "no form error")


def run_group(jobs):
    """Run several clients in threads inside one process."""
    from concurrent.futures import ThreadPoolExecutor

    if not jobs:  # fewer clients than processes: this process has none
        return [], [], [], 0, []
    with ThreadPoolExecutor(len(jobs)) as executor:
        parts = list(executor.map(_client, jobs))
    return (
        [x for p in parts for x in p[0]],
        [x for p in parts for x in p[1]],
        [x for p in parts for x in p[2]],
        sum(p[3] for p in parts),
        [x for p in parts for x in p[4]],
    )
