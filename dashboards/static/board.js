// The office board: renders the ranking the server formatted and follows the
// server-sent event stream, which pushes it again after every published load.
(function () {
  'use strict';
  var body = document.body;
  var cats = document.getElementById('b-cats');
  var status = document.getElementById('b-status');
  var labels = JSON.parse(document.getElementById('board-data').textContent);

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function row(r) {
    var li = el('li', 'b-row r' + r.rank);
    li.appendChild(el('span', 'b-rank', r.rank));
    var name = el('span', 'b-name', r.name);
    name.appendChild(el('small', '', r.team));
    li.appendChild(name);
    var value = el('span', 'b-value', r.value);
    if (r.extra) value.appendChild(el('small', '', r.extra));
    li.appendChild(value);
    return li;
  }

  function render(v) {
    document.getElementById('b-title').textContent = v.title;
    document.getElementById('b-sub').textContent = v.sub;
    document.getElementById('b-updated').textContent = v.updated;
    document.title = v.title + ' · pipelens';
    var out = [];
    (v.categories || []).forEach(function (c) {
      var sec = el('section', 'b-cat');
      sec.appendChild(el('h2', '', c.title));
      (c.groups || []).forEach(function (g) {
        var div = el('div', 'b-group');
        if (g.name) div.appendChild(el('h3', '', g.name));
        var ol = el('ol', 'b-rows');
        (g.rows || []).forEach(function (r) { ol.appendChild(row(r)); });
        div.appendChild(ol);
        sec.appendChild(div);
      });
      out.push(sec);
    });
    cats.replaceChildren.apply(cats, out);
    body.setAttribute('data-pub', String(v.pub));
  }

  if (!window.EventSource) return;
  var es = new EventSource(body.getAttribute('data-events'));
  es.addEventListener('ranking', function (e) {
    render(JSON.parse(e.data));
    status.textContent = labels.live;
    status.className = 'b-status';
  });
  es.onerror = function () {
    // The browser reconnects by itself (the stream ends every 45 s).
    status.textContent = labels.offline;
    status.className = 'b-status off';
  };
})();
