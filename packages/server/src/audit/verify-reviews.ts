import { alignRecorded, differingFields, type AuditStory, type Recorded, type VerifyProblem } from '@promptops/core';
import type { ReviewReads } from '../reviews/store.js';

type Reads = { readonly reviews: ReviewReads };
import type { ChangeRequestRow, ReviewEventRow } from '../reviews/store.js';

/**
 * Change requests and their timelines against the audit story. A request must hold the state its entries
 * leave it in (status, author, label, proposed sha and base, message, merge deployment, times), and its
 * review events (opened, approved, rejected, superseded, merged, closed: by whom, on which sha) must be
 * the entries' events one for one, so an approval added, dropped or rewritten in SQL shows.
 */

const PAGE = 500;

type Fields = Readonly<Record<string, unknown>>;
type Entry = Recorded<Fields>;

const differ = (fields: readonly string[]): string => `${fields.join(', ')} differ${fields.length === 1 ? 's' : ''}`;

const readRequests = async (reads: Reads, projectId: number): Promise<ChangeRequestRow[]> => {
  const rows: ChangeRequestRow[] = [];
  for (let before: number | undefined; ;) {
    const page = await reads.reviews.listChangeRequests(projectId, {
      limit: PAGE,
      ...(before === undefined ? {} : { beforeId: before }),
    });
    rows.push(...page);
    if (page.length < PAGE) return rows;
    before = page[page.length - 1]!.id;
  }
};

const readEvents = async (reads: Reads, projectId: number): Promise<Map<number, ReviewEventRow[]>> => {
  const byRequest = new Map<number, ReviewEventRow[]>();
  for (let after = 0; ;) {
    const page = await reads.reviews.listProjectReviewEvents(projectId, after, PAGE);
    for (const row of page) {
      const events = byRequest.get(row.changeRequestId) ?? [];
      byRequest.set(row.changeRequestId, events);
      events.push(row);
    }
    if (page.length < PAGE) return byRequest;
    after = page[page.length - 1]!.id;
  }
};

const checkEvents = (
  id: number,
  rows: readonly ReviewEventRow[],
  recorded: readonly Entry[],
  problems: VerifyProblem[],
): void => {
  for (const [row, entry] of alignRecorded(rows, recorded)) {
    if (row === undefined) {
      const { kind, actor } = entry!.value ?? {};
      problems.push({
        table: 'review_events',
        row: `#${id} ${String(kind)} by ${String(actor)}`,
        problem: 'missing',
        message: `change request #${id}: audit entry #${entry!.seq} records "${String(kind)}" by ${String(actor)}, but no review event holds it`,
      });
      continue;
    }
    const where = `#${id} ${row.kind} by ${row.actor} (event ${row.id})`;
    if (entry === undefined) {
      problems.push({
        table: 'review_events',
        row: where,
        problem: 'unrecorded',
        message: `change request #${id}: review event ${row.id} ("${row.kind}" by ${row.actor}) has no audit entry`,
      });
      continue;
    }
    const fields = differingFields(entry.value ?? {}, row as unknown as Fields);
    if (fields.length === 0) continue;
    problems.push({
      table: 'review_events',
      row: where,
      problem: 'altered',
      message: `change request #${id}: review event ${row.id}: ${differ(fields)} from audit entry #${entry.seq}`,
    });
  }
};

export const checkReviews = async (
  reads: Reads,
  projectId: number,
  story: AuditStory,
  problems: VerifyProblem[],
): Promise<{ changeRequests: number; reviewEvents: number }> => {
  const [requests, events] = await Promise.all([readRequests(reads, projectId), readEvents(reads, projectId)]);
  const seen = new Set<number>();
  for (const row of requests.reverse()) {
    seen.add(row.id);
    const where = `#${row.id} (${row.name}:${row.label})`;
    const recorded = story.changeRequests.get(row.id);
    if (recorded?.value == null) {
      problems.push({
        table: 'change_requests',
        row: where,
        problem: 'unrecorded',
        message: `change request ${where}: no audit entry records its opening`,
      });
      continue;
    }
    const fields = differingFields(recorded.value, row as unknown as Fields);
    if (fields.length > 0) {
      problems.push({
        table: 'change_requests',
        row: where,
        problem: 'altered',
        message: `change request ${where}: ${differ(fields)} from its audit entries (the last is #${recorded.seq})`,
      });
    }
  }
  for (const [id, recorded] of story.changeRequests) {
    if (seen.has(id)) continue;
    const { name, label } = recorded.value ?? {};
    problems.push({
      table: 'change_requests',
      row: `#${id} (${String(name)}:${String(label)})`,
      problem: 'missing',
      message: `change request #${id} (${String(name)}:${String(label)}), recorded by audit entry #${recorded.seq}, is not stored`,
    });
  }
  const ids = [...new Set([...events.keys(), ...story.reviewEvents.keys()])].sort((a, b) => a - b);
  let count = 0;
  for (const id of ids) {
    const rows = events.get(id) ?? [];
    count += rows.length;
    checkEvents(id, rows, story.reviewEvents.get(id) ?? [], problems);
  }
  return { changeRequests: requests.length, reviewEvents: count };
};
