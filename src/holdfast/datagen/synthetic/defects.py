"""Realistic defects: how a valid customer line is made invalid, one defect per line."""

from __future__ import annotations

import json

from holdfast.datagen.synthetic.files import compact_json

DEFECTS = (
    "not_json",
    "invalid_uuid",
    "invalid_email",
    "non_positive_amount",
    "amount_as_string",
    "missing_purchase_history",
    "invalid_date",
    "missing_created_at",
    "purchase_history_not_list",
)


def make_invalid(line: str, defect: str, variant: int) -> str:
    """Turn a valid customer line into one with the given realistic defect."""
    if defect == "not_json":
        return line[: max(8, len(line) // 3)]
    record = json.loads(line)
    first = record["purchaseHistory"][0]
    if defect == "invalid_uuid":
        bad = (record["id"][:-3], "not-a-uuid", "g" + record["id"][1:])
        record["id"] = bad[variant % len(bad)]
    elif defect == "invalid_email":
        local, _, domain = record["email"].partition("@")
        bad = (
            f"{local}.{domain}",
            f"{local}@",
            local.replace(".", " ", 1) + f"@{domain}",
            local.replace(".", "..", 1) + f"@{domain}",
        )
        record["email"] = bad[variant % len(bad)]
    elif defect == "non_positive_amount":
        first["amount"] = 0 if variant % 2 == 0 else -first["amount"]
    elif defect == "amount_as_string":
        first["amount"] = f"{first['amount']:.2f}"
    elif defect == "missing_purchase_history":
        del record["purchaseHistory"]
    elif defect == "invalid_date":
        year = first["date"][:4]
        first["date"] = (f"{year}-02-30T10:00:00Z", "yesterday", f"{year}-13-01T00:00:00Z")[
            variant % 3
        ]
    elif defect == "missing_created_at":
        del record["createdAt"]
    elif defect == "purchase_history_not_list":
        record["purchaseHistory"] = first if variant % 2 == 0 else first["productId"]
    else:
        raise ValueError(f"unknown defect: {defect}")
    return compact_json(record)
