#!/usr/bin/env python3
"""Writes Thunderbird's OpenPGP acceptance database (PROFILE/openpgp.sqlite), the rows its key manager
would write when a person accepts keys:

    python3 openpgp_sqlite.py PROFILE/openpgp.sqlite < [{"fpr": "...", "decision": "personal", "emails": []}, ...]

decision: personal (own key), verified, unverified, rejected; emails: the addresses a correspondent's
key is accepted for.
"""
import json
import sqlite3
import sys


def main() -> int:
    rows = json.load(sys.stdin)
    db = sqlite3.connect(sys.argv[1])
    with db:
        db.execute("create table if not exists acceptance_decision (fpr text not null, decision text not null, unique(fpr))")
        db.execute("create table if not exists acceptance_email (fpr text not null, email text not null, unique(fpr, email))")
        for row in rows:
            fpr = row["fpr"].lower()
            db.execute("insert or replace into acceptance_decision values (?, ?)", (fpr, row["decision"]))
            for email in row.get("emails", []):
                db.execute("insert or replace into acceptance_email values (?, ?)", (fpr, email.lower()))
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
