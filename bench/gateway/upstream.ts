/** The benchmark's fake upstream in a process of its own: every answer after a fixed 20 ms. */
import { startFakeUpstream } from '../../packages/server/test/support/fake-upstream.js';

const upstream = await startFakeUpstream({ delayMs: Number(process.env['BENCH_UPSTREAM_MS'] ?? 20), record: false });
console.log(`listening on ${upstream.url}`);
