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
  function axisFmt(f) { var fn = fmts[f]; return f === 'pct' ? function (v) { return Math.round(v * 100) + '%'; } : fn; }
  function setAxis(o, key, i, f) {
    var ax = o[key]; if (!ax) return;
    if (!Array.isArray(ax)) ax = [ax];
    if (!ax[i]) return;
    ax[i].axisLabel = ax[i].axisLabel || {};
    ax[i].axisLabel.formatter = axisFmt(f);
  }

  function prepare(spec) {
    var o = spec.o, f = spec.fmt || {};
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
  function draw(el) {
    var holder = document.getElementById(el.getAttribute('data-spec'));
    if (!holder) return;
    var spec;
    try { spec = JSON.parse(holder.textContent); } catch (e) { console.warn('pipelens: bad chart spec', el.id); return; }
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

  function init() {
    if (typeof echarts === 'undefined') { document.body.setAttribute('data-charts', 'missing'); return; }
    var els = document.querySelectorAll('.chart[data-spec]');
    for (var i = 0; i < els.length; i++) draw(els[i]);
    document.body.setAttribute('data-charts', String(charts.length));
    window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });

    // Filters: a select applies at once; dates switch the period to custom.
    var form = document.getElementById('filters');
    if (form) {
      var sels = form.querySelectorAll('select');
      for (var j = 0; j < sels.length; j++) sels[j].addEventListener('change', function () { submitFilters(form); });
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
      if (k === 'from' || k === 'to') return;
      if (v !== '') params.set(k, v); else params.delete(k);
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

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
