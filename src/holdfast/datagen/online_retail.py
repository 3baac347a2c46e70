"""Import the UCI Online Retail data set into the landing contract.

Source: UCI Online Retail data set (Chen, Sain and Guo, 2012), CC BY 4.0: real invoice lines of
a UK online gift retailer, 2010-12-01 to 2011-12-09. The parquet is read where it lies; nothing
is copied into the project. Same input -> byte-identical output.

Rules, in the order they are applied:

1. Every invoice line is either used or excluded for exactly one reason, the first that applies:
   - ``cancellation``: the invoice number starts with "C";
   - ``missing_customer_id``: no customer id;
   - ``non_product_stock_code``: the stock code (trimmed, upper-cased) is a fee or adjustment,
     not a product: POST, DOT, M, BANK CHARGES, C2, CRUK, D, PADS, AMAZONFEE, S, B, any code
     starting with GIFT_ (gift vouchers) or DCGS, or an empty code;
   - ``non_positive_quantity``: quantity missing or <= 0;
   - ``non_positive_price``: unit price missing or <= 0;
   - ``zero_amount``: quantity x unit price rounds to 0.00 (the contract wants amount > 0);
   - ``missing_description``: no description (blank after trimming);
   - ``missing_invoice_date``: no invoice date.
   ``lines_read == lines_used + sum(excluded.values())`` always holds; every reason is listed,
   with 0 when it never fired.
2. Times: invoice dates have no zone in the source; they are taken as UTC and written as
   ``YYYY-MM-DDTHH:MM:SSZ``.
3. Customers: one per customer id among the used lines. id = ``uuid5(NAMESPACE,
   "online-retail:<customer_id>")``; email = ``customer-<customer_id>@online-retail.example``;
   createdAt = the first used invoice date of that customer.
4. Batches: one customer file per calendar month of the invoice date, batch id
   ``online_retail_YYYY-MM`` (``batch_by="day"``: one per day, ``online_retail_YYYY-MM-DD``).
   A customer line carries that period's purchases only, so a customer appears in every batch
   in which they bought; the pipeline unions the purchases. Customers are sorted by customer id
   within a file.
5. Purchases: one per used invoice line (duplicates in the source stay duplicates).
   productId = stock code trimmed and upper-cased; amount = round(quantity x unit price, 2);
   date = invoice date. Sorted by (date, productId, amount).
6. Products: one snapshot, ``online_retail_catalog``, with one product per stock code seen in
   the used lines, sorted by productId.
   - name: its most frequent trimmed description (ties: alphabetically first), text unchanged;
   - description: the name plus "Sold N times between YYYY-MM and YYYY-MM." (N = used lines);
   - category: the first rule of ``CATEGORY_RULES`` with a keyword that is a whole word of the
     upper-cased name (words split on anything but letters, digits and "-"), else "Other";
   - price: median unit price over its used lines, rounded to 2 decimals;
   - stockQuantity: the source has no stock levels, so it is the total quantity sold in the
     last 90 days of the data set (invoice date after the last invoice date in the file minus
     90 days); a product not sold in those 90 days is taken as discontinued: 0, out of stock.
7. ``import_report.json`` next to the landing folders records the counts (lines read, used,
   excluded per reason, customers, products, batches).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

NAMESPACE = uuid.UUID("6f1f0c2e-8a4b-5d3c-9e7f-0b1a2c3d4e5f")
PRODUCT_SNAPSHOT_ID = "online_retail_catalog"
BATCH_PREFIX = "online_retail_"
EMAIL_DOMAIN = "online-retail.example"
REPORT_FILE = "import_report.json"
STOCK_WINDOW_DAYS = 90
ATTRIBUTION = "UCI Online Retail data set (Chen, Sain and Guo, 2012), CC BY 4.0."

NON_PRODUCT_CODES = (
    "POST",
    "DOT",
    "M",
    "BANK CHARGES",
    "C2",
    "CRUK",
    "D",
    "PADS",
    "AMAZONFEE",
    "S",
    "B",
)
NON_PRODUCT_PREFIXES = ("GIFT_", "DCGS")
EXCLUSION_REASONS = (
    "cancellation",
    "missing_customer_id",
    "non_product_stock_code",
    "non_positive_quantity",
    "non_positive_price",
    "zero_amount",
    "missing_description",
    "missing_invoice_date",
)
BATCH_FORMATS = {"month": "%Y-%m", "day": "%Y-%m-%d"}

# Ordered: the first rule with a keyword among the name's words wins.
CATEGORY_RULES: tuple[tuple[str, str], ...] = (
    ("Christmas", "CHRISTMAS XMAS ADVENT SANTA REINDEER SNOWFLAKE NATIVITY"),
    ("Easter", "EASTER EGG EGGS BUNNY CHICK CHICKS"),
    ("Bags", "BAG BAGS HANDBAG WASHBAG SHOPPER TOTE PURSE RUCKSACK BACKPACK"),
    (
        "Candles & lights",
        "CANDLE CANDLES T-LIGHT T-LIGHTS TEALIGHT TEALIGHTS LANTERN LANTERNS LIGHT LIGHTS "
        "LAMP LAMPSHADE CANDLEHOLDER NIGHTLIGHT INCENSE",
    ),
    (
        "Tableware",
        "MUG MUGS CUP CUPS TEACUP TEACUPS SAUCER SAUCERS PLATE PLATES BOWL BOWLS CUTLERY "
        "JUG TEAPOT BEAKER BEAKERS TUMBLER GLASSES NAPKINS PLACEMATS COASTER COASTERS "
        "STRAWS DISH DISHES NAPKIN DOILIES TABLECLOTH PLATTER HAMPER",
    ),
    (
        "Kitchen & baking",
        "CAKE CAKES CAKESTAND BAKING CASES APRON TIN TINS JAR JARS PANTRY KITCHEN SPOON "
        "SPOONS RECIPE TOWEL TOWELS LUNCH JELLY CHOPPING SCALES MOULD BISCUIT CUTTER "
        "CUTTERS OVEN PAN RACK FOOD CONTAINER",
    ),
    (
        "Cards & wrap",
        "CARD CARDS WRAP WRAPPING TAG TAGS ENVELOPE ENVELOPES RIBBON RIBBONS TISSUE TISSUES",
    ),
    (
        "Jewellery & accessories",
        "NECKLACE EARRINGS BRACELET RING RINGS CHARM BEAD BEADS DIAMANTE BROOCH HAIR "
        "HAIRCLIP JEWELLERY UMBRELLA SCARF GLOVES WALLET KEYRING CHARMS BEADED CHOKER PASSPORT "
        "WARMER",
    ),
    (
        "Stationery",
        "NOTEBOOK NOTEBOOKS PENCIL PENCILS PEN PENS ERASER STICKER STICKERS NOTEPAD NOTES "
        "JOURNAL CALENDAR DIARY BOOK BOOKMARK CRAYONS CHALK STAMP STAMPS RULER "
        "PAPERWEIGHT WRITING STATIONERY ERASERS RUBBER MEMO CALCULATOR PUNCH ALBUM TAPE "
        "SKETCHBOOK DRAWING PAD",
    ),
    (
        "Toys & games",
        "TOY TOYS GAME GAMES PUZZLE PUZZLES JIGSAW DOLL DOLLY DOLLS TEDDY SKITTLES "
        "DOMINOES PLAYHOUSE SPACEBOY KIDS CHILDRENS CHILDS BALLOONS BALLOON SOLDIER "
        "SOLDIERS MARBLES SPINNING BINGO",
    ),
    ("Crafts & sewing", "FELTCRAFT SEWING KNITTING CRAFT EMBROIDERY SCISSORS CROCHET"),
    (
        "Garden",
        "GARDEN PLANT PLANTER POT POTS WATERING BIRDHOUSE FEEDER SEED SEEDS HERB HERBS "
        "GNOME FLOWERPOT TRELLIS",
    ),
    (
        "Party & decorations",
        "PARTY BUNTING GARLAND BIRTHDAY DECORATION DECORATIONS CONFETTI BANNER WREATH HANGING",
    ),
    (
        "Home decor",
        "CUSHION CUSHIONS CLOCK MIRROR FRAME FRAMES DOORMAT SIGN HOOK HOOKS DRAWER "
        "DRAWERS STORAGE BOX BOXES HANGER HANGERS WALL TILE DOORSTOP CABINET SHELF "
        "BLANKET THROW BOTTLE VASE HOLDER BASKET CHALKBOARD PLAQUE ORNAMENT QUILT RUG "
        "CURTAIN DOORKNOB LADDER TRAY STAND COAT KEY MAGNET MAGNETS MOBILE SOAP",
    ),
)
OTHER_CATEGORY = "Other"
_WORD = re.compile(r"[A-Z0-9-]+")


@dataclass(frozen=True)
class ImportSummary:
    """What `import_online_retail` read, used, excluded and wrote."""

    out_dir: Path
    customer_batches: list[str]
    product_snapshot: str
    lines_read: int
    lines_used: int
    excluded: dict[str, int]
    customers: int
    products: int


# ---------------------------------------------------------------------------------------------
# pure rules


def customer_uuid(customer_id: int | str) -> str:
    """Deterministic customer uuid for a source customer id."""
    return str(uuid.uuid5(NAMESPACE, f"online-retail:{customer_id}"))


def customer_email(customer_id: int | str) -> str:
    """Deterministic e-mail for a source customer id."""
    return f"customer-{customer_id}@{EMAIL_DOMAIN}"


def category_for(name: str) -> str:
    """Category of a product name by the first matching keyword rule, else 'Other'."""
    words = set(_WORD.findall(name.upper()))
    for category, keywords in CATEGORY_RULES:
        if words.intersection(keywords.split()):
            return category
    return OTHER_CATEGORY


def product_description(name: str, times_sold: int, first_month: str, last_month: str) -> str:
    """The product name plus a short sales note."""
    times = "time" if times_sold == 1 else "times"
    when = (
        f"in {first_month}"
        if first_month == last_month
        else f"between {first_month} and {last_month}"
    )
    return f"{name.rstrip('. ')}. Sold {times_sold} {times} {when}."


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def _reason_sql() -> str:
    """CASE expression naming the first exclusion reason of a line (NULL = used)."""
    prefixes = " OR ".join(f"starts_with(code, '{prefix}')" for prefix in NON_PRODUCT_PREFIXES)
    return f"""
        CASE
            WHEN starts_with(upper(trim(coalesce(invoice_no, ''))), 'C') THEN 'cancellation'
            WHEN customer_id IS NULL THEN 'missing_customer_id'
            WHEN code = '' OR code IN ({_sql_list(NON_PRODUCT_CODES)}) OR {prefixes}
                THEN 'non_product_stock_code'
            WHEN quantity IS NULL OR quantity <= 0 THEN 'non_positive_quantity'
            WHEN unit_price IS NULL OR unit_price <= 0 THEN 'non_positive_price'
            WHEN amount <= 0 THEN 'zero_amount'
            WHEN descr IS NULL THEN 'missing_description'
            WHEN invoice_date IS NULL THEN 'missing_invoice_date'
        END"""


# ---------------------------------------------------------------------------------------------
# duckdb


def _load(con: duckdb.DuckDBPyConnection, parquet: Path, batch_format: str) -> None:
    """Create table `lines`: every source line with its cleaned fields and exclusion reason."""
    con.execute(
        f"""
        CREATE TEMP TABLE lines AS
        SELECT *, {_reason_sql()} AS reason
        FROM (
            SELECT
                invoice_no,
                upper(trim(coalesce(stock_code, ''))) AS code,
                nullif(trim(description), '') AS descr,
                quantity,
                unit_price,
                round(quantity * unit_price, 2) AS amount,
                invoice_date,
                customer_id,
                strftime(invoice_date, '%Y-%m-%dT%H:%M:%SZ') AS date_text,
                strftime(invoice_date, '{batch_format}') AS period
            FROM read_parquet(?)
        )
        """,
        [str(parquet)],
    )


def _count_source(con: duckdb.DuckDBPyConnection, parquet: Path) -> int:
    return con.execute("SELECT count(*) FROM read_parquet(?)", [str(parquet)]).fetchone()[0]


def _exclusions(con: duckdb.DuckDBPyConnection) -> tuple[int, dict[str, int]]:
    rows = con.execute("SELECT reason, count(*) FROM lines GROUP BY reason").fetchall()
    counts = {reason: count for reason, count in rows}
    used = counts.pop(None, 0)
    unknown = set(counts) - set(EXCLUSION_REASONS)
    if unknown:
        raise RuntimeError(f"unexpected exclusion reasons: {sorted(unknown)}")
    return used, {reason: counts.get(reason, 0) for reason in EXCLUSION_REASONS}


def _product_rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(code, name, times sold, first month, last month, median price, recent quantity)."""
    return con.execute(
        f"""
        WITH used AS (SELECT * FROM lines WHERE reason IS NULL),
        names AS (
            SELECT code, descr, count(*) AS n FROM used GROUP BY code, descr
        ),
        top_name AS (
            SELECT code, descr AS name FROM names
            QUALIFY row_number() OVER (PARTITION BY code ORDER BY n DESC, descr ASC) = 1
        ),
        cutoff AS (
            SELECT max(invoice_date) - INTERVAL {STOCK_WINDOW_DAYS} DAY AS since FROM lines
        )
        SELECT
            used.code,
            any_value(top_name.name) AS name,
            count(*) AS times_sold,
            strftime(min(used.invoice_date), '%Y-%m') AS first_month,
            strftime(max(used.invoice_date), '%Y-%m') AS last_month,
            round(median(used.unit_price), 2) AS price,
            coalesce(sum(used.quantity) FILTER (WHERE used.invoice_date > cutoff.since), 0)
                AS recent_quantity
        FROM used
        JOIN top_name USING (code)
        CROSS JOIN cutoff
        GROUP BY used.code
        ORDER BY used.code
        """
    ).fetchall()


