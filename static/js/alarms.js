// The alarm console: server-sent events from /alarms/stream (a snapshot, then each alarm that
// is new or changed), redraw the open alarms, the map and the faults, and sound when an alarm
// appears that nobody has acknowledged yet. The browser reconnects a stream that ends with
// Last-Event-ID; if streams keep failing, or EventSource is missing, feed.json is polled.
(function () {
  "use strict";
  var rows = document.getElementById("alarm-rows");
  if (!rows) { return; }
  var pollMs = parseInt(rows.dataset.pollMs, 10) || 1000;
  var current = {};  // open alarms by id
  var status = document.getElementById("live-status");
  var faults = document.getElementById("fault-list");
  var throttled = document.getElementById("throttled");
  var toggle = document.getElementById("sound-toggle");
  var seen = {};
  Array.prototype.forEach.call(rows.querySelectorAll("tr[data-id]"), function (tr) {
    seen[tr.dataset.id] = true;
  });
  var audio = null;

  toggle.addEventListener("click", function () {
    // Browsers let a page make sound only after the user asked for it.
    if (!audio) {
      audio = new (window.AudioContext || window.webkitAudioContext)();
      toggle.textContent = toggle.dataset.on;
      beep(1);
    }
  });

  function beep(priority) {
    if (!audio) { return; }
    var times = priority <= 1 ? 3 : 1;
    for (var i = 0; i < times; i++) {
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = priority <= 1 ? 1200 : 880;
      osc.connect(gain); gain.connect(audio.destination);
      var t = audio.currentTime + i * 0.35;
      gain.gain.setValueAtTime(0.25, t); gain.gain.setValueAtTime(0, t + 0.25);
      osc.start(t); osc.stop(t + 0.3);
    }
  }

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    if (cls) { td.className = cls; }
    if (text !== undefined) { td.textContent = text; }
    tr.appendChild(td);
    return td;
  }

  function hidden(name, value) {
    var input = document.createElement("input");
    input.type = "hidden"; input.name = name; input.value = value;
    return input;
  }

  function ackForm(url) {
    var form = document.createElement("form"), button = document.createElement("button");
    form.method = "post"; form.action = url + "/acknowledge"; form.className = "inline";
    form.appendChild(hidden("csrf_token", rows.dataset.csrf));
    form.appendChild(hidden("next", "console"));
    button.type = "submit"; button.className = "linklike"; button.textContent = rows.dataset.ack;
    form.appendChild(document.createTextNode(" "));
    form.appendChild(button);
    return form;
  }

  function drawAlarms(alarms) {
    var body = document.createDocumentFragment(), urgent = 0;
    alarms.forEach(function (a) {
      var tr = document.createElement("tr");
      tr.dataset.id = a.id;
      tr.className = "alarm-row p" + a.priority + " " + a.category + (a.state === "raised" ? " fresh" : "");
      var type = cell(tr), badge = document.createElement("span");
      badge.className = "badge " + (a.category === "alarm" ? "bad" : "warn");
      badge.textContent = a.type_label;
      type.appendChild(badge);
      if (a.count > 1) { type.appendChild(document.createTextNode(" ×" + a.count)); }
      var where = cell(tr, (a.unit || a.place) + (a.zone ? " · " + rows.dataset.zone.replace("{zone}", a.zone) : ""));
      where.appendChild(document.createElement("br"));
      var dev = document.createElement("span"); dev.className = "muted"; dev.textContent = a.device;
      where.appendChild(dev);
      cell(tr, a.raised_local);
      cell(tr, a.state_label + (a.restored ? " (" + rows.dataset.restored + ")" : ""));
      var link = document.createElement("a"); link.href = a.url; link.textContent = rows.dataset.open;
      var actions = cell(tr);
      actions.appendChild(link);
      if (rows.dataset.ack && a.state === "raised") { actions.appendChild(ackForm(a.url)); }
      body.appendChild(tr);
      if (!seen[a.id] && a.state === "raised") { urgent = urgent ? Math.min(urgent, a.priority) : a.priority; }
      seen[a.id] = true;
    });
    if (!alarms.length) {
      var none = document.createElement("tr"); none.className = "none";
      cell(none, rows.dataset.none, "muted").colSpan = 5;
      body.appendChild(none);
    }
    rows.replaceChildren(body);
    if (urgent) { beep(urgent); }
  }

  function drawMap(alarms) {
    var active = {};
    alarms.forEach(function (a) { active[a.device_id] = true; });
    Array.prototype.forEach.call(document.querySelectorAll("#site-map circle[data-device]"), function (c) {
      c.classList.toggle("alarmed", !!active[c.dataset.device]);
    });
  }

  function drawFaults(list, flooding) {
    var frag = document.createDocumentFragment();
    list.forEach(function (f) {
      var li = document.createElement("li"), strong = document.createElement("strong");
      strong.textContent = f.device;
      li.appendChild(strong);
      li.appendChild(document.createTextNode(" " + f.place + " — " + f.reasons.join(", ")));
      frag.appendChild(li);
    });
    if (!list.length) {
      var li = document.createElement("li"); li.className = "muted"; li.textContent = faults.dataset.none;
      frag.appendChild(li);
    }
    faults.replaceChildren(frag);
    throttled.hidden = !flooding.length;
    throttled.textContent = throttled.dataset.text.replace("{devices}", flooding.map(function (d) { return d.device; }).join(", "));
  }

  function order(a, b) {
    return a.priority - b.priority || (a.raised_at < b.raised_at ? 1 : a.raised_at > b.raised_at ? -1 : 0) || b.id - a.id;
  }

  function redraw() {
    var list = Object.keys(current).map(function (k) { return current[k]; }).sort(order);
    drawAlarms(list); drawMap(list);
  }

  function live() {
    status.textContent = status.dataset.ok.replace("{time}", new Date().toLocaleTimeString());
    status.classList.remove("lost");
  }

  function lost() { status.textContent = status.dataset.lost; status.classList.add("lost"); }

  function snapshot(feed) {
    current = {};
    feed.alarms.forEach(function (a) { current[a.id] = a; });
    redraw(); drawFaults(feed.faults, feed.throttled); live();
  }

  function upsert(a) {
    var had = current[a.id];
    // A message older than what is shown (it crossed a snapshot) changes nothing.
    if (had && (had.rev > a.rev || (had.rev === a.rev && had.count > a.count))) { return; }
    if (a.state === "cleared") { delete current[a.id]; } else { current[a.id] = a; }
    redraw(); live();
  }

  function poll() {
    fetch(rows.dataset.feed, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (feed) { rows.dataset.live = "poll"; snapshot(feed); })
      .catch(lost)
      .then(function () { if (!source) { window.setTimeout(poll, pollMs); } });
  }

  var source = null, failures = 0;
  function connect() {
    source = new EventSource(rows.dataset.stream);
    source.addEventListener("snapshot", function (e) {
      failures = 0; rows.dataset.live = "stream"; snapshot(JSON.parse(e.data));
    });
    source.addEventListener("alarm", function (e) { failures = 0; upsert(JSON.parse(e.data)); });
    source.addEventListener("status", function (e) {
      var s = JSON.parse(e.data); drawFaults(s.faults, s.throttled); live();
    });
    // A stream ends every few minutes by design and reopens: only failing to open counts.
    source.addEventListener("open", function () { failures = 0; live(); });
    source.addEventListener("error", function () {
      lost();
      failures += 1;
      if (source.readyState === EventSource.CLOSED || failures > 3) {
        // The server refused the stream (or it keeps failing): a snapshot now, a new stream later.
        source.close(); source = null;
        poll();
        window.setTimeout(connect, Math.min(30000, 2000 * failures));
      }
    });
  }
  if (window.EventSource && rows.dataset.stream) { connect(); } else { window.setTimeout(poll, pollMs); }
})();
