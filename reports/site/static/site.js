/* Permit dashboards: one shared script draws every page from the small JSON
 * blob embedded in it (<script type="application/json" id="page-data">) and
 * the shared dictionary in meta.js. No network, no external library besides
 * the shared local plotly.min.js. Chinese by default, ?lang=en for English. */
(function () {
  'use strict';
  var params = new URLSearchParams(window.location.search);
  var LANG = params.get('lang') === 'en' ? 'en' : 'zh';
  var root = document.documentElement;
  root.setAttribute('data-lang', LANG);
  root.lang = LANG === 'en' ? 'en' : 'zh-CN';

  var FONT = '"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",' +
    '"WenQuanYi Micro Hei",sans-serif';
  var COLORS = { main: '#1f5fa8', second: '#e07b00', third: '#8a8a8a', error: '#c0392b', warning: '#e0a100',
    info: '#2e86c1', sla: '#c0392b' };
  var MONTHS_EN = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

  function t(zh, en) { return LANG === 'en' ? (en != null && en !== '' ? en : zh) : (zh != null && zh !== '' ? zh : en); }
  function meta() { return window.PERMITS_META || { enums: {}, rules: {} }; }

  /* "<5": a small count; "—": a count withheld so that a small one cannot be worked out */
  var WITHHELD = '\u2014';
  function isSuppressed(v) { return typeof v === 'string' && (v.charAt(0) === '<' || v === WITHHELD); }

  /* numbers: 万 in Chinese (12.3万), thousands separators in English */
  /* exact: thousands separators only (tables, row counts that must add up) */
  function fmtNum(v, exact) {
    if (v === null || v === undefined || v === '') return '—';
    if (isSuppressed(v)) return v;
    var n = Number(v);
    if (!isFinite(n)) return String(v);
    if (LANG === 'zh' && !exact) {
      if (Math.abs(n) >= 100000000) return trimZeros((n / 100000000).toFixed(2)) + '亿';
      if (Math.abs(n) >= 10000) return trimZeros((n / 10000).toFixed(Math.abs(n) >= 1000000 ? 0 : 1)) + '万';
      return Number.isInteger(n) ? n.toLocaleString('zh-CN') : trimZeros(n.toFixed(1));
    }
    return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 1 });
  }
  function trimZeros(s) { return s.indexOf('.') >= 0 ? s.replace(/\.?0+$/, '') : s; }
  function fmtPct(v) {
    if (v === null || v === undefined) return '—';
    return (Number(v) * 100).toFixed(1) + '%';
  }
  /* months: 2026年3月 in Chinese, Mar 2026 in English */
  function fmtMonth(m) {
    if (!m) return '—';
    var s = String(m);
    var y = s.slice(0, 4), mo = parseInt(s.slice(5, 7), 10);
    if (!mo) return s;
    return LANG === 'zh' ? y + '年' + mo + '月' : MONTHS_EN[mo - 1] + ' ' + y;
  }
  function enumLabel(kind, code) {
    var e = (meta().enums || {})[kind] || {};
    var pair = e[code];
    return pair ? t(pair[0], pair[1]) : code;
  }

  function el(tag, attrs, children) {
    var n = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === 'text') n.textContent = attrs[k];
      else if (k === 'cls') n.className = attrs[k];
      else n.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c != null) n.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return n;
  }
  function withLang(href) {
    if (LANG !== 'en' || !href || /^(https?:|mailto:|#|javascript:)/.test(href)) return href;
    if (/\.xlsx?$/.test(href.split('#')[0])) return href;
    var hash = '', i = href.indexOf('#');
    if (i >= 0) { hash = href.slice(i); href = href.slice(0, i); }
    if (!/\.html$|\/$/.test(href)) return href + hash;
    return href + (href.indexOf('?') >= 0 ? '&' : '?') + 'lang=en' + hash;
  }

  /* ------------------------------------------------------------ tables */
  function cellValue(col, v) {
    var kind = col.t || 'text';
    if (v === null || v === undefined || v === '') return '';
    if (kind === 'num') return fmtNum(v, true);
    if (kind === 'pct') return fmtPct(v);
    if (kind === 'month') return fmtMonth(v);
    if (kind === 'bool') return v === true ? t('是', 'yes') : v === false ? t('否', 'no') : String(v);
    if (kind.indexOf('enum:') === 0) return enumLabel(kind.slice(5), v);
    if (Array.isArray(v)) return v.map(function (x) { return kind === 'list' && /^\d{4}-\d{2}$/.test(x) ? fmtMonth(x) : x; }).join('; ');
    return String(v);
  }
  function ruleIds(v) {
    if (Array.isArray(v)) return v;
    return String(v).split(/[\s,;]+/).filter(Boolean);
  }
  function renderCell(col, v, opts) {
    var td = el('td');
    var kind = col.t || 'text';
    if (v === null || v === undefined || v === '') { td.textContent = ''; return td; }
    if (kind === 'rule') {
      var rules = meta().rules || {};
      ruleIds(v).forEach(function (rid, i) {
        var r = rules[rid];
        if (i) td.appendChild(el('br'));
        var a = el('a', { href: withLang(opts.root + 'rules.html#' + rid), cls: 'rule-link', 'data-rule': rid,
          title: r ? t(r[0], r[1]) : rid });
        a.textContent = r ? rid + ' ' + t(r[0], r[1]) : rid;
        td.appendChild(a);
      });
      return td;
    }
    if (kind === 'checklist') {  // the printable checklist beside the employer page (docs/checklists.md)
      if (/^checklists\/[0-9A-Za-z_.-]+\.html$/.test(String(v))) {
        td.appendChild(el('a', { href: String(v), cls: 'checklist-link', text: t('打印清单', 'Print checklist') }));
      }
      return td;
    }
    if (kind === 'uscc' && opts.employerLinks) {
      td.appendChild(el('a', { href: withLang(opts.root + 'employers/' + v + '/index.html'), text: String(v) }));
      return td;
    }
    if (kind === 'num' || kind === 'pct') td.className = 'num';
    else if (/reason|detail|warning|message|waiting/.test(col.k)) td.className = 'long';
    if (kind === 'id') td.className = 'id';
    td.textContent = cellValue(col, v);
    return td;
  }
  function colKey(col) { return LANG === 'en' && col.ek ? col.ek : col.k; }
  function cmp(a, b) {
    var an = a === null || a === undefined || a === '', bn = b === null || b === undefined || b === '';
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
    var as = isSuppressed(a), bs = isSuppressed(b);  // hidden counts sort after every shown one, never by value
    if (as || bs) return as === bs ? 0 : as ? 1 : -1;
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    if (Array.isArray(a)) a = a.join(' ');
    if (Array.isArray(b)) b = b.join(' ');
    return String(a).localeCompare(String(b), 'zh-CN', { numeric: true });
  }

  /* A sortable, filterable table. data = {n: total rows, c: {column: [values]}} */
  function renderTable(container, columns, data, opts) {
    opts = opts || {};
    var root0 = opts.root || '';
    var c = data.c || {};
    var cols = columns.filter(function (col) { return col.k in c || (col.ek && col.ek in c); });
    cols.forEach(function (col) { if (!(col.k in c)) col.k = col.ek; if (col.ek && !(col.ek in c)) col.ek = null; });
    var nrows = cols.length ? (c[cols[0].k] || []).length : 0;
    if (nrows && !opts.keepEmpty) {  // a column empty on every row of this table says nothing: leave it out
      cols = cols.filter(function (col) {
        return c[col.k].some(function (v) { return v !== null && v !== undefined && v !== '' && !(Array.isArray(v) && !v.length); });
      });
    }
    var rows = [];
    for (var i = 0; i < nrows; i++) rows.push(i);
    var shown = rows.slice();
    var sortKey = null, sortDir = 1;
    var limit = opts.displayLimit || 2000;

    var wrap = el('div', { cls: 'table-wrap' });
    var tools = el('div', { cls: 'table-tools' });
    var input = el('input', { type: 'search', cls: 'table-filter', placeholder: t('筛选…', 'Filter…'),
      'aria-label': t('筛选表格', 'Filter table') });
    var counter = el('span', { cls: 'table-count' });
    tools.appendChild(input); tools.appendChild(counter);
    var table = el('table', { cls: 'data' });
    var thead = el('thead'), tbody = el('tbody');
    var tr = el('tr');
    cols.forEach(function (col) {
      var th = el('th', { scope: 'col' });
      var b = el('button', { type: 'button', cls: 'sort', 'data-col': col.k, text: t(col.zh, col.en) });
      b.addEventListener('click', function () {
        sortDir = sortKey === colKey(col) ? -sortDir : 1;
        sortKey = colKey(col);
        Array.prototype.forEach.call(thead.querySelectorAll('th'), function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending');
        draw();
      });
      th.appendChild(b);
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    table.appendChild(thead); table.appendChild(tbody);
    wrap.appendChild(tools);
    wrap.appendChild(el('div', { cls: 'scroll' }, [table]));
    var more = el('p', { cls: 'more' });
    wrap.appendChild(more);
    container.appendChild(wrap);

    var text = rows.map(function (r) {
      return cols.map(function (col) {
        var v = c[colKey(col)][r], o = col.ek ? c[col.ek === colKey(col) ? col.k : col.ek][r] : '';
        return (cellValue(col, v) + ' ' + (Array.isArray(v) ? v.join(' ') : v) + ' ' + (o == null ? '' : o)).toLowerCase();
      }).join(' | ');
    });

    function draw() {
      var q = input.value.trim().toLowerCase();
      shown = rows.filter(function (r) { return !q || text[r].indexOf(q) >= 0; });
      if (sortKey) shown.sort(function (a, b) { return sortDir * cmp(c[sortKey][a], c[sortKey][b]); });
      tbody.textContent = '';
      var frag = document.createDocumentFragment();
      shown.slice(0, limit).forEach(function (r) {
        var row = el('tr');
        cols.forEach(function (col) { row.appendChild(renderCell(col, c[colKey(col)][r], { root: root0, employerLinks: opts.employerLinks })); });
        frag.appendChild(row);
      });
      tbody.appendChild(frag);
      if (!nrows) {
        tbody.appendChild(el('tr', { cls: 'empty' }, [el('td', { colspan: String(Math.max(cols.length, 1)), text: t('无记录', 'No rows') })]));
      }
      counter.textContent = t('显示 ' + Math.min(shown.length, limit) + ' / ' + nrows + ' 条',
        'showing ' + Math.min(shown.length, limit) + ' of ' + nrows);
      var notes = [];
      if (shown.length > limit) notes.push(t('仅显示前 ' + limit + ' 条,请用筛选缩小范围。', 'Only the first ' + limit + ' rows are shown; filter to narrow down.'));
      if (data.n && data.n > nrows) notes.push(t('本页显示 ' + nrows + ' 条,共 ' + data.n + ' 条;完整清单见 todo.xlsx。',
        nrows + ' of ' + data.n + ' rows shown here; the full list is in todo.xlsx.'));
      more.textContent = notes.join(' ');
    }
    input.addEventListener('input', draw);
    draw();
    table.setAttribute('data-rows', String(nrows));
    return table;
  }

  /* ------------------------------------------------------------ charts */
  function niceStep(x) {
    var p = Math.pow(10, Math.floor(Math.log10(x || 1)));
    var f = x / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }
  function countAxis(values, title) {
    var ax = { title: { text: title }, rangemode: 'tozero', automargin: true, separatethousands: true, tickformat: ',d' };
    var max = 0;
    values.forEach(function (v) { if (typeof v === 'number' && v > max) max = v; });
    var step = Math.max(1, niceStep(max / 5));
    if (LANG === 'zh' && max >= 10000) {
      var vals = [], txt = [];
      for (var x = 0; x <= max + step; x += step) { vals.push(x); txt.push(fmtNum(x)); }
      ax.tickmode = 'array'; ax.tickvals = vals; ax.ticktext = txt;
    } else {
      ax.tickmode = 'linear'; ax.tick0 = 0; ax.dtick = step;  // counts: whole numbers only
      if (max < 1) ax.range = [0, 1];
    }
    return ax;
  }
  /* a hidden count is never drawn (no bar, no point), only named in the hover text and the note */
  function numeric(ys) { return ys.map(function (v) { return isSuppressed(v) || v === null || v === undefined ? null : Number(v); }); }
  function labels(ys) { return ys.map(function (v) { return v === null || v === undefined ? '' : fmtNum(v); }); }
  function barText(ys) { return ys.map(function (v) { return v === null || v === undefined || v === 0 || isSuppressed(v) ? '' : fmtNum(v); }); }
  function hiddenNote(host, d) {
    if (!host || !d || !d.note_zh) return;
    host.appendChild(el('p', { cls: 'note suppression-note', text: t(d.note_zh, d.note_en) }));
  }

  /* Plotly reads a subset of HTML in labels and text (<a href>, <b>, …): a
   * value from the data (a name, a return reason) must stay text, so its
   * &, < and > go in as entities, which plotly shows as the characters. */
  function plotText(v) {
    return typeof v === 'string' ? v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : v;
  }
  function plainTraces(traces) {
    traces.forEach(function (tr) {
      ['x', 'y', 'text', 'customdata', 'labels'].forEach(function (k) {
        if (Array.isArray(tr[k])) tr[k] = tr[k].map(plotText);
      });
    });
    return traces;
  }

  function plot(id, traces, layout, extra) {
    traces = plainTraces(traces);
    var div = document.getElementById(id);
    if (!div) return;
    if (typeof window.Plotly === 'undefined') {
      div.textContent = t('图表库未加载', 'Chart library not loaded');
      throw new Error('plotly.min.js not loaded');
    }
    var base = {
      font: { family: FONT, size: 13, color: '#222' }, margin: { l: 64, r: 24, t: 16, b: 64 }, height: 340,
      paper_bgcolor: '#ffffff', plot_bgcolor: '#ffffff', showlegend: traces.length > 1,
      legend: { orientation: 'h', y: -0.25 }, hoverlabel: { font: { family: FONT } },
      separators: '.,'
    };
    var lay = Object.assign(base, layout || {});
    var cfg = Object.assign({ displaylogo: false, responsive: true, showLink: false, showSendToCloud: false,
      modeBarButtonsToRemove: ['select2d', 'lasso2d', 'toImage'] }, extra || {});
    window.Plotly.newPlot(div, traces, lay, cfg);
    div.setAttribute('data-traces', String(traces.length));
  }

  function barChart(id, xs, ys, opts) {
    opts = opts || {};
    var horizontal = !!opts.horizontal;
    var vals = numeric(ys);
    var trace = { type: 'bar', marker: { color: opts.colors || COLORS.main }, text: barText(ys),
      textposition: 'outside', cliponaxis: false, customdata: labels(ys),
      hovertemplate: (horizontal ? '%{y}' : '%{x}') + '<br>%{customdata}<extra></extra>' };
    if (horizontal) { trace.orientation = 'h'; trace.y = xs; trace.x = vals; }
    else { trace.x = xs; trace.y = vals; }
    var layout = {};
    var valueAxis = countAxis(vals, opts.valueTitle || '');
    var catAxis = { title: { text: opts.catTitle || '' }, type: 'category', automargin: true };
    if (horizontal) {
      layout.xaxis = valueAxis; layout.yaxis = Object.assign(catAxis, { autorange: 'reversed' });
      layout.height = Math.max(300, 26 * xs.length + 100);
      layout.margin = { l: 16, r: 48, t: 16, b: 56 };
    } else { layout.xaxis = catAxis; layout.yaxis = valueAxis; }
    plot(id, [trace], layout);
  }

  /* ------------------------------------------------------------ page parts */
  function kpiCards(container, items) {
    items.forEach(function (it) {
      var v = it.pct ? fmtPct(it.v) : fmtNum(it.v);
      container.appendChild(el('div', { cls: 'kpi' + (it.cls ? ' ' + it.cls : ''), 'data-kpi': it.k }, [
        el('div', { cls: 'kpi-value', text: v }), el('div', { cls: 'kpi-label', text: t(it.zh, it.en) })]));
    });
  }
  function pageData() {
    var s = document.getElementById('page-data');
    return s ? JSON.parse(s.textContent) : {};
  }

  function initEmployer(d, rootPath) {
    var m = meta().employer || {};
    var kpi = d.kpi || {};
    if (!meta().workbooks) Array.prototype.forEach.call(document.querySelectorAll('.todo-link'), function (a) { a.hidden = true; });
    kpiCards(document.getElementById('kpis'), (m.kpis || []).map(function (k) {
      var cls = k.k.indexOf('error') >= 0 || k.k === 'lapsed' ? 'bad' : k.k.indexOf('warning') >= 0 ? 'warn' : '';
      return { k: k.k, zh: k.zh, en: k.en, v: k.k in kpi ? kpi[k.k] : null, cls: cls };
    }));
    var months = m.months || [];
    barChart('chart-expiry', months.map(fmtMonth), d.charts.expiry, {
      valueTitle: t('到期证件数', 'Permits expiring'), catTitle: t('到期月份(年-月)', 'Month of expiry') });
    var statuses = m.statuses || [];
    var fy = d.charts.funnel || [];
    plot('chart-funnel', [{ type: 'funnel', y: statuses.map(function (s) { return enumLabel('application_status', s); }),
      x: fy, textinfo: 'value', marker: { color: COLORS.main },
      hovertemplate: '%{y}: %{x}<extra></extra>' }],
      { margin: { l: 150, r: 24, t: 16, b: 48 }, yaxis: { automargin: true },
        xaxis: { title: { text: t('申请数', 'Applications') } } });
    var host = document.getElementById('tables');
    (m.tables || []).forEach(function (tm) {
      var sec = el('section', { cls: 'action', id: 't-' + tm.key });
      var td = (d.tables || {})[tm.key] || { n: 0, c: {} };
      sec.appendChild(el('h2', {}, [t(tm.zh, tm.en) + ' ', el('span', { cls: 'badge', text: String(td.n || 0) })]));
      sec.appendChild(el('p', { cls: 'note', text: t(tm.note_zh, tm.note_en) }));
      if (tm.missing) sec.appendChild(el('p', { cls: 'more', text: t('本次运行没有该清单的数据。', 'This list was not produced by the run.') }));
      else renderTable(sec, tm.columns, td, { root: rootPath });
      host.appendChild(sec);
    });
  }

  function initBureau(d, rootPath) {
    kpiCards(document.getElementById('kpis'), d.kpis || []);
    (d.dims || []).forEach(function (dim) {
      barChart('chart-dim-' + dim.dim, LANG === 'en' ? dim.x_en : dim.x_zh, dim.y, {
        valueTitle: t('持证人数', 'Permits'), catTitle: t(dim.zh.replace(/^按/, ''), dim.en.replace(/^Permits by /, '')) });
    });
    if (d.flow) {
      var xs = d.flow.months.map(fmtMonth);
      var cols = [COLORS.main, '#2a9d8f', COLORS.third, COLORS.second];
      var all = [];
      var traces = d.flow.series.map(function (s, i) {
        all = all.concat(numeric(s.y));
        return { type: 'scatter', mode: 'lines+markers', name: t(s.zh, s.en), x: xs, y: numeric(s.y),
          customdata: labels(s.y), line: { color: cols[i % cols.length] }, marker: { color: cols[i % cols.length] },
          hovertemplate: '%{x} ' + t(s.zh, s.en) + ': %{customdata}<extra></extra>' };
      });
      plot('chart-flow', traces, { xaxis: { title: { text: t('月份(年-月)', 'Month') }, type: 'category', automargin: true },
        yaxis: countAxis(all, t('人数', 'People')) });
    }
    if (d.processing) {
      var p = d.processing, px = LANG === 'en' ? p.x_en : p.x_zh;
      var tr = [];
      if (p.median) tr.push({ type: 'bar', name: t('中位数', 'Median'), x: px, y: p.median, marker: { color: COLORS.main },
        hovertemplate: '%{x} ' + t('中位数', 'median') + ': %{y} ' + t('个工作日', 'working days') + '<extra></extra>' });
      if (p.p90) tr.push({ type: 'scatter', mode: 'markers', name: t('90分位', '90th percentile'), x: px, y: p.p90,
        marker: { color: COLORS.second, size: 10, symbol: 'diamond' },
        hovertemplate: '%{x} ' + t('90分位', 'p90') + ': %{y}<extra></extra>' });
      plot('chart-processing', tr, {
        xaxis: { title: { text: t('区', 'District') }, type: 'category', automargin: true },
        yaxis: { title: { text: t('办理时长(工作日)', 'Processing time (working days)') }, rangemode: 'tozero' },
        shapes: [{ type: 'line', xref: 'paper', x0: 0, x1: 1, y0: p.sla, y1: p.sla, line: { color: COLORS.sla, dash: 'dash', width: 2 } }],
        annotations: [{ xref: 'paper', x: 1, y: p.sla, yanchor: 'bottom', xanchor: 'right', showarrow: false,
          text: t('一般办理时限:' + p.sla + '个工作日', 'Promise: ' + p.sla + ' working days'), font: { color: COLORS.sla } }] });
      var ptable = { c: { district: px, applications: p.n, over_sla: p.over, median_working_days: p.median, p90_working_days: p.p90, within_sla_share: p.share }, n: px.length };
      var pcols = [{ k: 'district', zh: '区', en: 'District', t: 'text' },
        { k: 'applications', zh: '窗口受理申请(近365天)', en: 'Applications (last 365 days)', t: 'num' },
        { k: 'over_sla', zh: '超过一般办理时限', en: 'Over the promise', t: 'num' },
        { k: 'median_working_days', zh: '中位数(工作日)', en: 'Median (working days)', t: 'num' },
        { k: 'p90_working_days', zh: '90分位(工作日)', en: '90th percentile', t: 'num' },
        { k: 'within_sla_share', zh: '一般办理时限内占比', en: 'Share within the promise', t: 'pct' }];
      Object.keys(ptable.c).forEach(function (k) { if (!ptable.c[k]) { delete ptable.c[k]; } });
      renderTable(document.getElementById('table-processing'), pcols, ptable, { root: rootPath });
      hiddenNote(document.getElementById('table-processing'), d);
      document.getElementById('table-processing').appendChild(el('p', { cls: 'note', text: t(
        '申请少于' + d.min_cell + '件或件数隐去的区,不公布中位数、90分位和占比。',
        'No median, 90th percentile or share is published for a district with fewer than ' + d.min_cell + ' applications or a hidden count.') }));
    }
    if (d.returns) {
      var rcols = [COLORS.main, COLORS.second];
      var rall = [];
      var rtr = d.returns.series.map(function (s, i) {
        rall = rall.concat(numeric(s.y));
        return { type: 'bar', orientation: 'h', name: t(s.zh, s.en), y: d.returns.x, x: numeric(s.y), text: barText(s.y),
          textposition: 'outside', cliponaxis: false, customdata: labels(s.y), marker: { color: rcols[i % 2] },
          hovertemplate: '%{y}<br>' + t(s.zh, s.en) + ': %{customdata}<extra></extra>' };
      });
      hiddenNote(document.getElementById('chart-returns') && document.getElementById('chart-returns').parentNode, d);
      plot('chart-returns', rtr, { barmode: 'group', height: Math.max(320, 44 * d.returns.x.length + 110),
        xaxis: countAxis(rall, t('退回申请数', 'Returned applications')),
        yaxis: { type: 'category', autorange: 'reversed', automargin: true }, margin: { l: 16, r: 48, t: 16, b: 56 } });
    }
    if (d.findings) {
      var rules = meta().rules || {};
      var ys = d.findings.rule.map(function (r) { var x = rules[r]; return r + (x ? ' ' + t(x[0], x[1]) : ''); });
      barChart('chart-findings', ys, d.findings.y, { horizontal: true, valueTitle: t('问题数', 'Findings'),
        colors: d.findings.severity.map(function (s) { return COLORS[s] || COLORS.main; }) });
      renderTable(document.getElementById('table-findings'), d.findings.table.columns, { c: d.findings.table.rows },
        { root: rootPath });
    }
    if (d.ranking) renderTable(document.getElementById('table-ranking'), d.ranking.columns, { c: d.ranking.rows },
      { root: rootPath, employerLinks: true });
    if (d.checklists) renderTable(document.getElementById('table-checklists'), d.checklists.columns,
      { c: d.checklists.rows }, { root: rootPath });
    var xh = document.getElementById('xtabs');
    (d.xtabs || []).forEach(function (x) {
      var sec = el('section', { cls: 'xtab panel', id: x.name });
      sec.appendChild(el('h3', { text: t(x.zh, x.en) }));
      sec.appendChild(el('p', { cls: 'note', text: t('按持证人所在单位的区交叉统计的有效证件数。', 'Active permits by the district of the employer.') }));
      var withheld = x.columns.slice(1).every(function (col) { return (x.rows[col.k] || []).every(function (v) { return v === null; }); });
      if (withheld) sec.appendChild(el('p', { cls: 'more', text: t('该表数量过小,整表不予公布。', 'The counts of this table are too small to publish.') }));
      else renderTable(sec, x.columns, { c: x.rows }, { root: rootPath });
      hiddenNote(sec, d);
      xh.appendChild(sec);
    });
  }

  function initIndex(d, rootPath) {
    if (d.ingest) renderTable(document.getElementById('table-ingest'), d.ingest.columns, { c: d.ingest.rows }, { root: rootPath });
    if (d.quarantine) renderTable(document.getElementById('table-quarantine'), d.quarantine.columns, { c: d.quarantine.rows }, { root: rootPath });
    if (d.run_steps) renderTable(document.getElementById('table-steps'), d.run_steps.columns, { c: d.run_steps.rows }, { root: rootPath });
  }

  function initDirectory(d, rootPath) {
    renderTable(document.getElementById('table-employers'), d.columns, { c: d.rows },
      { root: rootPath, employerLinks: true, displayLimit: 500 });
  }

  function init() {
    var body = document.body;
    var rootPath = body.getAttribute('data-root') || '';
    Array.prototype.forEach.call(document.querySelectorAll('a[href]'), function (a) {
      if (!a.classList.contains('lang-switch')) a.setAttribute('href', withLang(a.getAttribute('href')));
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-fmt=num]'), function (n) { n.textContent = fmtNum(Number(n.getAttribute('data-v')), true); });
    var d = pageData();
    var page = body.getAttribute('data-page');
    if (page === 'employer') initEmployer(d, rootPath);
    else if (page === 'bureau') initBureau(d, rootPath);
    else if (page === 'index') initIndex(d, rootPath);
    else if (page === 'directory') initDirectory(d, rootPath);
    body.setAttribute('data-ready', '1');
  }

  window.Permits = { fmtNum: fmtNum, fmtMonth: fmtMonth, fmtPct: fmtPct, lang: LANG, renderTable: renderTable };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
