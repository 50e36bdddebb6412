#!/usr/bin/env python3
"""Re-derive truth.json from the written CSV files alone (independent of gen.py's
records) to catch generator bugs. stdlib only."""
import csv, datetime as dt, io, json, os, re, sys
HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = {  # dir: (encoding, id, owner, stage, amount, close, date parser)
    "salesforce": ("utf-8", "Id", "OwnerId", "StageName", "Amount", "CloseDate", "%Y-%m-%d"),
    "salesforce_report": ("utf-8-sig", "Opportunity ID", "Opportunity Owner", "Stage", "Amount", "Close Date", "%m/%d/%Y"),
    "salesforce_report_small": ("utf-8-sig", "Opportunity ID", "Opportunity Owner", "Stage", "Amount", "Close Date", "%m/%d/%Y"),
    "salesforce_report_uk": ("utf-8-sig", "Opportunity ID", "Opportunity Owner", "Stage", "Amount", "Close Date", "%d/%m/%Y"),
    "hubspot": ("utf-8-sig", "Record ID", "Deal owner", "Deal Stage", "Amount", "Close Date", "%Y-%m-%d %H:%M"),
    "zoho": ("utf-8", "Record Id", "Deal Owner", "Stage", "Amount", "Closing Date", "%Y-%m-%d"),
    "fxiaoke": ("gbk", "商机编号", "负责人", "销售阶段", "商机金额(元)", "预计成交日期", "%Y-%m-%d"),
}
WON = {"Closed Won", "赢单"}
LOST = {"Closed Lost", "Closed-Lost to Competition", "输单"}
bad = 0
for d, (enc, cid, cown, cst, camt, ccl, fmt) in SPEC.items():
    fn = [f for f in os.listdir(os.path.join(HERE, d)) if f.endswith(".csv")][0]
    text = open(os.path.join(HERE, d, fn), encoding=enc, newline="").read()
    rows = list(csv.reader(io.StringIO(text)))
    hdr, data = rows[0], rows[1:]
    # a Salesforce report ends at the first blank line (footer follows)
    if "" in [",".join(r) for r in data]:
        data = data[:[",".join(r) for r in data].index("")]
    ix = {h: i for i, h in enumerate(hdr)}
    rejects, latest = [], {}
    for n, r in enumerate(data, start=2):
        amt, cl, st = r[ix[camt]], r[ix[ccl]], r[ix[cst]]
        try:
            if amt: float(amt.replace(",", ""))
        except ValueError:
            rejects.append((n, camt)); continue
        try:
            dt.datetime.strptime(cl, fmt)
        except ValueError:
            rejects.append((n, ccl)); continue
        if not st:
            rejects.append((n, cst)); continue
        latest[r[ix[cid]]] = r
    per = {}
    for r in latest.values():
        st = r[ix[cst]]
        k = "won" if st in WON else "lost" if st in LOST else "open"
        p = per.setdefault(r[ix[cown]], {"won": 0, "lost": 0, "open": 0})
        p[k] += 1
    t = json.load(open(os.path.join(HERE, d, "truth.json"), encoding="utf-8"))
    tp = {o: {k: v[k] for k in ("won", "lost", "open")} for o, v in t["per_owner"].items()}
    ok = (len(data) == t["rows"] and len(latest) == t["valid"]
          and sorted(rejects) == sorted((x["row"], x["column"]) for x in t["rejects"]) and per == tp)
    bad += not ok
    print(d, "OK" if ok else "DIFFERS", len(data), len(latest), len(rejects))
sys.exit(1 if bad else 0)
