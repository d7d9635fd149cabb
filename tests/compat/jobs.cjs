'use strict';
// Promotion jobs through the official JS SDK: AddCodesJob (code_generate and code_export), PromotionJobs
// (with Filter, Limit and Offset), GetCodeExportFile and the download of the CSV it points to, and a cancel
// through ep.request.send (the SDK has no Promotions.CancelJob).
// Prints one JSON document: { step: what the SDK resolved or rejected with, ..., wire: [requests] }.

const { client, settle, promotionJobs, waitForJob, allCodes, run, PROMOTION } = require('./lib.cjs');

const FINAL = ['completed', 'failed', 'cancelled'];
// Big enough that the cancel lands while the job is still pending or processing.
const BIG_JOB_CODES = Number(process.env.PROMOJOBS_BIG_JOB_CODES || 2000000);

async function main() {
  const { ep, wire } = client();
  const out = {};
  await ep.Authenticate();

  const promotion = await ep.Promotions.Create({ ...PROMOTION, name: 'SDK jobs' });
  const id = promotion.data.id;
  out.promotion_id = id;
  out.add_codes = await ep.Promotions.AddCodes(id, [
    { code: 'SDK-MANUAL-1', uses: 3, user: 'customer-7', consume_unit: 'per_item' },
    { code: 'SDK-MANUAL-2' },
  ]);

  // code_generate: 300 codes, polled to completion.
  out.generate = await ep.Promotions.AddCodesJob(id, {
    type: 'promotion_job',
    job_type: 'code_generate',
    name: 'sdk generate',
    parameters: {
      number_of_codes: 300,
      code_prefix: 'SDK-',
      code_length: 10,
      max_uses_per_code: 2,
      consume_unit: 'per_item',
    },
  });
  const generated = await waitForJob(ep, id, out.generate.data.id, FINAL);
  out.generate_done = generated.job;
  out.generate_seen = generated.seen;
  out.codes = await allCodes(ep, id);

  // A second job while one is pending or processing is refused; a finished one does not count.
  out.export_1 = await ep.Promotions.AddCodesJob(id, {
    type: 'promotion_job',
    job_type: 'code_export',
    name: 'sdk export 1',
  });
  out.export_1_done = (await waitForJob(ep, id, out.export_1.data.id, FINAL)).job;

  // A file only exists for a completed export: asking for one on the generate job is rejected.
  out.file_of_generate_job = await settle(ep.Promotions.GetCodeExportFile(id, out.generate.data.id));

  // Cancel: there is no Promotions.CancelJob, so send the request directly (no body).
  out.big_generate = await ep.Promotions.AddCodesJob(id, {
    type: 'promotion_job',
    job_type: 'code_generate',
    name: 'sdk big generate',
    parameters: { number_of_codes: BIG_JOB_CODES, code_prefix: 'BIG-', code_length: 16 },
  });
  const bigId = out.big_generate.data.id;
  out.second_active_job = await settle(
    ep.Promotions.AddCodesJob(id, { type: 'promotion_job', job_type: 'code_export', name: 'refused' }),
  );
  out.cancel = await settle(ep.request.send(`promotions/${id}/jobs/${bigId}/cancel`, 'POST'));
  const cancelled = await waitForJob(ep, id, bigId, FINAL, 90000);
  out.big_generate_done = cancelled.job;
  out.cancel_again = await settle(ep.request.send(`promotions/${id}/jobs/${bigId}/cancel`, 'POST'));
  out.codes_after_cancel = await allCodes(ep, id);

  // A second export, after the cancel: its file must hold exactly the codes the API lists.
  out.export_2 = await ep.Promotions.AddCodesJob(id, {
    type: 'promotion_job',
    job_type: 'code_export',
    name: 'sdk export 2',
  });
  out.export_2_done = (await waitForJob(ep, id, out.export_2.data.id, FINAL)).job;

  // The job list, filtered and paged the way the SDK builds it.
  out.jobs_all = await promotionJobs(ep, id, {});
  const exportsCompleted = { eq: { job_type: 'code_export', status: 'completed' } };
  out.jobs_filter = await promotionJobs(ep, id, { filter: exportsCompleted });
  out.jobs_filter_page = await promotionJobs(ep, id, { filter: exportsCompleted, limit: 1, offset: 1 });
  out.jobs_filter_cancelled = await promotionJobs(ep, id, { filter: { eq: { status: 'cancelled' } } });
  out.jobs_page = await promotionJobs(ep, id, { limit: 2, offset: 2 });

  // The SDK's builder leak: a bare PromotionJobs() after a filtered one reuses the filter and
  // the limit. Recorded, so the test shows why promotionJobs() above sets all three every time.
  const leakStart = wire.length;
  await ep.Promotions.Filter({ eq: { job_type: 'code_generate' } }).Limit(1).PromotionJobs(id);
  out.leak_bare_call = await ep.Promotions.PromotionJobs(id);
  out.leak_urls = wire.slice(leakStart).map((entry) => entry.url);
  ep.Promotions.Limit(undefined).Offset(undefined).Filter(undefined);

  // The export file: GetCodeExportFile resolves {href}; the href is fetched without a token.
  out.file = await ep.Promotions.GetCodeExportFile(id, out.export_2.data.id);
  const download = await fetch(out.file.href);
  out.download = {
    status: download.status,
    content_type: download.headers.get('content-type'),
    text: await download.text(),
  };

  out.wire = wire.map(({ method, url, status, body }) => ({ method, url, status, body }));
  return out;
}

run(main);
