// promojobs console: confirmations, the keyspace verdict while typing, and the live job bar (SSE).
// Written for this console (no library, no build step); every page also works without it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  confirmations();
  keyspace();
  liveProgress();
});

function confirmations() {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
}

function keyspace() {
  const form = document.getElementById("generate");
  if (!form) return;
  const verdict = document.getElementById("keyspace");
  const submit = document.getElementById("generate-submit");
  let timer = null;
  let asked = 0;
  const check = async () => {
    const mine = ++asked;
    // namedItem: form.elements.length is the number of fields, not the "length" input.
    const field = (name) => form.elements.namedItem(name);
    const query = new URLSearchParams({
      count: field("count").value,
      prefix: field("prefix").value,
      length: field("length").value,
    });
    try {
      const response = await fetch(`${form.dataset.keyspace}?${query}`, { credentials: "same-origin" });
      if (mine !== asked) return; // a newer answer is on its way
      if (response.status === 401) {
        window.location.assign("/console/login?ended=1");
        return;
      }
      const answer = await response.json();
      verdict.textContent = answer.message;
      verdict.className = answer.fits ? "ok" : "error";
      submit.disabled = !answer.fits;
      field("count").setAttribute("aria-invalid", String(!answer.fits));
    } catch (error) {
      verdict.textContent = "Could not check the keyspace: the server did not answer. The server checks again when you submit.";
      verdict.className = "error";
      submit.disabled = false;
    }
  };
  for (const name of ["count", "prefix", "length"]) {
    form.elements.namedItem(name).addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(check, 200);
    });
  }
}

function liveProgress() {
  const panel = document.getElementById("job-progress");
  if (!panel || panel.dataset.final === "true" || !window.EventSource) return;
  const source = new EventSource(panel.dataset.events);
  const byId = (id) => document.getElementById(id);
  source.addEventListener("progress", (message) => {
    const job = JSON.parse(message.data);
    byId("job-status").textContent = job.status;
    const bar = byId("job-bar");
    bar.max = job.max;
    bar.value = job.value;
    bar.textContent = `${job.percent} %`;
    byId("job-counts").textContent = job.counts;
    byId("job-rate").textContent = job.rate;
    byId("job-eta").textContent = job.eta;
    byId("job-error").textContent = job.error;
    byId("job-error").hidden = !job.error;
    byId("job-cancel").hidden = !job.cancellable;
    byId("job-download").hidden = !job.downloadable;
    const row = byId(`status-${job.id}`);
    if (row) row.textContent = job.error && job.status === "failed" ? `${job.status}: ${job.error}` : job.status;
    const file = byId(`file-${job.id}`);
    if (file && job.downloadable && !file.firstChild) {
      const link = byId("job-download").querySelector("a").cloneNode(true);
      link.textContent = "Download";
      file.appendChild(link);
    }
    if (job.final) {
      panel.dataset.final = "true";
      source.close();
    }
  });
  const failure = (message) => {
    const box = byId("job-live-failure");
    box.textContent = message;
    box.hidden = false;
    source.close();
  };
  source.addEventListener("failure", (message) => failure(JSON.parse(message.data).message));
  source.addEventListener("ended", () => window.location.assign("/console/login?ended=1"));
  source.onerror = () => {
    if (panel.dataset.final === "true") return;
    const box = byId("job-live-failure");
    // The browser reconnects by itself after a dropped connection, not after a refused one.
    box.textContent = source.readyState === EventSource.CLOSED
      ? "The live progress stopped (the server refused it); reload the page to see the job."
      : "Lost the connection to the server; reconnecting…";
    box.hidden = false;
  };
  source.onopen = () => {
    byId("job-live-failure").hidden = true;
  };
}
