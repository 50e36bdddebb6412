#!/usr/bin/env node
// chdb.js: the current-ClickHouse side of the parity test (parity_test.go drives it).
//
// One chDB session (ClickHouse 26.x in process, npm package chdb) with its data
// under argv[2]. Reads one JSON request per line on stdin and answers each with
// one JSON line on stdout, in order:
//   {"sql": "...", "format": "TSVWithNamesAndTypes", "settings": {"name": value}}
//     -> {"out": "<the answer in format>"} or {"err": "<first line of the error>"}
// "format" defaults to TSV. "settings" are applied to that statement only
// (SET before it, back to the previous value after). The test needs
// NODE_PATH=<prefix>/node_modules and TZ=UTC.
'use strict';

const readline = require('readline');
const { Session } = require('chdb');

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: chdb.js DATA_DIR\n');
  process.exit(2);
}
const session = new Session(dir);

function run(sql, format) {
  try {
    return { out: session.query(sql, format || 'TSV') };
  } catch (e) {
    return { err: String((e && e.message) || e) };
  }
}

const literal = (v) => (typeof v === 'number' ? String(v) : "'" + String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'");

function answer(req) {
  const names = Object.keys(req.settings || {});
  const saved = [];
  for (const n of names) {
    const cur = run(`SELECT value FROM system.settings WHERE name = ${literal(n)}`);
    if (cur.err || cur.out === '') return { err: `setting ${n}: ${cur.err || 'unknown on this version'}` };
    saved.push([n, cur.out.replace(/\n$/, '')]);
    const r = run(`SET ${n} = ${literal(req.settings[n])}`);
    if (r.err) return { err: `SET ${n}: ${r.err}` };
  }
  const res = run(req.sql, req.format);
  for (const [n, v] of saved) run(`SET ${n} = ${literal(v)}`);
  return res;
}

const rl = readline.createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (line.trim() === '') return;
  let res;
  try {
    res = answer(JSON.parse(line));
  } catch (e) {
    res = { err: `bad request: ${String((e && e.message) || e)}` };
  }
  process.stdout.write(JSON.stringify(res) + '\n');
});
rl.on('close', () => {
  try {
    session.close();
  } catch (e) {
    // the process ends anyway
  }
});
