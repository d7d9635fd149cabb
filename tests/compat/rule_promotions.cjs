'use strict';
// Rule promotions through the official JS SDK: every RulePromotions method (Create, Get, All with
// Filter/Limit/Offset, Update, Delete, Codes, AddCodes, DeleteCode, DeleteCodes, AddCodesJob, Jobs,
// CancelJob, GetCodeExportFile) against the live server.
// Prints one JSON document: { step: what the SDK resolved or rejected with, ..., wire: [requests] }.

const { client, settle, run } = require('./lib.cjs');

const FINAL = ['completed', 'failed', 'cancelled'];
const RULE_PROMOTION = {
  name: 'SDK rule',
  description: '10% off carts over 10, created by the JS SDK',
  enabled: true,
  automatic: false,
  start: '2026-01-01',
  end: '2030-01-01',
  rule_set: {
    currencies: ['USD'],
    rules: { strategy: 'cart_total', operator: 'gte', args: [1000] },
    actions: [{ strategy: 'cart_discount', args: ['percent', 10] }],
  },
};

// Jobs() and Codes() read the builder's limit, offset and filter: set all three on every call.
function jobs(ep, id, { limit, offset, filter } = {}) {
  return ep.RulePromotions.Limit(limit).Offset(offset).Filter(filter).Jobs(id);
}

function codes(ep, id, { limit, offset, filter } = {}) {
  return ep.RulePromotions.Limit(limit).Offset(offset).Filter(filter).Codes(id);
}

async function waitForJob(ep, id, jobId) {
  const deadline = Date.now() + 60000;
  for (;;) {
    const page = await jobs(ep, id, { limit: 100 });
    const job = page.data.find((j) => j.id === jobId);
    if (!job) throw new Error(`job ${jobId} is not in the job list: ${JSON.stringify(page)}`);
    if (FINAL.includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} stayed ${job.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function main() {
  const { ep, wire } = client();
  const out = {};
  await ep.Authenticate();

  out.create = await ep.RulePromotions.Create(RULE_PROMOTION);
  const id = out.create.data.id;
  out.create_other = await ep.RulePromotions.Create({ ...RULE_PROMOTION, name: 'SDK other', enabled: false });
  const other = out.create_other.data.id;
  out.get = await ep.RulePromotions.Get(id);
  out.update = await ep.RulePromotions.Update(id, { name: 'SDK rule renamed', priority: 7 });
  out.all = await ep.RulePromotions.Limit(1).Offset(1).Filter(undefined).All();
  out.filter_enabled = await ep.RulePromotions.Limit(25).Offset(0).Filter({ eq: { enabled: 'false' } }).All();

  out.add_codes = await ep.RulePromotions.AddCodes(id, [
    { code: 'sdk-spring', uses: 3, consume_unit: 'per_application' },
    { code: 'sdk-summer' },
    { code: 'sdk-gone' },
  ]);
  out.add_codes_other = await ep.RulePromotions.AddCodes(other, [{ code: 'SDK-SPRING' }]);
  out.add_duplicate = await settle(ep.RulePromotions.AddCodes(id, [{ code: 'SDK-SUMMER' }]));
  out.filter_code = await ep.RulePromotions.Limit(25).Offset(0).Filter({ eq: { code: 'sdk-spring' } }).All();
  out.codes = await codes(ep, id, {});
  out.codes_filter = await codes(ep, id, { filter: { eq: { code: 'SDK-SUMMER' } } });
  out.codes_page = await codes(ep, id, { limit: 1, offset: 1 });
  const summer = out.add_codes.data.find((c) => c.code === 'sdk-summer');
  out.delete_code = await ep.RulePromotions.DeleteCode(id, summer.id);
  out.delete_codes = await ep.RulePromotions.DeleteCodes(id, [{ code: 'SDK-GONE' }]);
  out.codes_after_delete = await codes(ep, id, {});

  out.generate = await ep.RulePromotions.AddCodesJob(id, {
    type: 'promotion_job',
    job_type: 'code_generate',
    name: 'sdk rule generate',
    parameters: { number_of_codes: 50, code_prefix: 'SDKR-', consume_unit: 'per_application' },
  });
  out.generate_done = await waitForJob(ep, id, out.generate.data.id);
  out.export = await ep.RulePromotions.AddCodesJob(id, {
    type: 'promotion_job',
    job_type: 'code_export',
    name: 'sdk rule export',
  });
  out.export_done = await waitForJob(ep, id, out.export.data.id);
  out.file = await ep.RulePromotions.GetCodeExportFile(id, out.export.data.id);
  const download = await fetch(out.file.href);
  out.download = { status: download.status, text: await download.text() };
  out.jobs_filter = await jobs(ep, id, { filter: { eq: { job_type: 'code_export', status: 'completed' } } });
  out.jobs_page = await jobs(ep, id, { limit: 1, offset: 1 });
  out.cancel_finished = await settle(ep.RulePromotions.CancelJob(id, out.generate.data.id));

  // A job on the other promotion, cancelled while still pending (the server runs no worker for it in time
  // or it finishes first: both outcomes are what the spec allows, the test checks which one happened).
  out.other_generate = await ep.RulePromotions.AddCodesJob(other, {
    type: 'promotion_job',
    job_type: 'code_generate',
    name: 'sdk rule cancel',
    parameters: { number_of_codes: 2000000, code_length: 16 },
  });
  out.cancel = await settle(ep.RulePromotions.CancelJob(other, out.other_generate.data.id));
  out.other_done = await waitForJob(ep, other, out.other_generate.data.id);

  out.delete = await ep.RulePromotions.Delete(other);
  out.get_deleted = await settle(ep.RulePromotions.Get(other));

  out.wire = wire.map(({ method, url, status, body }) => ({ method, url, status, body }));
  return out;
}

run(main);
