import { test, expect } from 'vitest';
import { startPostgres } from '../test/support/postgres.js';
import { createStorage } from '../src/storage/index.js';
test('smoke', async () => {
  const t0 = Date.now();
  const pgc = await startPostgres();
  console.log('started in', Date.now() - t0, pgc.url);
  const s = await createStorage(pgc.url);
  console.log(await s.rawSql("select tgname from pg_trigger where not tgisinternal"));
  console.log(await s.countProjects());
  await s.close();
  await pgc.stop();
  console.log('total', Date.now() - t0);
});
