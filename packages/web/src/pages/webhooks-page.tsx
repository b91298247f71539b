import { useState } from 'react';
import type { WebhookAttemptRecord, WebhookDeliveryRecord, WebhookRecord } from '../api/types';
import { dateTime } from '../app/format';
import { useSession } from '../app/session';
import { useNotify } from '../app/toasts';
import { useApiGet } from '../app/use-api';
import { When } from '../components/badges';
import { Empty, ErrorNote, Loading } from '../components/states';

type Webhook = WebhookRecord;
type Attempt = WebhookAttemptRecord;
type Delivery = WebhookDeliveryRecord;

const DELIVERIES_SHOWN = 50;

const DeliveryStatus = ({ status }: { status: Delivery['status'] }) => (
  <span
    className={`chip ${status === 'delivered' ? 'chip-incident-resolved' : status === 'failed' ? 'chip-incident-open' : 'chip-incident-acknowledged'}`}
    data-testid="delivery-status"
  >
    {status}
  </span>
);

const code = (value: number | null): string => (value === null ? '—' : String(value));
const took = (ms: number | null): string => (ms === null ? '—' : `${ms} ms`);

/** Every attempt of one delivery, oldest first: opened on demand, the table stays one row per delivery. */
const AttemptLog = ({ attempts }: { attempts: readonly Attempt[] }) =>
  attempts.length === 0 ? (
    <span className="muted">no attempt yet</span>
  ) : (
    <details>
      <summary>
        {attempts.length} attempt{attempts.length === 1 ? '' : 's'}
      </summary>
      <ol data-testid="attempt-log">
        {attempts.map((a, index) => (
          <li key={index}>
            #{a.attempt} <time dateTime={a.at}>{dateTime(a.at)}</time> · {code(a.responseCode)} · {took(a.durationMs)}
            {a.error !== null && <span className="muted"> · {a.error}</span>}
          </li>
        ))}
      </ol>
    </details>
  );

/** Redelivery: admins only (webhooks are an admin feature; the server checks it too). */
const Redeliver = ({ hook, delivery, onDone }: { hook: number; delivery: Delivery; onDone: () => void }) => {
  const { api } = useSession();
  const notify = useNotify();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);
  const redeliver = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api.post(`/webhooks/${hook}/deliveries/${delivery.id}/redeliver`, {});
      notify(`Delivery ${delivery.id} queued again`, 'success');
      onDone();
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button
        type="button"
        className="button button-small"
        disabled={busy}
        onClick={() => void redeliver()}
        aria-label={`Redeliver delivery ${delivery.id}`}
      >
        Redeliver
      </button>
      {error !== undefined && <ErrorNote error={error} />}
    </>
  );
};

const Deliveries = ({ hook, revision }: { hook: Webhook; revision: number }) => {
  const list = useApiGet<{ deliveries: Delivery[] }>(
    `/webhooks/${hook.id}/deliveries`,
    { limit: DELIVERIES_SHOWN },
    revision,
  );
  const deliveries = list.data?.deliveries ?? [];
  if (list.error !== undefined) return <ErrorNote error={list.error} retry={list.reload} />;
  if (list.loading) return <Loading what="deliveries" />;
  if (deliveries.length === 0) return <Empty>No deliveries yet: events after the webhook was added appear here.</Empty>;
  return (
    <div className="table-scroll">
      <table className="table table-stack" data-testid={`deliveries-${hook.id}`}>
        <thead>
          <tr>
            <th scope="col">delivery</th>
            <th scope="col">event</th>
            <th scope="col">status</th>
            <th scope="col">attempts</th>
            <th scope="col">response</th>
            <th scope="col">next retry</th>
            <th scope="col">last error</th>
            <th scope="col">
              <span className="visually-hidden">actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {deliveries.map((delivery) => (
            <tr key={delivery.id} data-testid={`delivery-${delivery.id}`}>
              <th scope="row">
                #{delivery.id} <When at={delivery.createdAt} />
              </th>
              <td>
                <code>{delivery.event}</code>
              </td>
              <td>
                <DeliveryStatus status={delivery.status} />
              </td>
              <td>
                <AttemptLog attempts={delivery.attemptLog ?? []} />
              </td>
              <td data-testid="delivery-code">
                {code(delivery.responseCode)} · {took(delivery.durationMs)}
              </td>
              <td>{delivery.nextAttemptAt === null ? '—' : <When at={delivery.nextAttemptAt} />}</td>
              <td className="muted">{delivery.error ?? ''}</td>
              <td>
                <Redeliver hook={hook.id} delivery={delivery} onDone={list.reload} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
};

/** The project's webhooks, each with its latest deliveries and their attempts; admins only. */
export const WebhooksPage = () => {
  const { me } = useSession();
  const admin = me.role === 'admin';
  const list = useApiGet<{ webhooks: Webhook[] }>(admin ? '/webhooks' : null);
  const [revision, setRevision] = useState(0);
  const hooks = list.data?.webhooks ?? [];
  return (
    <section aria-labelledby="webhooks-title">
      <div className="page-head page-head-row">
        <h1 id="webhooks-title" className="page-title" tabIndex={-1}>
          Webhooks
        </h1>
        {admin && (
          <button
            type="button"
            className="button button-small"
            onClick={() => {
              list.reload();
              setRevision((value) => value + 1);
            }}
          >
            Refresh
          </button>
        )}
      </div>
      <p className="muted">
        Signed deliveries of events to a URL, retried with backoff for about an hour and a half. Add one with{' '}
        <code>promptops webhook add URL --events label.*,incident.*</code>; its secret is shown once.
      </p>
      {!admin && <Empty>Webhooks are managed by the project&apos;s admins.</Empty>}
      {list.error !== undefined && <ErrorNote error={list.error} retry={list.reload} />}
      {list.loading && <Loading what="webhooks" />}
      {list.data !== undefined && hooks.length === 0 && <Empty>No webhooks.</Empty>}
      {hooks.map((hook) => (
        <section
          key={hook.id}
          className="card"
          aria-labelledby={`webhook-${hook.id}`}
          data-testid={`webhook-${hook.id}`}
        >
          <h2 id={`webhook-${hook.id}`} className="section-title">
            #{hook.id} <code>{hook.url}</code>
          </h2>
          <p className="muted">
            {hook.events.join(', ')} · {hook.format} · added <When at={hook.createdAt} /> by {hook.createdBy}
            {hook.active ? '' : ' · inactive'}
          </p>
          <Deliveries hook={hook} revision={revision} />
        </section>
      ))}
    </section>
  );
};
