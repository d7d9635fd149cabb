'use strict';
// Promotions and promotion codes through the official JS SDK: Create, All, Get, Update, Delete, Codes
// (with Filter, Limit and Offset), AddCodes, DeleteCode, DeleteCodes, and the errors the SDK rejects with.
// Prints one JSON document: { step: what the SDK resolved or rejected with, ..., wire: [requests] }.

const { client, settle, run, PROMOTION } = require('./lib.cjs');

async function main() {
  const { ep, wire } = client();
  const out = {};

  // Authenticate first: the SDK resolves with the top-level token response and stores it.
  out.token = await ep.Authenticate();
  out.stored_credentials = ep.credentials();

  // Promotions
  out.create = await ep.Promotions.Create(PROMOTION);
  const id = out.create.data.id;
  out.create_second = await ep.Promotions.Create({ ...PROMOTION, name: 'SDK Winter', enabled: false });
  const secondId = out.create_second.data.id;
  out.all = await ep.Promotions.All();
  out.all_page = await ep.Promotions.Limit(1).Offset(1).All();
  out.get = await ep.Promotions.Get(id);
  out.update = await ep.Promotions.Update(id, {
    id,
    name: 'SDK Summer (updated)',
    description: 'updated by the JS SDK',
    max_applications_per_cart: 2,
  });
  out.get_after_update = await ep.Promotions.Get(id);

  // Codes
  out.add_codes = await ep.Promotions.AddCodes(id, [
    { code: 'SDK-ALPHA' },
    { code: 'SDK-BRAVO', uses: 10, user: 'customer-1' },
    { code: 'SDK-CHARLIE', uses: 5, consume_unit: 'per_item' },
    { code: 'SDK-DELTA' },
    { code: 'SDK-ECHO' },
  ]);
  out.codes = await ep.Promotions.Codes(id);
  out.codes_filter = await ep.Promotions.Filter({ eq: { code: 'SDK-BRAVO' } }).Codes(id);
  // Codes compare case-insensitively.
  out.codes_filter_lower = await ep.Promotions.Filter({ eq: { code: 'sdk-charlie' } }).Codes(id);
  out.codes_filter_none = await ep.Promotions.Filter({ eq: { code: 'NOPE' } }).Codes(id);
  out.codes_page = await ep.Promotions.Limit(2).Offset(2).Codes(id);
  // Codes() resets the builder: a bare call afterwards lists everything again.
  out.codes_after_reset = await ep.Promotions.Codes(id);

  out.delete_code = await ep.Promotions.DeleteCode(id, 'SDK-ALPHA');
  out.delete_codes = await ep.Promotions.DeleteCodes(id, [{ code: 'SDK-BRAVO' }, { code: 'SDK-CHARLIE' }]);
  out.codes_after_delete = await ep.Promotions.Codes(id);

  // Errors: the SDK rejects with the parsed {errors: [...]} body.
  out.get_missing = await settle(ep.Promotions.Get('00000000-0000-4000-8000-000000000000'));
  out.delete_code_missing = await settle(ep.Promotions.DeleteCode('00000000-0000-4000-8000-000000000000', 'X'));
  out.create_invalid = await settle(ep.Promotions.Create({ name: 'no type of promotion' }));
  out.add_duplicate = await settle(ep.Promotions.AddCodes(id, [{ code: 'sdk-delta' }]));

  // A client with a wrong secret: Authenticate, and any call (which authenticates first), reject with the
  // token endpoint's parsed error body.
  const bad = client({ client_secret: 'not-the-secret' });
  out.bad_secret_authenticate = await settle(bad.ep.Authenticate());
  out.bad_secret_call = await settle(bad.ep.Promotions.All());

  // A stored token the server does not know (and not expired by its `expires`), so the SDK sends it.
  const staleCredentials = JSON.stringify({
    client_id: process.env.PROMOJOBS_CLIENT_ID,
    access_token: 'stale-token-the-server-never-issued',
    expires: Math.floor(Date.now() / 1000) + 3600,
    token_type: 'Bearer',
  });
  // With one attempt allowed, the SDK rejects with the 401 body.
  const once = client({ fetchMaxAttempts: 1 });
  once.ep.storage.set('epCredentials', staleCredentials);
  out.bad_token_get = await settle(once.ep.Promotions.Get(id));
  // By default it authenticates again on the 401 and retries with the new token.
  const stale = client();
  stale.ep.storage.set('epCredentials', staleCredentials);
  out.stale_token_get = await settle(stale.ep.Promotions.Get(id));
  out.stale_wire = stale.wire;

  // Delete
  out.delete = await ep.Promotions.Delete(secondId);
  out.get_deleted = await settle(ep.Promotions.Get(secondId));
  out.all_after_delete = await ep.Promotions.All();

  out.wire = wire;
  out.bad_wire = bad.wire;
  return out;
}

run(main);