def _first_seen(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    rows = con.execute(
        """
        SELECT customer_id, strftime(min(invoice_date), '%Y-%m-%dT%H:%M:%SZ')
        FROM lines WHERE reason IS NULL GROUP BY customer_id
        """
    ).fetchall()
    return dict(rows)


def _periods(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT DISTINCT period FROM lines WHERE reason IS NULL ORDER BY period"
    ).fetchall()
    return [row[0] for row in rows]


def _period_purchases(con: duckdb.DuckDBPyConnection, period: str) -> list[tuple]:
    """(customer_id, date, productId, amount) of one period, in output order."""
    return con.execute(
        """
        SELECT customer_id, date_text, code, amount
        FROM lines
        WHERE reason IS NULL AND period = ?
        ORDER BY customer_id, date_text, code, amount
        """,
        [period],
    ).fetchall()


# ---------------------------------------------------------------------------------------------
# lines and files


def _compact(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def product_record(row: Sequence) -> dict:
    """Landing product record from a `_product_rows` row."""
    code, name, times_sold, first_month, last_month, price, recent_quantity = row
    return {
        "productId": code,
        "name": name,
        "description": product_description(name, times_sold, first_month, last_month),
        "category": category_for(name),
        "price": float(price),
        "stockQuantity": max(int(recent_quantity), 0),
    }


def customer_lines(rows: Sequence[tuple], first_seen: dict[int, str]) -> Iterator[str]:
    """One landing line per customer from rows sorted by (customer_id, date, code, amount)."""
    start = 0
    while start < len(rows):
        customer_id = rows[start][0]
        end = start
        while end < len(rows) and rows[end][0] == customer_id:
            end += 1
        yield _compact(
            {
                "id": customer_uuid(customer_id),
                "email": customer_email(customer_id),
                "purchaseHistory": [
                    {"productId": code, "amount": float(amount), "date": date}
                    for _, date, code, amount in rows[start:end]
                ],
                "createdAt": first_seen[customer_id],
            }
        )
        start = end


def _atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path.tmp` in the same folder, then move it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _jsonl(lines: Iterable[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


def _report(summary: ImportSummary, source: Path) -> str:
    report = {
        "source": source.name,
        "attribution": ATTRIBUTION,
        "customer_batches": summary.customer_batches,
        "product_snapshot": summary.product_snapshot,
        "lines_read": summary.lines_read,
        "lines_used": summary.lines_used,
        "excluded": summary.excluded,
        "customers": summary.customers,
        "products": summary.products,
    }
    return json.dumps(report, indent=2) + "\n"


def import_online_retail(parquet: Path, out_dir: Path, *, batch_by: str = "month") -> ImportSummary:
    """Convert the UCI Online Retail parquet into landing files under `out_dir`."""
    if batch_by not in BATCH_FORMATS:
        raise ValueError(f"batch_by must be one of {sorted(BATCH_FORMATS)}, got {batch_by!r}")
    parquet, out_dir = Path(parquet), Path(out_dir)
    if not parquet.is_file():
        raise FileNotFoundError(f"Online Retail parquet not found: {parquet}")
    with duckdb.connect() as con:
        _load(con, parquet, BATCH_FORMATS[batch_by])
        lines_read = _count_source(con, parquet)
        used, excluded = _exclusions(con)
        products = [product_record(row) for row in _product_rows(con)]
        _atomic_write(
            out_dir / "products" / f"{PRODUCT_SNAPSHOT_ID}.jsonl",
            _jsonl(_compact(product) for product in products),
        )
        first_seen = _first_seen(con)
        batches = []
        for period in _periods(con):
            batch = f"{BATCH_PREFIX}{period}"
            rows = _period_purchases(con, period)
            _atomic_write(
                out_dir / "customers" / f"{batch}.jsonl", _jsonl(customer_lines(rows, first_seen))
            )
            batches.append(batch)
    summary = ImportSummary(
        out_dir=out_dir,
        customer_batches=batches,
        product_snapshot=PRODUCT_SNAPSHOT_ID,
        lines_read=lines_read,
        lines_used=used,
        excluded=excluded,
        customers=len(first_seen),
        products=len(products),
    )
    _atomic_write(out_dir / REPORT_FILE, _report(summary, parquet))
    return summary
