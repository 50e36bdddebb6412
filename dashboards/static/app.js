// pipelens pages: draws the ECharts options that the server rendered into
// <script type="application/json"> blocks, wires drill-down clicks and filters.
// No inline script, no framework, nothing from outside the server.
(function () {
  'use strict';
  var lang = document.body.getAttribute('data-lang') || 'en';

  function trimZero(s) { return s.indexOf('.') >= 0 ? s.replace(/0+$/, '').replace(/\.$/, '') : s; }
  function money(v) {
    if (v === null || v === undefined || v === '-' || isNaN(v)) return '–';
    var neg = v < 0 ? '-' : ''; v = Math.abs(v);
    if (lang === 'zh-CN') {
      if (v >= 1e8) return neg + trimZero((v / 1e8).toFixed(2)) + '亿';
      if (v >= 1e4) return neg + trimZero((v / 1e4).toFixed(1)) + '万';
      return neg + Math.round(v);
    }
    if (v >= 1e9) return neg + trimZero((v / 1e9).toFixed(2)) + 'B';
    if (v >= 1e6) return neg + trimZero((v / 1e6).toFixed(2)) + 'M';
    if (v >= 1e3) return neg + trimZero((v / 1e3).toFixed(1)) + 'k';
    return neg + Math.round(v);
  }
  var fmts = {
    pct: function (v) { return (v === null || v === '-' || isNaN(v)) ? '–' : (v * 100).toFixed(1).replace(/\.0$/, '') + '%'; },
    money: money,
    days: function (v) { return (v === null || isNaN(v)) ? '–' : (+v).toFixed(1) + (lang === 'zh-CN' ? ' 天' : ' d'); },
    int: function (v) { return (v === null || isNaN(v)) ? '–' : Math.round(v).toLocaleString(lang); },
    num: function (v) { return (v === null || isNaN(v)) ? '–' : (+v).toLocaleString(lang, { maximumFractionDigits: 1 }); },
    ratio: function (v) { return (v === null || isNaN(v)) ? '–' : (+v).toFixed(2) + '×'; },
    'pair-money': function (v) { return Array.isArray(v) ? v.map(money).join(' / ') : money(v); }
  };
  function axisFmt(f) {
    if (f === 'pct') return function (v) { return Math.round(v * 100) + '%'; };
    // Axis ticks of days are whole days as a rule: '60 天', not '60.0 天'.
    if (f === 'days') return function (v) { return (Number.isInteger(+v) ? String(+v) : (+v).toFixed(1)) + (lang === 'zh-CN' ? ' 天' : ' d'); };
    return fmts[f];
  }
  function setAxis(o, key, i, f) {
    var ax = o[key]; if (!ax) return;
    if (!Array.isArray(ax)) ax = [ax];
    if (!ax[i]) return;
    ax[i].axisLabel = ax[i].axisLabel || {};
    ax[i].axisLabel.formatter = axisFmt(f);
  }

  function prepare(spec) {
    var o = spec.o, f = spec.fmt || {};
    // Drawn once, without the grow-in animation: on a phone its frames were
    // most of the main thread's time after the page showed.
    if (o.animation === undefined) o.animation = false;
    if (f.y) setAxis(o, 'yAxis', 0, f.y);
    if (f.y1) setAxis(o, 'yAxis', 1, f.y1);
    if (f.x) setAxis(o, 'xAxis', 0, f.x);
    var def = fmts[f.v || f.y || f.x];
    (o.series || []).forEach(function (s, i) {
      var sf = fmts[f['s' + i]] || def;
      if (!sf) return;
      s.tooltip = s.tooltip || {};
      if (s.tooltip.show === false) return;
      s.tooltip.valueFormatter = sf;
    });
    if (f.v === 'pair-money' && o.tooltip) {
      o.tooltip.formatter = null;
    }
    if (spec.partial && o.tooltip) o.tooltip.formatter = partialTooltip(spec.partial, def || String);
    return o;
  }

  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }
  // partialTooltip is the axis tooltip of a chart whose drawn line is split in a
  // final and a not-final series of the same name: each name once, with its first
  // value that is drawn, and the period's note ("still maturing", "to date").
  function partialTooltip(notes, vf) {
    return function (ps) {
      if (!Array.isArray(ps)) ps = [ps];
      if (!ps.length) return '';
      var name = ps[0].name, note = notes[name];
      var out = ['<b>' + esc(ps[0].axisValueLabel || name) + '</b>' + (note ? ' · <i>' + esc(note) + '</i>' : '')], seen = {};
      ps.forEach(function (p) {
        var v = Array.isArray(p.value) ? p.value[p.value.length - 1] : p.value;
        if (v === '-' || v === null || v === undefined || seen[p.seriesName]) return;
        seen[p.seriesName] = true;
        out.push(p.marker + esc(p.seriesName) + ' <b>' + esc(vf(v)) + '</b>');
      });
      return out.join('<br>');
    };
  }

  var charts = [];
  function specOf(el) {
    var holder = document.getElementById(el.getAttribute('data-spec'));
    if (!holder) return null;
    try { return JSON.parse(holder.textContent); } catch (e) { console.warn('pipelens: bad chart spec', el.id); return null; }
  }
  // usesChina says whether a chart draws the China map (china.js is loaded only then).
  function usesChina(o) {
    var ss = [].concat(o.series || [], o.geo || []);
    return ss.some(function (s) { return s && (s.map === 'china' || (s.geo && s.geo.map === 'china')); });
  }
  function draw(el, spec) {
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption(prepare(spec));
    var links = spec.links || {};
    if (Object.keys(links).length) {
      el.classList.add('clickable');
      chart.on('click', function (p) {
        var u = links[p.name] || (Array.isArray(p.value) ? links[p.value[1]] : null);
        if (u && u.charAt(0) === '/') window.location.assign(u);
      });
    }
    chart.on('finished', function () { el.setAttribute('data-drawn', '1'); });
    charts.push(chart);
  }

  // The charts are drawn one per task, those on screen first, so that no single
  // long task holds the page (Lighthouse's total blocking time on a phone);
  // body[data-charts] is set when all are drawn.
  function drawAll() {
    var els = [].slice.call(document.querySelectorAll('.chart[data-spec]'));
    var h = window.innerHeight;
    els.sort(function (a, b) {
      var ta = a.getBoundingClientRect().top < h ? 0 : 1, tb = b.getBoundingClientRect().top < h ? 0 : 1;
      return ta - tb;
    });
    // Charts of the China map wait for china.js (60 kB of outlines), loaded after
    // the other charts are drawn.
    var jobs = [], mapJobs = [];
    els.forEach(function (el) {
      var spec = specOf(el);
      if (!spec) return;
      (usesChina(spec.o || {}) ? mapJobs : jobs).push(function () { draw(el, spec); });
    });
    function run() {
      if (jobs.length) jobs.shift()();
      if (jobs.length) { setTimeout(run, 0); return; }
      if (mapJobs.length) { loadMap(); return; }
      document.body.setAttribute('data-charts', String(charts.length));
    }
    function loadMap() {
      var v = echartsURL(), more = function () { jobs = mapJobs; mapJobs = []; run(); };
      loadScript('/static/echarts/china.js' + (v.indexOf('?') >= 0 ? v.slice(v.indexOf('?')) : ''), more, function () { console.warn('pipelens: china.js did not load'); more(); });
    }
    run();
  }

  function echartsURL() {
    var me = document.querySelector('script[data-echarts]');
    return me ? me.getAttribute('data-echarts') : '/static/echarts/echarts.min.js';
  }
  function loadScript(src, ok, fail) {
    var js = document.createElement('script');
    js.src = src; js.onload = ok; js.onerror = fail;
    document.head.appendChild(js);
  }
  // ECharts (1 MB, about 330 kB gzipped) is asked for after the page's first
  // paint: the numbers and tables show at once and the charts follow, instead of
  // the first paint waiting for the library to download and run.
  function withEcharts(then) {
    if (typeof echarts !== 'undefined') { then(); return; }
    var start = function () {
      loadScript(echartsURL(), then, function () { document.body.setAttribute('data-charts', 'missing'); });
    };
    afterFirstPaint(start);
  }
  // afterFirstPaint runs fn once the page has painted its text (the paint
  // timing entry), or after 1.5 s in a browser that does not report it.
  function afterFirstPaint(fn) {
    var done = false;
    var go = function () { if (!done) { done = true; setTimeout(fn, 0); } };
    setTimeout(go, 1500);
    try {
      if (performance.getEntriesByName('first-contentful-paint').length) { go(); return; }
      var po = new PerformanceObserver(function (list) {
        if (list.getEntriesByName('first-contentful-paint').length) { po.disconnect(); go(); }
      });
      po.observe({ type: 'paint', buffered: true });
    } catch (e) { go(); }
  }

  function init() {
    tables();
    multiSelects();
    if (!document.querySelector('.chart[data-spec]')) document.body.setAttribute('data-charts', '0');
    else withEcharts(drawAll);
    var pending = 0;
    window.addEventListener('resize', function () {
      clearTimeout(pending);
      pending = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 100);
    });

    // Filters: a select applies at once; dates switch the period to custom.
    var form = document.getElementById('filters');
    if (form) foldFilters(form);
    if (form) {
      var sels = form.querySelectorAll('select');
      for (var j = 0; j < sels.length; j++) sels[j].addEventListener('change', function () { submitFilters(form); });
      form.addEventListener('pipelens:ms-closed', function () { submitFilters(form); });
      var dates = form.querySelectorAll('input[type=date]');
      for (var k = 0; k < dates.length; k++) dates[k].addEventListener('change', function () { form.setAttribute('data-custom', '1'); });
      form.addEventListener('submit', function (e) { e.preventDefault(); submitFilters(form); });
    }
  }

  // submitFilters builds the URL itself: empty selects are left out, and a preset
  // stays a preset unless the dates were changed.
  function submitFilters(form) {
    var params = new URLSearchParams(window.location.search);
    var fd = new FormData(form);
    ['team', 'manager', 'rep', 'territory', 'product', 'source', 'segment'].forEach(function (k) { params.delete(k); });
    params.delete('csv'); params.delete('notice'); params.delete('lang');
    fd.forEach(function (v, k) {
      if (k === 'from' || k === 'to' || k === '') return;
      if (v !== '') params.append(k, v);
    });
    if (form.getAttribute('data-custom') === '1') {
      params.delete('preset');
      params.set('from', fd.get('from')); params.set('to', fd.get('to'));
    }
    // Drill state that the new filter may invalidate.
    params.delete('deal');
    var qs = params.toString();
    window.location.assign(form.getAttribute('action') + (qs ? '?' + qs : ''));
  }

  // ---- tables: sort by a header, filter rows with a search box ----
  var T = function (k) { return document.body.getAttribute('data-t-' + k) || k; };
  function cellValue(td) {
    if (!td) return '';
    var v = td.getAttribute('data-v');
    if (v !== null) return parseFloat(v);
    return td.textContent.trim();
  }
  function compare(a, b) {
    var na = typeof a === 'number' ? a : NaN, nb = typeof b === 'number' ? b : NaN;
    if (isNaN(na) && typeof a === 'string') na = parseNum(a);
    if (isNaN(nb) && typeof b === 'string') nb = parseNum(b);
    if (!isNaN(na) && !isNaN(nb)) return na - nb;
    if (!isNaN(na)) return -1;
    if (!isNaN(nb)) return 1;
    return String(a).localeCompare(String(b), lang);
  }
  // parseNum reads a plain number in a cell without data-v ("1,234", "12.5%").
  function parseNum(s) {
    var m = /^[-+]?[\d,]*\.?\d+%?$/.exec(s.replace(/\s/g, ''));
    return m ? parseFloat(s.replace(/[,%\s]/g, '')) : NaN;
  }
  function sortBy(table, idx, th) {
    var body = table.tBodies[0];
    var dir = th.getAttribute('aria-sort') === 'descending' ? 'ascending' : 'descending';
    if (!th.getAttribute('aria-sort') && !th.classList.contains('num')) dir = 'ascending';
    var ths = table.tHead.rows[0].cells;
    for (var i = 0; i < ths.length; i++) ths[i].removeAttribute('aria-sort');
    th.setAttribute('aria-sort', dir);
    var rows = [].slice.call(body.rows).map(function (r, i) { return { r: r, v: cellValue(r.cells[idx]), i: i }; });
    rows.sort(function (a, b) { var c = compare(a.v, b.v); return (dir === 'ascending' ? c : -c) || a.i - b.i; });
    var frag = document.createDocumentFragment();
    rows.forEach(function (x) { frag.appendChild(x.r); });
    body.appendChild(frag);
  }
  function searchBox(table, wrap) {
    var box = document.createElement('div');
    box.className = 'tsearch';
    var input = document.createElement('input');
    input.type = 'search';
    input.setAttribute('aria-label', T('search') + ' · ' + (wrap.getAttribute('aria-label') || ''));
    input.placeholder = T('search');
    input.setAttribute('aria-controls', table.id);
    var count = document.createElement('span');
    count.setAttribute('aria-live', 'polite');
    box.appendChild(input); box.appendChild(count);
    wrap.parentNode.insertBefore(box, wrap);
    input.addEventListener('input', function () {
      var q = input.value.trim().toLowerCase(), n = 0, rows = table.tBodies[0].rows;
      for (var i = 0; i < rows.length; i++) {
        var hit = !q || rows[i].textContent.toLowerCase().indexOf(q) >= 0;
        rows[i].hidden = !hit;
        if (hit) n++;
      }
      count.textContent = q ? n + ' / ' + rows.length + ' ' + T('matches') : '';
    });
  }
  function tables() {
    var ts = document.querySelectorAll('table.data');
    for (var t = 0; t < ts.length; t++) {
      var table = ts[t];
      if (!table.tHead || !table.tBodies[0]) continue;
      var ths = table.tHead.rows[0].cells;
      for (var i = 0; i < ths.length; i++) {
        (function (th, idx) {
          var b = document.createElement('button');
          b.type = 'button'; b.className = 'sort'; b.title = T('sort');
          while (th.firstChild) b.appendChild(th.firstChild);
          th.appendChild(b);
          b.addEventListener('click', function () { sortBy(table, idx, th); });
        })(ths[i], i);
      }
      if (table.tBodies[0].rows.length > 10 && table.parentNode.classList.contains('tablewrap')) searchBox(table, table.parentNode);
    }
  }

  // foldFilters: on a phone the filter bar starts folded to one line that says
  // what is filtered (period and chosen values); a tap opens it.
  function foldFilters(form) {
    var fold = form.querySelector('details.fold');
    if (!fold || !window.matchMedia || !window.matchMedia('(max-width:760px)').matches) return;
    var parts = [];
    var on = form.querySelector('.presets .chip.on');
    if (on) parts.push(on.classList.contains('custom') ? form.querySelector('input[name=from]').value + ' – ' + form.querySelector('input[name=to]').value : on.textContent.trim());
    [].forEach.call(form.querySelectorAll('details.ms.on'), function (d) {
      parts.push(d.querySelector('.msl').textContent + ': ' + d.querySelector('.msv').textContent);
    });
    form.querySelector('.fsum').textContent = parts.join(' · ');
    fold.open = false;
  }

  // ---- multi-select filters: <details> of checkboxes; closing applies ----
  function msSummary(d) {
    var out = d.querySelector('.msv'), boxes = d.querySelectorAll('input[type=checkbox]:checked'), names = [];
    for (var i = 0; i < boxes.length; i++) names.push(boxes[i].parentNode.textContent.trim());
    out.textContent = names.length === 0 ? out.getAttribute('data-all') : names.length <= 2 ? names.join(', ') : names[0] + ' +' + (names.length - 1);
    d.classList.toggle('on', names.length > 0);
  }
  function msState(d) {
    return [].map.call(d.querySelectorAll('input[type=checkbox]:checked'), function (b) { return b.value; }).join('\n');
  }
  function multiSelects() {
    var ds = document.querySelectorAll('details.ms');
    [].forEach.call(ds, function (d) {
      var start = msState(d), body = d.querySelector('.msb');
      msSummary(d);
      var boxes = body.querySelectorAll('.mo');
      var all = document.createElement('button');
      all.type = 'button'; all.className = 'msall'; all.textContent = d.querySelector('.msv').getAttribute('data-all');
      all.addEventListener('click', function () {
        [].forEach.call(body.querySelectorAll('input[type=checkbox]'), function (b) { b.checked = false; });
        msSummary(d); d.open = false;
      });
      body.insertBefore(all, body.querySelector('.mo'));
      if (boxes.length > 12) {
        var q = document.createElement('input');
        q.type = 'search'; q.className = 'msq'; q.setAttribute('aria-label', T('search') + ' · ' + d.querySelector('.msl').textContent);
        q.addEventListener('input', function () {
          var s = q.value.trim().toLowerCase();
          [].forEach.call(boxes, function (l) { l.hidden = s !== '' && l.textContent.toLowerCase().indexOf(s) < 0; });
        });
        body.insertBefore(q, all);
      }
      body.addEventListener('change', function () { msSummary(d); });
      d.addEventListener('toggle', function () {
        if (d.open) {
          [].forEach.call(ds, function (o) { if (o !== d) o.open = false; });
          return;
        }
        if (msState(d) !== start) {
          start = msState(d);
          d.dispatchEvent(new CustomEvent('pipelens:ms-closed', { bubbles: true }));
        }
      });
    });
    if (!ds.length) return;
    document.addEventListener('click', function (e) {
      [].forEach.call(ds, function (d) { if (d.open && !d.contains(e.target)) d.open = false; });
    });
    document.addEventListener('keydown', function (e) {
      if (e.key !== 'Escape') return;
      [].forEach.call(ds, function (d) { if (d.open) { d.open = false; d.querySelector('summary').focus(); } });
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
