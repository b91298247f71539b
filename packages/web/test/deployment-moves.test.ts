import { describe, expect, it } from 'vitest';
import { rollbackOffers, servingNow } from '../src/pages/prompt/deployment-moves';

const V15 = 'd'.repeat(64);
const V17 = '6'.repeat(64);
const V18 = '7'.repeat(64);

/** The demo's greeter after a rollback: production reached v17 twice (the merge, then the rollback). */
const moves = [
  { id: 40, label: 'production', toSha: V17 }, // rollback v18 -> v17
  { id: 36, label: 'production', toSha: V18 }, // break glass
  { id: 35, label: 'latest', toSha: V18 },
  { id: 34, label: 'production', toSha: V17 }, // merge of #1
  { id: 33, label: 'staging', toSha: V17 },
  { id: 20, label: 'production', toSha: V15 },
];

describe('servingNow', () => {
  it("marks only each label's newest move, when the label still serves it", () => {
    const labels = [
      { label: 'production', sha: V17 },
      { label: 'staging', sha: V17 },
      { label: 'latest', sha: V18 },
    ];
    expect([...servingNow(moves, labels)].sort()).toEqual([33, 40]);
  });

  it('does not depend on the order of the moves', () => {
    const labels = [{ label: 'production', sha: V17 }];
    expect([...servingNow([...moves].reverse(), labels)]).toEqual([40]);
  });

  it('marks none for a label whose newest move is not what it serves (a move not loaded yet)', () => {
    expect([...servingNow(moves, [{ label: 'production', sha: V15 }])]).toEqual([]);
  });

  it('never marks latest, nor a label without moves', () => {
    expect([...servingNow(moves, [{ label: 'latest', sha: V18 }])]).toEqual([]);
    expect([...servingNow(moves, [{ label: 'canary', sha: V17 }])]).toEqual([]);
  });
});

describe('rollbackOffers', () => {
  it('offers the newest move to each target sha of a label, and no other', () => {
    const options = [{ label: 'production', targets: [{ sha: V17 }, { sha: V15 }] }] as never;
    expect([...rollbackOffers(moves, options)].sort()).toEqual([20, 40]);
  });
});
