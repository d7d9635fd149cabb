'use strict';
// Shared helpers for the compatibility scripts: build an official SDK client pointed at the live server,
// record what it sends on the wire, and print one JSON document of results.
//
// Environment: PROMOJOBS_HOST (host:port), PROMOJOBS_CLIENT_ID, PROMOJOBS_CLIENT_SECRET.

const { gateway, MemoryStorageFactory } = require('@elasticpath/js-sdk');

// The SDK logs token checks with console.info ("Token status: credentials do not exist"), which goes to
// stdout. Stdout carries the one JSON document of results, so send console output to stderr.
console.log = console.error;
console.info = console.error;

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

const HEADERS_KEPT = [
  'Content-Type',
  'X-MOLTIN-SDK-LANGUAGE',
  'X-MOLTIN-SDK-VERSION',
  'X-MOLTIN-APPLICATION',
];

function parseBody(body) {
  if (body === undefined || body === null) return null;
  if (typeof body !== 'string') return `<${typeof body}>`;
  try {
    return JSON.parse(body);
  } catch (_err) {
    return body; // the form-encoded token request
  }
}

// Every request the SDK makes goes through config.custom_fetch. Without it the SDK uses globalThis.fetch
// (Node's own), so wrapping that same function changes nothing but lets us see the wire.
function recordingFetch(wire) {
  return async (url, init = {}) => {
    const headers = init.headers || {};
    const entry = {
      method: init.method,
      url: url.replace(/^https?:\/\/[^/]+/, ''),
      headers: Object.fromEntries(HEADERS_KEPT.filter((h) => h in headers).map((h) => [h, headers[h]])),
      authorization: headers.Authorization ? headers.Authorization.split(' ')[0] : null,
      body: parseBody(init.body),
    };
    const response = await fetch(url, init);
    entry.status = response.status;
    wire.push(entry);
    return response;
  };
}

function client(options = {}) {
  const wire = [];
  const ep = gateway({
    client_id: env('PROMOJOBS_CLIENT_ID'),
    client_secret: env('PROMOJOBS_CLIENT_SECRET'),
    host: env('PROMOJOBS_HOST'),
    protocol: 'http',
    storage: new MemoryStorageFactory(),
    disableCart: true,
    custom_fetch: recordingFetch(wire),
    ...options,
  });
  return { ep, wire };
}

// A promise the SDK rejects is an expected outcome in some steps: keep what it rejected with.
async function settle(promise) {
  try {
    return { resolved: true, value: await promise };
  } catch (error) {
    const value = error instanceof Error ? { error: String(error), stack: error.stack } : error;
    return { resolved: false, value };
  }
}

// PromotionJobs() does not reset the builder: set limit, offset and filter on every call.
function promotionJobs(ep, promotionId, { limit, offset, filter } = {}) {
  return ep.Promotions.Limit(limit).Offset(offset).Filter(filter).PromotionJobs(promotionId);
}

async function waitForJob(ep, promotionId, jobId, wanted, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  const seen = [];
  for (;;) {
    // Up to 100 jobs per page, newest first or not: look the job up by id.
    const page = await promotionJobs(ep, promotionId, { limit: 100 });
    const job = page.data.find((j) => j.id === jobId);
    if (!job) throw new Error(`job ${jobId} is not in the job list: ${JSON.stringify(page)}`);
    if (seen[seen.length - 1] !== job.status) seen.push(job.status);
    if (wanted.includes(job.status)) return { job, seen };
    if (Date.now() > deadline) throw new Error(`job ${jobId} stayed ${job.status}: ${JSON.stringify(job)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function allCodes(ep, promotionId) {
  const codes = [];
  for (let offset = 0; ; offset += 100) {
    const page = await ep.Promotions.Limit(100).Offset(offset).Codes(promotionId);
    codes.push(...page.data);
    if (page.data.length < 100) return codes;
  }
}

// Run the script's main(), print its result as JSON on stdout; on an unexpected error print it and exit 1.
function run(main) {
  main()
    .then((result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    })
    .catch((error) => {
      const shown = error instanceof Error ? error.stack : JSON.stringify(error);
      process.stderr.write(`unexpected error: ${shown}\n`);
      process.exitCode = 1;
    });
}

const PROMOTION = {
  name: 'SDK Summer',
  description: '10 off, created by the JS SDK',
  enabled: true,
  automatic: false,
  promotion_type: 'fixed_discount',
  schema: { currencies: [{ currency: 'USD', amount: 1000 }] },
  start: '2026-01-01',
  end: '2030-01-01',
};

module.exports = { client, settle, promotionJobs, waitForJob, allCodes, run, PROMOTION };
