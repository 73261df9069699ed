/* The lbsim dashboard: follows the run through GET /events (Server-Sent
 * Events carrying the --format json objects and `tick`s), draws one panel
 * per policy with Chart.js, and changes backends through POST /backends/N.
 *
 * Loaded as a file of the admin endpoint under a Content-Security-Policy
 * that allows no inline script and no eval. For tests and the curious,
 * window.lbsim exposes the state. */
(function () {
  'use strict';

  const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7',
    '#9c755f', '#17becf', '#8c564b', '#bcbd22'];
  const OTHERS_COLOUR = '#8a8a8a';
  const TOP = 10;             /* backends drawn on their own when there are more than ALL_UP_TO */
  const ALL_UP_TO = 12;
  const ROWS_PER_PAGE = 25;
  const LOG_RATIO = 20;       /* a logarithmic axis beyond this max/min */
  const RENDER_MS = 400;      /* charts are redrawn at most this often */
  const WINDOW_S = 0.5;       /* with --rate and --concurrency, shares over windows this long (from ticks) */

  /* ---- small helpers ---------------------------------------------------------- */

  function $(sel, root) { return (root || document).querySelector(sel); }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function fmtMs(v) {
    if (v === null || v === undefined || !isFinite(v)) return '–';
    if (v >= 100) return v.toFixed(0);
    if (v >= 10) return v.toFixed(1);
    return v.toFixed(2);
  }

  function fmtPct(v) {
    return v === null || v === undefined || !isFinite(v) ? '–' : (100 * v).toFixed(1) + '%';
  }

  function fmtS(t) { return isFinite(t) ? t.toFixed(1) + ' s' : ''; }

  function num(v) { return typeof v === 'number' && isFinite(v) ? v : NaN; }

  /* Rows of values over time (one value per backend), thinned to at most
   * `cap` rows: when full every other row goes and later rows are kept
   * twice as far apart, so the rows always span the whole run. */
  class Rows {
    constructor(width, cap) {
      this.width = width; this.cap = cap; this.t = []; this.v = []; this.gap = 0;
      this.lastT = -Infinity; this.now = null; this.nowT = 0;
    }
    push(t, values) {
      this.now = values; this.nowT = t;
      if (this.t.length && t - this.t[this.t.length - 1] < this.gap) return;
      this.t.push(t); this.v.push(values);
      if (this.t.length >= this.cap) {
        const t2 = [], v2 = [];
        for (let i = 0; i < this.t.length; i += 2) { t2.push(this.t[i]); v2.push(this.v[i]); }
        this.t = t2; this.v = v2;
        const span = this.t[this.t.length - 1] - this.t[0];
        this.gap = span / (this.cap / 2);
      }
    }
    /* Every row, and the newest values at the end (not yet kept as a row). */
    forEach(fn) {
      for (let i = 0; i < this.t.length; i++) fn(this.t[i], this.v[i]);
      if (this.now && this.t.length && this.nowT > this.t[this.t.length - 1]) fn(this.nowT, this.now);
    }
  }

  /* Rounds (or intervals) of one policy; when full, neighbours are added together. */
  class Rounds {
    constructor(n, cap) { this.n = n; this.cap = cap; this.list = []; this.merged = 1; }
    push(r) {
      this.list.push(r);
      if (this.list.length >= this.cap) {
        const out = [];
        for (let i = 0; i + 1 < this.list.length; i += 2) out.push(mergeRounds(this.list[i], this.list[i + 1]));
        if (this.list.length % 2) out.push(this.list[this.list.length - 1]);
        this.list = out;
        this.merged *= 2;
      }
    }
    last(k) { return this.list.slice(Math.max(0, this.list.length - k)); }
  }

  function mergeRounds(a, b) {
    const req = new Uint32Array(a.req.length);
    for (let i = 0; i < req.length; i++) req[i] = a.req[i] + b.req[i];
    return {
      n: b.n, from: a.from, t: b.t, req: req, requests: a.requests + b.requests, ok: a.ok + b.ok,
      failed: a.failed + b.failed, p50: isFinite(b.p50) ? b.p50 : a.p50, p99: Math.max(num(a.p99) || 0, num(b.p99) || 0) || NaN,
      toFastest: b.toFastest, regret: b.regret, fastest: b.fastest
    };
  }

  /* ---- state ---------------------------------------------------------------------- */

  const S = {
    es: null, events: 0, lastId: '', startSeen: false, ended: false, endT: NaN, lost: false,
    start: null, n: 0, names: [], policies: [], shape: 'burst', hasTruth: false,
    t: 0, truth: null, pol: [], drift: [], changes: [], backends: [],
    shown: [], colour: new Map(), shownAt: 0, selected: 0, page: 0, tablePolicy: 0,
    panels: [], dirty: true, lastRender: 0, note: ''
  };

  function budgetRows(n, policies) {
    return Math.max(100, Math.min(1200, Math.floor(4e6 / Math.max(1, n * (policies + 1)))));
  }

  function budgetRounds(n, policies) {
    return Math.max(60, Math.min(600, Math.floor(2e6 / Math.max(1, n * policies))));
  }

  function resetState(start) {
    S.start = start;
    S.n = start.backends.length;
    S.names = start.backends.map(function (b) { return b.url; });
    S.policies = start.policies.slice();
    S.shape = start.shape || 'burst';
    S.hasTruth = start.backends.some(function (b) { return b.true_ms !== null; });
    S.t = 0; S.ended = false; S.endT = NaN;
    const rows = budgetRows(S.n, S.policies.length);
    S.truth = new Rows(S.n, rows);
    const t0 = new Float32Array(S.n);
    start.backends.forEach(function (b, i) { t0[i] = b.true_ms === null ? NaN : b.true_ms; });
    if (S.hasTruth) S.truth.push(0, t0);
    S.pol = S.policies.map(function (name) {
      return {
        name: name, est: new Rows(S.n, rows), rounds: new Rounds(S.n, budgetRounds(S.n, S.policies.length)),
        windows: new Rounds(S.n, budgetRounds(S.n, S.policies.length)),
        cut: { t: 0, picks: new Float64Array(S.n), ok: 0, failed: 0 },
        inflight: new Uint32Array(S.n), inFlight: 0, launched: 0, ok: 0, failed: 0, summary: null
      };
    });
    S.drift = []; S.changes = [];
    S.backends = start.backends.map(function (b) {
      return { backend: b.backend, url: b.url, latency_ms: b.true_ms, down: false, stalled: false, error_rate: 0,
        capacity: 0, jitter: 'none', slow: false };
    });
    S.shown = []; S.colour = new Map(); S.shownAt = 0;
    if (S.selected >= S.n) S.selected = 0;
    S.page = Math.floor(S.selected / ROWS_PER_PAGE);
    S.tablePolicy = 0;
    buildPanels();
    buildControls();
    chooseShown(true);
    refreshBackends();
    describeRun();
    S.dirty = true;
  }

  /* ---- events ----------------------------------------------------------------------- */

  function policyOf(name) {
    for (let i = 0; i < S.pol.length; i++) if (S.pol[i].name === name) return S.pol[i];
    return null;
  }

  function onRound(o) {
    const p = policyOf(o.policy);
    if (!p) return;
    const req = new Uint32Array(S.n);
    const est = new Float32Array(S.n);
    const truth = new Float32Array(S.n);
    o.backends.forEach(function (b, i) {
      req[i] = b.requests; est[i] = b.ema_ms; truth[i] = b.true_ms === null ? NaN : b.true_ms;
    });
    const prev = p.rounds.list.length ? p.rounds.list[p.rounds.list.length - 1].t : 0;
    p.rounds.push({
      n: o.n, from: prev, t: o.t, req: req, requests: o.requests, ok: o.ok, failed: o.failed,
      p50: num(o.p50_ms), p99: num(o.p99_ms), toFastest: num(o.to_fastest), regret: num(o.regret_ms),
      fastest: o.fastest
    });
    p.est.push(o.t, est);
    if (S.hasTruth && p === S.pol[0]) S.truth.push(o.t, truth);
    if (o.fleet) { p.fleet = o.fleet; S.fleetDirty = true; }
    S.t = Math.max(S.t, o.t);
  }

  function onTick(o) {
    S.t = Math.max(S.t, o.t);
    if (o.true_ms) {
      const truth = new Float32Array(S.n);
      for (let i = 0; i < S.n; i++) truth[i] = o.true_ms[i] === null ? NaN : o.true_ms[i];
      S.truth.push(o.t, truth);
    }
    o.policies.forEach(function (q) {
      const p = policyOf(q.policy);
      if (!p) return;
      p.est.push(o.t, Float32Array.from(q.ema_ms));
      p.inflight = Uint32Array.from(q.backend_in_flight);
      p.inFlight = q.in_flight; p.launched = q.launched; p.ok = q.ok; p.failed = q.failed;
      cutWindow(p, o.t, q.backend_done);
    });
  }

  /* Requests sent to each backend so far are those done and those in
   * flight: between two ticks, their difference is where the traffic went.
   * Windows of WINDOW_S make the share chart of the open and closed loops
   * as fine as the ticks, whatever --interval. */
  function cutWindow(p, t, done) {
    if (t - p.cut.t < WINDOW_S) return;
    const picks = new Float64Array(S.n);
    const req = new Uint32Array(S.n);
    let total = 0;
    for (let i = 0; i < S.n; i++) {
      picks[i] = done[i] + p.inflight[i];
      req[i] = Math.max(0, picks[i] - p.cut.picks[i]);
      total += req[i];
    }
    if (total > 0)
      p.windows.push({ n: p.windows.list.length + 1, from: p.cut.t, t: t, req: req, requests: total,
        ok: p.ok - p.cut.ok, failed: p.failed - p.cut.failed });
    p.cut = { t: t, picks: picks, ok: p.ok, failed: p.failed };
  }

  function actionText(o) {
    switch (o.action) {
      case 'latency': return fmtMs(o.to) + ' ms';
      case 'error-rate': return 'err ' + o.to;
      case 'capacity': return 'cap ' + o.to;
      case 'jitter': return 'jitter ' + o.to;
      case 'up': return 'up' + (o.slow_start_s > 0 ? ' (slow start)' : '');
      default: return o.action;
    }
  }

  /* Changes of several backends at once (a scenario's "all", POST
   * /backends) make one mark: "all cap 10", "b1,b2 down". */
  function changeLabel(c) {
    const who = c.backends.length === S.n && S.n > 1 ? 'all'
      : c.backends.length <= 3 ? c.backends.map(function (i) { return 'b' + (i + 1); }).join(',')
        : c.backends.length + ' backends';
    return who + ' ' + c.text;
  }

  function onChange(o) {
    S.t = Math.max(S.t, o.t);
    const b = S.backends[o.backend - 1];
    if (o.type === 'drift') {
      if (S.drift.length === 0 || S.drift[S.drift.length - 1] !== o.t) S.drift.push(o.t);
      if (S.drift.length > 4000) S.drift = S.drift.filter(function (_, i) { return i % 2 === 0; });
      if (b) b.latency_ms = o.to_ms;
      return;
    }
    const text = actionText(o);
    const last = S.changes[S.changes.length - 1];
    if (last && last.t === o.t && last.source === o.source && last.text === text) {
      last.backends.push(o.backend - 1);
    } else {
      S.changes.push({ t: o.t, backend: o.backend - 1, backends: [o.backend - 1], source: o.source, text: text });
      if (S.changes.length > 1000) S.changes.shift();
    }
    const mark = S.changes[S.changes.length - 1];
    mark.label = changeLabel(mark);
    if (b) {
      switch (o.action) {
        case 'latency': b.latency_ms = o.to; break;
        case 'error-rate': b.error_rate = o.to; break;
        case 'capacity': b.capacity = o.to; break;
        case 'jitter': b.jitter = o.to; break;
        case 'down': b.down = true; break;
        case 'up': b.down = false; b.slow = o.slow_start_s > 0; break;
        case 'stall': b.stalled = true; break;
        case 'resume': b.stalled = false; break;
      }
    }
    S.shownAt = 0; /* a changed backend is worth showing */
  }

  /* Outlier ejection: a client leaves a backend out of its picks, or takes
   * it back. A mark as a change makes one, in red. */
  function onEjection(o) {
    onChange({ t: o.t, type: o.type, backend: o.backend, source: 'ejection',
               action: o.type === 'ejection' ? 'ejected' : 'back' });
  }

  function onSummary(o) {
    const p = policyOf(o.policy);
    if (p) p.summary = o;
  }

  function onEnd(o) {
    S.ended = true;
    S.endT = o.t;
    S.t = Math.max(S.t, o.t);
    if (S.es) S.es.close();
    setState('ended', 'run ended');
    const banner = $('#banner');
    banner.hidden = false;
    banner.className = 'ended';
    banner.textContent = 'The run has ended at ' + fmtS(o.t) + ': lbsim has finished (or is finishing) and the ' +
      'stream is closed. This page keeps the final state and the run summary below.';
    showSummary();
    setControlsEnabled(false);
  }

  function onReset(o) {
    S.note = o.reason === 'expired'
      ? 'Some events had already left lbsim\'s history when this page reconnected: the charts start again from what it still holds.'
      : 'This is a new run of lbsim: the page starts again.';
    const banner = $('#banner');
    banner.hidden = false;
    banner.className = 'warn';
    banner.textContent = S.note;
    S.startSeen = false;
  }

  const handlers = {
    start: function (o) { S.startSeen = true; resetState(o); },
    round: onRound, interval: onRound, tick: onTick, drift: onChange, change: onChange,
    ejection: onEjection, return: onEjection, summary: onSummary, end: onEnd, reset: onReset
  };

  function setState(state, text) {
    document.body.dataset.state = state;
    $('#status').textContent = text;
  }

  function connect() {
    const es = new EventSource('events');
    S.es = es;
    Object.keys(handlers).forEach(function (type) {
      es.addEventListener(type, function (e) {
        let o;
        try { o = JSON.parse(e.data); } catch (err) { return; }
        if (type !== 'start' && type !== 'reset' && !S.startSeen) return;
        S.events++;
        if (e.lastEventId) S.lastId = e.lastEventId;
        handlers[type](o);
        S.dirty = true;
        document.body.dataset.events = String(S.events);
      });
    });
    es.onopen = function () { if (!S.ended) setState('live', 'live'); S.lost = false; };
    es.onerror = function () {
      if (S.ended) return;
      S.lost = true;
      setState('lost', es.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…');
    };
  }

  /* ---- which backends are drawn --------------------------------------------------- */

  /* All of them up to ALL_UP_TO; beyond, the ten that matter most: those
   * changed by a script or by hand (the latest first), the one selected in
   * the table, then the busiest over the last rounds of every policy. */
  function chooseShown(force) {
    const now = performance.now();
    if (!force && now - S.shownAt < 2000) return;
    S.shownAt = now;
    let shown;
    if (S.n <= ALL_UP_TO) {
      shown = [];
      for (let i = 0; i < S.n; i++) shown.push(i);
    } else {
      const score = new Float64Array(S.n);
      S.pol.forEach(function (p) {
        p.rounds.last(10).forEach(function (r) {
          const total = r.requests || 1;
          for (let i = 0; i < S.n; i++) score[i] += r.req[i] / total;
        });
      });
      const picked = [];
      const take = function (i) { if (picked.length < TOP && picked.indexOf(i) < 0) picked.push(i); };
      for (let k = S.changes.length - 1; k >= 0 && picked.length < 4; k--) take(S.changes[k].backend);
      take(S.selected);
      const order = Array.from(score.keys()).sort(function (a, b) { return score[b] - score[a] || a - b; });
      order.forEach(take);
      shown = picked.sort(function (a, b) { return a - b; });
    }
    const same = shown.length === S.shown.length && shown.every(function (v, i) { return v === S.shown[i]; });
    if (same && !force) return;
    /* A backend keeps its colour while it stays drawn. */
    const keep = new Map();
    shown.forEach(function (i) { if (S.colour.has(i)) keep.set(i, S.colour.get(i)); });
    const used = new Set(keep.values());
    shown.forEach(function (i) {
      if (keep.has(i)) return;
      let c = S.n <= ALL_UP_TO ? PALETTE[i % PALETTE.length] : PALETTE.find(function (x) { return !used.has(x); });
      used.add(c);
      keep.set(i, c);
    });
    S.colour = keep;
    S.shown = shown;
    S.panels.forEach(function (panel) { panel.rebuild = true; });
    drawLegend();
  }

  function colourOf(i) { return S.colour.get(i) || OTHERS_COLOUR; }

  function drawLegend() {
    const legend = $('#legend');
    legend.textContent = '';
    S.shown.forEach(function (i) {
      const item = el('span', 'item');
      const sw = el('span', 'swatch');
      sw.style.backgroundColor = colourOf(i);
      item.appendChild(sw);
      item.appendChild(document.createTextNode('backend ' + (i + 1)));
      item.title = S.names[i];
      legend.appendChild(item);
    });
    if (S.n > S.shown.length) {
      const item = el('span', 'item');
      const sw = el('span', 'swatch');
      sw.style.backgroundColor = OTHERS_COLOUR;
      item.appendChild(sw);
      item.appendChild(document.createTextNode('others (' + (S.n - S.shown.length) + ', mean)'));
      legend.appendChild(item);
    }
    const solid = el('span', 'item');
    solid.appendChild(el('span', 'swatch solid'));
    solid.appendChild(document.createTextNode(S.hasTruth ? 'true latency' : 'true latency (not known here)'));
    const dashed = el('span', 'item');
    dashed.appendChild(el('span', 'swatch dashed'));
    dashed.appendChild(document.createTextNode('estimate'));
    legend.appendChild(solid);
    if (S.pol.length) legend.appendChild(dashed);
  }

  /* ---- charts ----------------------------------------------------------------------- */

  /* Drift steps as ticks along the foot of every chart, scripted and admin
   * changes as dashed lines (labelled on the latency chart). */
  const markers = {
    id: 'lbsimMarkers',
    afterDatasetsDraw: function (chart) {
      const x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      if (!x || !area) return;
      ctx.save();
      ctx.beginPath();
      ctx.strokeStyle = 'rgba(40,40,40,.7)';
      ctx.lineWidth = 1.5;
      let lastPx = -10;
      for (let k = 0; k < S.drift.length; k++) {
        const px = x.getPixelForValue(S.drift[k]);
        if (px < area.left || px > area.right || px - lastPx < 2) continue;
        lastPx = px;
        ctx.moveTo(px, area.bottom);
        ctx.lineTo(px, area.bottom - 7);
      }
      ctx.stroke();
      ctx.lineWidth = 1;
      ctx.setLineDash([4, 3]);
      ctx.font = '10px "DejaVu Sans", sans-serif';
      const rights = [-Infinity, -Infinity, -Infinity]; /* where each row of labels ends */
      const labels = chart.$lbsimLabels;
      S.changes.forEach(function (c) {
        const px = x.getPixelForValue(c.t);
        if (px < area.left - 1 || px > area.right + 1) return;
        const colour = c.source === 'admin' ? '#e07b00' : c.source === 'ejection' ? '#d62728' : '#8a4fb8';
        ctx.strokeStyle = colour;
        ctx.beginPath();
        ctx.moveTo(px, area.top);
        ctx.lineTo(px, area.bottom);
        ctx.stroke();
        if (!labels) return;
        const w = ctx.measureText(c.label).width;
        const left = px + 3 + w > area.right ? px - 3 - w : px + 3;
        const row = rights.findIndex(function (r) { return r + 4 < left; });
        if (row < 0) return; /* no room: the line alone */
        rights[row] = left + w;
        ctx.fillStyle = colour;
        ctx.fillText(c.label, left, area.top + 10 + 11 * row);
      });
      ctx.restore();
    }
  };

  function baseOptions(yTitle) {
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      spanGaps: false,
      events: ['mousemove', 'mouseout'],
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      elements: { point: { radius: 0, hitRadius: 4 }, line: { borderWidth: 1.5, tension: 0 } },
      plugins: {
        legend: { display: false },
        decimation: { enabled: false },
        tooltip: {
          callbacks: {
            title: function (items) { return items.length ? 't = ' + items[0].parsed.x.toFixed(2) + ' s' : ''; }
          }
        }
      },
      scales: {
        x: { type: 'linear', min: 0, max: 1,
          ticks: { maxTicksLimit: 8, includeBounds: false, callback: function (v) { return v + ' s'; } },
          grid: { color: '#eef1f4' } },
        /* A fixed width, so that the time axes of charts one above the other line up. */
        y: { type: 'linear', min: 0, title: { display: !!yTitle, text: yTitle || '' }, grid: { color: '#eef1f4' },
          ticks: { maxTicksLimit: 6 }, afterFit: function (scale) { scale.width = 46; } }
      }
    };
  }

  function makeChart(box, yTitle, labels) {
    const canvas = el('canvas');
    box.appendChild(canvas);
    const chart = new Chart(canvas, { type: 'line', data: { datasets: [] }, options: baseOptions(yTitle),
      plugins: [markers] });
    chart.$lbsimLabels = labels;
    return chart;
  }

  function buildPanels() {
    S.panels.forEach(function (panel) { panel.charts.forEach(function (c) { c.destroy(); }); });
    S.panels = [];
    const root = $('#panels');
    root.textContent = '';
    document.body.classList.toggle('single', S.pol.length <= 1);
    const observer = 'IntersectionObserver' in window ? new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        const panel = S.panels.find(function (p) { return p.el === e.target; });
        if (panel) { panel.visible = e.isIntersecting; if (panel.visible) S.dirty = true; }
      });
    }) : null;
    S.pol.forEach(function (p, w) {
      const div = el('section', 'panel');
      div.dataset.policy = p.name;
      div.dataset.rounds = '0';
      div.dataset.points = '0';
      const head = el('div', 'panel-head');
      head.appendChild(el('h3', null, p.name));
      const figures = el('span', 'figures');
      head.appendChild(figures);
      div.appendChild(head);
      const charts = el('div', 'charts');
      div.appendChild(charts);
      const boxes = {};
      [['latency', 'latency (ms)'], ['share', 'share of requests' + (S.shape === 'burst' ? ', per round' : '')],
        ['answers', 'answers per ' + (S.shape === 'burst' ? 'round' : WINDOW_S + ' s') +
          ': ok (green), failed (red, on its own scale above)'],
        ['percentiles', 'p50 and p99 (ms)']].forEach(function (kv) {
        const c = el('div', 'chart ' + kv[0]);
        c.appendChild(el('div', 'title', kv[1]));
        const box = el('div', 'box');
        c.appendChild(box);
        charts.appendChild(c);
        boxes[kv[0]] = box;
      });
      const scroller = el('div', 'rounds-box');
      const table = el('table', 'rounds');
      scroller.appendChild(table);
      div.appendChild(scroller);
      root.appendChild(div);
      const panel = {
        policy: w, el: div, figures: figures, table: table, visible: true, rebuild: true,
        latency: makeChart(boxes.latency, null, true), share: makeChart(boxes.share, null, false),
        answers: makeChart(boxes.answers, null, false), percentiles: makeChart(boxes.percentiles, null, false)
      };
      panel.charts = [panel.latency, panel.share, panel.answers, panel.percentiles];
      panel.share.options.scales.y.max = 100;
      panel.share.options.scales.y.stacked = true;
      panel.share.options.scales.y.ticks.callback = function (v) { return v + '%'; };
      /* Successes below, failures above on a scale of their own: a few
       * failures among a thousand answers still show. */
      const ya = panel.answers.options.scales.y;
      ya.stack = 'answers';
      ya.stackWeight = 2;
      ya.ticks.maxTicksLimit = 3;
      panel.answers.options.scales.yf = {
        type: 'linear', min: 0, stack: 'answers', stackWeight: 1, offset: true, grid: { color: '#f3e3e2' },
        ticks: { maxTicksLimit: 2, color: '#c0392b', precision: 0,
          callback: function (v) { return v === 0 ? '' : v; } }, afterFit: ya.afterFit
      };
      S.panels.push(panel);
      if (observer) observer.observe(div);
    });
    if (S.pol.length === 0 && S.hasTruth) {
      /* --backends-only: no balancer here, the truth alone. */
      const div = el('section', 'panel');
      div.dataset.points = '0';
      div.appendChild(el('h3', null, 'backends'));
      const figures = el('span', 'figures',
        'no balancer runs in this process (--backends-only): the true latency of each backend');
      div.appendChild(figures);
      const c = el('div', 'chart latency');
      c.appendChild(el('div', 'title', 'latency (ms)'));
      const box = el('div', 'box');
      c.appendChild(box);
      div.appendChild(c);
      root.appendChild(div);
      const panel = { policy: -1, el: div, figures: null, table: null, visible: true, rebuild: true,
        latency: makeChart(box, null, true) };
      panel.charts = [panel.latency];
      S.panels.push(panel);
    }
  }

  function unitName() { return S.shape === 'burst' ? 'round' : 'interval'; }

  function lineSet(label, colour, dashed, stepped) {
    return { label: label, data: [], borderColor: colour, backgroundColor: colour, borderDash: dashed ? [5, 3] : [],
      borderWidth: dashed ? 1.3 : 1.6, stepped: stepped ? 'after' : false, pointRadius: 0, fill: false };
  }

  function areaSet(label, colour, first) {
    return { label: label, data: [], borderColor: colour, backgroundColor: colour + 'cc', borderWidth: 0.5,
      stepped: 'before', pointRadius: 0, fill: first ? 'origin' : '-1' };
  }

  function rebuildDatasets(panel) {
    const lat = [], estimates = panel.policy >= 0;
    S.shown.forEach(function (i) {
      if (S.hasTruth) lat.push(lineSet('backend ' + (i + 1) + ' true', colourOf(i), false, true));
      if (estimates) lat.push(lineSet('backend ' + (i + 1) + ' estimate', colourOf(i), true, false));
    });
    if (S.n > S.shown.length) {
      if (S.hasTruth) lat.push(lineSet('others true (mean)', OTHERS_COLOUR, false, true));
      if (estimates) lat.push(lineSet('others estimate (mean)', OTHERS_COLOUR, true, false));
    }
    panel.latency.data.datasets = lat;
    panel.rebuild = false;
    if (!estimates) return;
    const share = S.shown.map(function (i, k) { return areaSet('backend ' + (i + 1), colourOf(i), k === 0); });
    if (S.n > S.shown.length) share.push(areaSet('others', OTHERS_COLOUR, share.length === 0));
    panel.share.data.datasets = share;
    const failed = areaSet('failed', '#d1403a', true);
    failed.yAxisID = 'yf';
    panel.answers.data.datasets = [areaSet('ok', '#3a9a4a', true), failed];
    const p50 = lineSet('p50', '#1f4e79', false, false), p99 = lineSet('p99', '#c0504d', true, false);
    p50.pointRadius = p99.pointRadius = 1.5;
    panel.percentiles.data.datasets = [p50, p99];
  }

  function positive(v) { return v > 0 && isFinite(v) ? v : null; }

  /* The panel's data as points; returns [min, max] of its latencies. */
  function fillPanel(panel) {
    const p = S.pol[panel.policy];
    if (panel.rebuild) rebuildDatasets(panel);
    const shown = S.shown, others = S.n > shown.length;
    const isShown = new Uint8Array(S.n);
    shown.forEach(function (i) { isShown[i] = 1; });
    const sets = panel.latency.data.datasets;
    sets.forEach(function (d) { d.data = []; });
    let lo = Infinity, hi = 0;
    const note = function (v) { if (v !== null) { if (v < lo) lo = v; if (v > hi) hi = v; } return v; };
    const per = (S.hasTruth ? 1 : 0) + (p ? 1 : 0);
    const mean = function (values, wantPositive) {
      let sum = 0, k = 0;
      for (let i = 0; i < S.n; i++) {
        if (isShown[i]) continue;
        const v = values[i];
        if (isFinite(v) && (!wantPositive || v > 0)) { sum += v; k++; }
      }
      return k ? sum / k : NaN;
    };
    if (S.hasTruth) {
      S.truth.forEach(function (t, values) {
        shown.forEach(function (i, k) { sets[per * k].data.push({ x: t, y: note(positive(values[i])) }); });
        if (others) sets[per * shown.length].data.push({ x: t, y: note(positive(mean(values, false))) });
      });
    }
    let points = 0;
    const countPoints = function () {
      sets.forEach(function (d) { d.data.forEach(function (pt) { if (pt.y !== null) points++; }); });
      panel.el.dataset.points = String(points);
    };
    if (!p) {
      countPoints();
      return { lo: lo, hi: hi, plo: Infinity, phi: 0, amax: 0, fmax: 0 };
    }
    p.est.forEach(function (t, values) {
      shown.forEach(function (i, k) { sets[per * k + per - 1].data.push({ x: t, y: note(positive(values[i])) }); });
      if (others) sets[per * shown.length + per - 1].data.push({ x: t, y: note(positive(mean(values, true))) });
    });
    /* Share and answers per round, or per window of ticks with --rate and
     * --concurrency; percentiles per round or interval. */
    const rounds = p.rounds.list;
    const bands = S.shape === 'burst' ? rounds : p.windows.list;
    const share = panel.share.data.datasets, answers = panel.answers.data.datasets;
    share.forEach(function (d) { d.data = []; });
    answers.forEach(function (d) { d.data = []; });
    const p50 = panel.percentiles.data.datasets[0], p99 = panel.percentiles.data.datasets[1];
    p50.data = []; p99.data = [];
    let plo = Infinity, phi = 0;
    bands.forEach(function (r, k) {
      const total = r.requests || 0;
      let rest = 100;
      const xs = k === 0 ? [r.from, r.t] : [r.t];
      xs.forEach(function (x) {
        rest = 100;
        shown.forEach(function (i, j) {
          const v = total ? 100 * r.req[i] / total : 0;
          rest -= v;
          share[j].data.push({ x: x, y: v });
        });
        if (others) share[shown.length].data.push({ x: x, y: total ? Math.max(0, rest) : 0 });
        answers[0].data.push({ x: x, y: r.ok });
        answers[1].data.push({ x: x, y: r.failed });
      });
    });
    rounds.forEach(function (r) {
      const a = positive(r.p50), b = positive(r.p99);
      p50.data.push({ x: r.t, y: a });
      p99.data.push({ x: r.t, y: b });
      if (a !== null) { plo = Math.min(plo, a); phi = Math.max(phi, a); }
      if (b !== null) { plo = Math.min(plo, b); phi = Math.max(phi, b); }
    });
    countPoints();
    panel.el.dataset.rounds = String(rounds.length ? rounds[rounds.length - 1].n : 0);
    return { lo: lo, hi: hi, plo: plo, phi: phi, amax: bands.reduce(function (m, r) { return Math.max(m, r.ok); }, 0),
      fmax: bands.reduce(function (m, r) { return Math.max(m, r.failed); }, 0) };
  }

  function setLatencyAxis(chart, lo, hi) {
    const y = chart.options.scales.y;
    if (!(hi > 0)) { y.type = 'linear'; y.min = 0; y.max = 100; return; }
    if (hi / lo > LOG_RATIO) {
      /* Bounds on the 1-2-5 ladder, a little outside the values, so that
       * no line runs along an edge. */
      y.type = 'logarithmic';
      y.min = ladder(lo / 1.25, false);
      y.max = ladder(hi * 1.25, true);
      y.ticks.callback = function (v) {
        const m = v / Math.pow(10, Math.floor(Math.log10(v)));
        return Math.abs(m - 1) < 1e-6 || Math.abs(m - 2) < 1e-6 || Math.abs(m - 5) < 1e-6 ? String(v) : '';
      };
    } else {
      y.type = 'linear';
      y.min = 0;
      y.max = niceMax(hi * 1.05);
      y.ticks.callback = undefined;
    }
  }

  function ladder(v, up) {
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    const steps = [1, 2, 5, 10];
    const m = v / p;
    if (up) return steps.find(function (x) { return x >= m - 1e-9; }) * p;
    for (let k = steps.length - 1; k >= 0; k--) if (steps[k] <= m + 1e-9) return steps[k] * p;
    return p;
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    const m = v / p;
    const steps = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];
    return steps.find(function (x) { return x >= m - 1e-9; }) * p;
  }

  function render() {
    const t0 = performance.now();
    S.dirty = false;
    if (S.fleetDirty) showFleet();
    S.lastRender = t0;
    chooseShown(false);
    $('#clock').textContent = S.startSeen ? 't = ' + fmtS(S.t) : '';
    const xmax = Math.max(1, S.t);
    /* Every panel on the same axes: the ranges are taken over all of them. */
    const ranges = S.panels.map(function (panel) { return panel.visible ? fillPanel(panel) : null; });
    let lo = Infinity, hi = 0, plo = Infinity, phi = 0, amax = 0, fmax = 0;
    ranges.forEach(function (r) {
      if (!r) return;
      lo = Math.min(lo, r.lo); hi = Math.max(hi, r.hi); plo = Math.min(plo, r.plo); phi = Math.max(phi, r.phi);
      amax = Math.max(amax, r.amax);
      fmax = Math.max(fmax, r.fmax);
    });
    S.panels.forEach(function (panel) {
      if (!panel.visible) { panel.stale = true; return; }
      panel.charts.forEach(function (c) { c.options.scales.x.max = xmax; });
      setLatencyAxis(panel.latency, lo, hi);
      if (panel.policy >= 0) {
        setLatencyAxis(panel.percentiles, plo, phi);
        panel.answers.options.scales.y.max = niceMax(amax * 1.05);
        panel.answers.options.scales.yf.max = Math.max(1, niceMax(fmax));
        drawFigures(panel);
        drawRoundTable(panel);
      }
      panel.charts.forEach(function (c) { c.update('none'); });
    });
    drawTable();
    if (!editorBusy()) fillEditor();
    S.renderMs = performance.now() - t0;
    S.renders = (S.renders || 0) + 1;
  }

  function drawFigures(panel) {
    const p = S.pol[panel.policy];
    const last = p.rounds.list[p.rounds.list.length - 1];
    let text = 'in flight ' + p.inFlight + ' · ok ' + p.ok + ' · failed ' + p.failed;
    if (last) text += ' · last ' + unitName() + ' p50 ' + fmtMs(last.p50) + ' ms';
    panel.figures.textContent = text;
  }

  function drawRoundTable(panel) {
    const p = S.pol[panel.policy];
    const table = panel.table;
    table.textContent = '';
    const head = el('tr');
    [S.shape === 'burst' ? 'round' : 'int.', 't s', 'req', 'ok', 'failed', 'p50', 'p99', 'fastest', 'regret', 'top'].forEach(
      function (h) { head.appendChild(el('th', null, h)); });
    const thead = el('thead');
    thead.appendChild(head);
    table.appendChild(thead);
    const body = el('tbody');
    p.rounds.last(6).reverse().forEach(function (r) {
      const tr = el('tr');
      let top = 0;
      for (let i = 1; i < S.n; i++) if (r.req[i] > r.req[top]) top = i;
      const share = r.requests ? r.req[top] / r.requests : NaN;
      [String(r.n), r.t.toFixed(1), r.requests, r.ok, r.failed, fmtMs(r.p50), fmtMs(r.p99),
        S.hasTruth ? fmtPct(r.toFastest) : '–', isFinite(r.regret) ? (r.regret >= 0 ? '+' : '') + r.regret.toFixed(1) : '–',
        r.requests ? 'b' + (top + 1) + ' ' + fmtPct(share) : '–'].forEach(function (v, k) {
        const td = el('td', null, String(v));
        if (k === 4 && r.failed > 0) td.className = 'bad';
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.appendChild(body);
  }

  /* A fleet's measures of its last interval, one row per policy. */
  function showFleet() {
    S.fleetDirty = false;
    const withFleet = S.pol.filter(function (p) { return p.fleet; });
    if (!withFleet.length) return;
    $('#fleet').hidden = false;
    const spread = function (s, mid, fmt) {
      return fmt(s.min) + ' / ' + fmt(s[mid]) + ' / ' + fmt(s.max);
    };
    const pct = function (v) { return v === null ? '–' : v.toFixed(1) + '%'; };
    const one = function (v) { return v === null ? '–' : v.toFixed(1); };
    const cols = [['policy', function (p) { return p.name; }], ['clients', function (p) { return p.fleet.clients; }],
      ['heard', function (p) { return p.fleet.clients_heard; }],
      ['success min/med/max', function (p) { return spread(p.fleet.success_pct, 'median', pct); }],
      ['p99 ms min/med/max', function (p) { return spread(p.fleet.p99_ms, 'median', fmtMs); }],
      ['imbalance', function (p) { return p.fleet.imbalance === null ? '–' : p.fleet.imbalance.toFixed(2); }],
      ['herd', function (p) { return fmtPct(p.fleet.herd); }],
      ['conns/backend min/mean/max', function (p) { return spread(p.fleet.conns_per_backend, 'mean', one); }],
      ['clients/backend min/mean/max', function (p) { return spread(p.fleet.clients_per_backend, 'mean', one); }]];
    fillTable($('#fleet-table'), cols, withFleet);
  }

  /* A table of one row per item: cols are [heading, item -> cell]. */
  function fillTable(table, cols, items) {
    table.textContent = '';
    const head = el('tr');
    cols.forEach(function (c) { head.appendChild(el('th', null, c[0])); });
    const thead = el('thead');
    thead.appendChild(head);
    table.appendChild(thead);
    const body = el('tbody');
    items.forEach(function (item) {
      const tr = el('tr');
      cols.forEach(function (c) { tr.appendChild(el('td', null, String(c[1](item)))); });
      body.appendChild(tr);
    });
    table.appendChild(body);
  }

  function showSummary() {
    const withSummary = S.pol.filter(function (p) { return p.summary; });
    if (!withSummary.length) return;
    const sec = $('#summary');
    sec.hidden = false;
    const cols = [['policy', function (s) { return s.policy; }], ['requests', function (s) { return s.requests; }],
      ['ok', function (s) { return s.ok; }], ['failed', function (s) { return s.failed; }],
      ['p50 ms', function (s) { return fmtMs(s.p50_ms); }], ['p99 ms', function (s) { return fmtMs(s.p99_ms); }],
      ['p99.9 ms', function (s) { return fmtMs(s.p999_ms); }], ['fastest', function (s) { return fmtPct(s.to_fastest); }],
      ['regret ms', function (s) { return s.regret_ms === null ? '–' : s.regret_ms.toFixed(2); }],
      ['switches', function (s) { return s.majority_switches; }], ['top share', function (s) { return fmtPct(s.top_share); }],
      ['elapsed', function (s) { return fmtS(s.elapsed_s); }]];
    /* With --load-reports or --load-board: how old the view of each pick's backend was. */
    if (withSummary.some(function (p) { return 'view_age_ms' in p.summary; })) {
      cols.splice(cols.length - 1, 0, ['view age ms', function (s) {
        return fmtMs(s.view_age_ms) + (s.load_board_s ? ' (board ' + fmtMs(1000 * s.load_board_s) + ' ms)' : '');
      }]);
    }
    /* With a tool around the pick on, requests are user requests: their attempts and retries beside. */
    if (withSummary[0].summary.tally) {
      ['attempts', 'retries', 'ejections'].forEach(function (k) {
        cols.push([k, function (s) { return s.tally[k]; }]);
      });
    }
    fillTable($('#summary-table'), cols, withSummary.map(function (p) { return p.summary; }));
  }

  function describeRun() {
    const s = S.start;
    const shape = { burst: 'bursts', rate: 'open loop (--rate)', concurrency: 'closed loop (--concurrency)' };
    const parts = ['lbsim ' + s.version, 'seed ' + s.seed, S.n + (S.n === 1 ? ' backend' : ' backends')];
    if (s.shape) parts.push(shape[s.shape] || s.shape);
    if (S.policies.length === 1) parts.push('policy ' + S.policies[0]);
    else if (S.policies.length > 1) parts.push(S.policies.length + ' policies compared');
    $('#run').textContent = parts.join(' · ');
  }

  /* ---- the backends' table and controls -------------------------------------------- */

  function stateOf(b) {
    if (b.down) return ['down', 'down'];
    if (b.stalled) return ['stalled', 'stalled'];
    if (b.slow) return ['slow', 'slow start'];
    return ['', 'up'];
  }

  function buildControls() {
    const note = $('#control-note');
    const editable = S.hasTruth && S.n > 0;
    note.textContent = editable ? 'Pick a backend (or click its row), change it, Apply. Changes are marked on the charts.'
      : 'The backends run elsewhere (--client-only): nothing to control from here.';
    $('#editor').hidden = !editable;
    const sel = $('#ctl-backend');
    sel.textContent = '';
    const all = el('option', null, 'all');
    all.value = '0';
    sel.appendChild(all);
    for (let i = 0; i < S.n; i++) {
      const o = el('option', null, String(i + 1));
      o.value = String(i + 1);
      sel.appendChild(o);
    }
    sel.value = String(S.selected + 1);
    const tp = $('#table-policy');
    tp.textContent = '';
    S.policies.forEach(function (name, w) {
      const o = el('option', null, name);
      o.value = String(w);
      tp.appendChild(o);
    });
    tp.disabled = S.policies.length <= 1;
    tp.parentNode.hidden = S.policies.length === 0;
    fillEditor();
    setControlsEnabled(!S.ended);
  }

  function setControlsEnabled(on) {
    document.querySelectorAll('#editor input, #editor button, #editor select, #backends button').forEach(function (e) {
      e.disabled = !on;
    });
  }

  function selectedBackend() { return parseInt($('#ctl-backend').value, 10) || 0; }

  function fillEditor() {
    const n = selectedBackend();
    const b = n ? S.backends[n - 1] : null;
    const badge = $('#ctl-state');
    if (!b) {
      badge.className = 'badge';
      badge.textContent = 'every backend';
      return;
    }
    const st = stateOf(b);
    badge.className = 'badge ' + st[0];
    badge.textContent = st[1];
    $('#ctl-latency').value = isFinite(b.latency_ms) && b.latency_ms !== null ? Number(b.latency_ms).toFixed(1) : '';
    $('#ctl-error').value = String(b.error_rate);
    $('#ctl-capacity').value = String(b.capacity);
    $('#ctl-jitter').value = b.jitter;
  }

  /* The editor shows the selected backend's state as it changes (drift,
   * scripts), unless someone is typing into it. */
  function editorBusy() {
    const a = document.activeElement;
    return S.editing || (a && a.closest && a.closest('#editor') && a.tagName === 'INPUT');
  }

  function select(i) {
    S.editing = false;
    S.selected = i;
    $('#ctl-backend').value = String(i + 1);
    fillEditor();
    S.shownAt = 0;
    S.dirty = true;
  }

  function applyState(j) {
    const b = S.backends[j.backend - 1];
    if (!b) return;
    b.latency_ms = j.latency_ms; b.error_rate = j.error_rate; b.down = j.down; b.stalled = j.stalled;
    b.capacity = j.capacity; b.jitter = j.jitter;
    b.slow = !j.down && j.true_ms !== null && j.latency_ms > 0 && j.true_ms > j.latency_ms * 1.0001;
  }

  function post(n, body) {
    const result = $('#ctl-result');
    result.className = 'note';
    result.textContent = 'sending…';
    return fetch(n ? 'backends/' + n : 'backends', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      cache: 'no-store', credentials: 'same-origin'
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(j.reason || r.statusText);
        (Array.isArray(j) ? j : [j]).forEach(applyState);
        result.textContent = (n ? 'backend ' + n : 'every backend') + ': ' + JSON.stringify(body);
        S.editing = false;
        fillEditor();
        S.dirty = true;
      });
    }).catch(function (e) {
      result.className = 'note error';
      result.textContent = String(e.message || e);
    });
  }

  function onApply(e) {
    e.preventDefault();
    const n = selectedBackend();
    const b = n ? S.backends[n - 1] : null;
    const body = {};
    const lat = $('#ctl-latency').value, err = $('#ctl-error').value, cap = $('#ctl-capacity').value;
    const jit = $('#ctl-jitter').value.trim();
    if (lat !== '' && (!b || Math.abs(Number(lat) - b.latency_ms) > 0.05)) body.latency_ms = Number(lat);
    if (err !== '' && (!b || Number(err) !== b.error_rate)) body.error_rate = Number(err);
    if (cap !== '' && (!b || Number(cap) !== b.capacity)) body.capacity = Number(cap);
    if (jit !== '' && (!b || jit !== b.jitter)) body.jitter = jit;
    if (!Object.keys(body).length) {
      $('#ctl-result').textContent = 'nothing changed';
      return;
    }
    post(n, body);
  }

  function onAction(e) {
    const action = e.currentTarget.dataset.action;
    const body = { action: action };
    if (action === 'up') {
      const slow = Number($('#ctl-slow').value);
      if (slow > 0) { body.slow_start_s = slow; body.factor = Number($('#ctl-factor').value) || 5; }
    }
    post(selectedBackend(), body);
  }

  function refreshBackends() {
    if (!S.hasTruth) return;
    fetch('backends', { cache: 'no-store' }).then(function (r) { return r.ok ? r.json() : []; }).then(function (list) {
      list.forEach(applyState);
      fillEditor();
      S.dirty = true;
    }).catch(function () {});
  }

  function drawTable() {
    const body = $('#backends tbody');
    const p = S.pol[S.tablePolicy];
    const pages = Math.max(1, Math.ceil(S.n / ROWS_PER_PAGE));
    S.page = Math.min(S.page, pages - 1);
    $('#page-info').textContent = S.n ? (S.page * ROWS_PER_PAGE + 1) + '–' +
      Math.min(S.n, (S.page + 1) * ROWS_PER_PAGE) + ' of ' + S.n : '';
    $('#pager').hidden = pages <= 1;
    const last = p && p.rounds.list.length ? p.rounds.list[p.rounds.list.length - 1] : null;
    const truth = S.truth && S.truth.now;
    const est = p && p.est.now;
    const from = S.page * ROWS_PER_PAGE, to = Math.min(S.n, from + ROWS_PER_PAGE);
    while (body.rows.length > to - from) body.deleteRow(-1);
    for (let i = from; i < to; i++) {
      let tr = body.rows[i - from];
      if (!tr) {
        tr = body.insertRow();
        for (let k = 0; k < 9; k++) tr.insertCell();
        tr.cells[0].className = 'num';
        const toggle = el('button', 'small', 'down');
        toggle.type = 'button';
        toggle.addEventListener('click', function (e) {
          e.stopPropagation();
          const n = parseInt(tr.dataset.backend, 10);
          const b = S.backends[n - 1];
          post(n, { action: b.down ? 'up' : 'down' });
        });
        tr.cells[8].appendChild(toggle);
        tr.addEventListener('click', function () { select(parseInt(tr.dataset.backend, 10) - 1); });
      }
      const b = S.backends[i];
      if (b.slow && truth && isFinite(truth[i]) && truth[i] <= b.latency_ms * 1.001 + 0.01)
        b.slow = false; /* the slow start is over */
      tr.dataset.backend = String(i + 1);
      tr.classList.toggle('selected', i === S.selected);
      const numCell = tr.cells[0];
      numCell.textContent = '';
      if (S.colour.has(i)) {
        const sw = el('span', 'swatch');
        sw.style.backgroundColor = colourOf(i);
        numCell.appendChild(sw);
      }
      numCell.appendChild(document.createTextNode(String(i + 1)));
      numCell.title = S.names[i];
      tr.cells[1].textContent = truth ? fmtMs(truth[i]) : '–';
      const st = stateOf(b);
      tr.cells[2].textContent = '';
      if (S.hasTruth) tr.cells[2].appendChild(el('span', 'badge ' + st[0], st[1]));
      else tr.cells[2].textContent = '–'; /* the backends are elsewhere */
      tr.cells[3].textContent = !S.hasTruth ? '–' : b.error_rate ? String(b.error_rate) : '0';
      tr.cells[4].textContent = !S.hasTruth ? '–' : b.capacity ? String(b.capacity) : '∞';
      tr.cells[5].textContent = est && est[i] > 0 ? fmtMs(est[i]) : '–';
      tr.cells[6].textContent = last && last.requests ? fmtPct(last.req[i] / last.requests) : '–';
      tr.cells[7].textContent = p ? String(p.inflight[i]) : '–';
      const toggle = tr.cells[8].firstChild;
      toggle.textContent = b.down ? 'up' : 'down';
      toggle.dataset.backend = String(i + 1);
      toggle.disabled = S.ended || !S.hasTruth;
    }
  }

  /* ---- start ------------------------------------------------------------------------- */

  function wire() {
    $('#editor').addEventListener('submit', onApply);
    $('#editor').addEventListener('input', function (e) {
      if (e.target.id !== 'ctl-slow' && e.target.id !== 'ctl-factor') S.editing = true;
    });
    ['#ctl-down', '#ctl-up', '#ctl-stall', '#ctl-resume'].forEach(function (id) {
      $(id).addEventListener('click', onAction);
    });
    $('#ctl-backend').addEventListener('change', function () {
      const n = selectedBackend();
      if (n) select(n - 1); else fillEditor();
    });
    $('#table-policy').addEventListener('change', function (e) {
      S.tablePolicy = parseInt(e.target.value, 10) || 0;
      S.dirty = true;
    });
    $('#page-prev').addEventListener('click', function () { S.page = Math.max(0, S.page - 1); S.dirty = true; });
    $('#page-next').addEventListener('click', function () { S.page++; S.dirty = true; });
    /* Redraws take longer with many panels and backends: never more than a
     * third of the time, so that the page stays responsive. */
    setInterval(function () {
      const gap = Math.max(RENDER_MS, 3 * (S.renderMs || 0));
      if (S.dirty && S.startSeen && performance.now() - S.lastRender >= gap) render();
    }, 100);
  }

  if (typeof Chart !== 'undefined') {
    Chart.defaults.font.family = '"DejaVu Sans", system-ui, sans-serif';
    Chart.defaults.font.size = 10.5;
    Chart.defaults.color = '#5f6b78';
  }
  wire();
  connect();

  /* For tests and the console. */
  window.lbsim = {
    state: S,
    /* The share of the last k rounds of `policy` sent to backend n (1-based). */
    share: function (policy, n, k) {
      const p = policyOf(policy);
      if (!p) return null;
      let to = 0, all = 0;
      p.rounds.last(k).forEach(function (r) { to += r.req[n - 1]; all += r.requests; });
      return all ? to / all : null;
    },
    rounds: function (policy) { const p = policyOf(policy); return p ? p.rounds.list.length : 0; },
    points: function () {
      return S.panels.map(function (panel) { return Number(panel.el.dataset.points); });
    }
  };
})();
