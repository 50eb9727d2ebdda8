#!/usr/bin/env python3
"""Generate the Lenses SQL demo environment (runtimes/lenses-demo).

Three Kafka-style topics exported as JSON lines, one object per record with
key / value / metadata, the shape runnel-sql turns into tables:

  input                        100 records, simple values
  cc_payments                  1000 card payments (currency, amount, ...)
  sea_vessel_position_reports  300 AIS position reports, nested key {MMSI}

Deterministic (fixed seed), Python standard library only:

  python3 runtimes/lenses-demo/generate.py [OUTDIR]
"""
import json
import os
import random
import sys

BASE_TS = 1678707744267  # 2023-03-13T11:42:24.267Z


def record(key, value, offset, partition, ts, key_schema, value_schema):
    k = json.dumps(key, separators=(",", ":")) if key is not None else ""
    v = json.dumps(value, separators=(",", ":"))
    meta = {
        "offset": offset,
        "partition": partition,
        "timestamp": ts,
        "__keysize": len(k.encode()),
        "__valuesize": len(v.encode()),
    }
    if key_schema is not None:
        meta["keySchemaId"] = key_schema
    if value_schema is not None:
        meta["valueSchemaId"] = value_schema
    return {"key": key, "value": value, "metadata": meta}


def write(path, records):
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n")


def gen_input(rng):
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    out = []
    for i in range(100):
        value = {
            "id": i,
            "name": f"{rng.choice(words)}-{i}",
            "score": round(rng.uniform(0, 100), 2),
            "active": rng.random() < 0.7,
            "tags": rng.sample(words, 2),
        }
        out.append(record(f"id-{i}", value, i, 0, BASE_TS + i * 1000, None, 1))
    return out


def gen_payments(rng):
    currencies = ["EUR", "GBP", "USD", "NOR", "SEK", "CHF"]
    merchants = [f"merchant-{m}" for m in range(1, 21)]
    offsets = [0, 0, 0]
    out = []
    for i in range(1000):
        p = rng.randrange(3)
        card = f"{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}-" \
               f"{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}"
        value = {
            "id": f"txn{i:06d}",
            "time": BASE_TS + i * 2500,
            "amount": round(rng.uniform(1, 2500), 2),
            "currency": rng.choice(currencies),
            "creditCardId": card,
            "merchantId": rng.randrange(1, len(merchants) + 1),
        }
        out.append(record(value["id"], value, offsets[p], p, BASE_TS + i * 2500, None, 2))
        offsets[p] += 1
    return out


def gen_vessels(rng):
    mmsis = [219005662, 265527470, 235095435, 244670316, 257041650, 211331640, 538006262,
             636017000, 305432000, 477123400]
    offsets = [0, 0]
    out = []
    for i in range(300):
        mmsi = rng.choice(mmsis)
        p = mmsi % 2
        lat = 55.0 + rng.random() * 3
        lon = 10.0 + rng.random() * 5
        value = {
            "Type": rng.choice([1, 2, 3]),
            "Repeat": 0,
            "MMSI": mmsi,
            "Speed": round(rng.uniform(0, 25), 1),
            "Accuracy": rng.random() < 0.5,
            "Longitude": lon,
            "Latitude": lat,
            "location": f"{lat:.6f},{lon:.6f}",
            "Course": round(rng.uniform(0, 360), 1),
            "Heading": rng.choice([511, rng.randrange(0, 360)]),
            "Second": rng.randrange(0, 60),
            "RAIM": rng.random() < 0.2,
            "Radio": rng.randrange(0, 100000),
            "Status": rng.randrange(0, 16),
            "Turn": -128.0,
            "Maneuver": 0,
            "Timestamp": 1491318144456507320 + i * 1000003,
        }
        out.append(record({"MMSI": mmsi}, value, offsets[p], p, BASE_TS + i * 4840, 4, 5))
        offsets[p] += 1
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(outdir, exist_ok=True)
    rng = random.Random(20230313)
    write(os.path.join(outdir, "input.jsonl"), gen_input(rng))
    write(os.path.join(outdir, "cc_payments.jsonl"), gen_payments(rng))
    write(os.path.join(outdir, "sea_vessel_position_reports.jsonl"), gen_vessels(rng))


if __name__ == "__main__":
    main()
