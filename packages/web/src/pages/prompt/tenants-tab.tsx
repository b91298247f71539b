import { useState } from 'react';
import { promptPath, withQuery } from '../../api/client';
import type { EffectiveSummary, MetricsResult, MetricsSeries, OverrideRecord, PromptDiff } from '../../api/types';
import { millis, percent } from '../../app/format';
import { Link } from '../../app/router';
import { useApiGet } from '../../app/use-api';
import { Sha, When } from '../../components/badges';
import { DiffView } from '../../components/diff-view';
import { Empty, ErrorNote, Loading } from '../../components/states';
import { useOverrideEvents } from '../../live/live-feed';

type Effective = EffectiveSummary;

type TenantOverride = Omit<OverrideRecord, 'name' | 'override'>;

interface TenantDetail {
  readonly override: TenantOverride;
  readonly effective: Effective;
  readonly diff: PromptDiff;
}

const METRICS_WINDOW = { by: 'tenant', since: '7d', bucket: '1d' } as const;

const thumbsDown = (series: MetricsSeries | undefined): string => {
  const thumbs = series?.totals.thumbs;
  if (thumbs === undefined || thumbs.up + thumbs.down === 0) return '—';
  return percent(thumbs.down / (thumbs.up + thumbs.down));
};

/**
 * A prompt's tenants with an override: what each is served (its effective sha, on which base), the
 * override's version, author and message, its last 7 days of calls, and the selected tenant's effective
 * prompt diffed against the shared base (`?tenant=ID`, the first by default).
 */
export const TenantsTab = ({ name, tenant, revision }: { name: string; tenant: string | null; revision: number }) => {
  // An override set or rolled back elsewhere reloads the tenants (label moves come through `revision`).
  const [changes, setChanges] = useState(0);
  useOverrideEvents(() => setChanges((value) => value + 1), name);
  const reloadOn = `${revision}:${changes}`;
  const list = useApiGet<{ tenants: (TenantOverride & { effective: Effective })[] }>(
    promptPath(name, '/tenants/effective'),
    undefined,
    reloadOn,
  );
  const metrics = useApiGet<MetricsResult>(promptPath(name, '/metrics'), METRICS_WINDOW, revision);
  const selected = tenant ?? list.data?.tenants[0]?.tenant ?? null;
  const detail = useApiGet<TenantDetail>(
    selected === null ? null : promptPath(name, `/tenants/${encodeURIComponent(selected)}/effective`),
    undefined,
    reloadOn,
  );
  const seriesOf = (id: string) => metrics.data?.series.find((series) => series.key === id);
  const tenantHref = (id: string) => withQuery(`/prompts/${encodeURIComponent(name)}`, { tab: 'tenants', tenant: id });

  if (list.error !== undefined) return <ErrorNote error={list.error} retry={list.reload} />;
  if (list.data === undefined) return <Loading what="tenants" />;
  if (list.data.tenants.length === 0) {
    return (
      <Empty>
        No tenant overrides {name} yet:{' '}
        <code>promptops override set {name} --tenant ID --var NAME=VALUE -m MESSAGE</code>
      </Empty>
    );
  }
  return (
    <section aria-labelledby="tenants-title">
      <h2 id="tenants-title" className="section-title">
        Tenant overrides
      </h2>
      <p className="muted small">
        Each tenant's wording is layered on the shared prompt: a fix to the shared part reaches every tenant. Calls over
        the last 7 days.
      </p>
      {metrics.error !== undefined && <ErrorNote error={metrics.error} retry={metrics.reload} />}
      <div className="table-scroll">
        <table className="table table-stack" data-testid="tenants">
          <thead>
            <tr>
              <th scope="col">tenant</th>
              <th scope="col">served</th>
              <th scope="col">override</th>
              <th scope="col">calls</th>
              <th scope="col">errors</th>
              <th scope="col">p95</th>
              <th scope="col">thumbs down</th>
            </tr>
          </thead>
          <tbody>
            {list.data.tenants.map((item) => {
              const series = seriesOf(item.tenant);
              return (
                <tr
                  key={item.tenant}
                  data-testid={`tenant-${item.tenant}`}
                  aria-current={item.tenant === selected ? 'true' : undefined}
                >
                  <td>
                    <Link to={tenantHref(item.tenant)} aria-label={`tenant ${item.tenant}`}>
                      {item.tenant}
                    </Link>
                  </td>
                  <td>
                    <Sha sha={item.effective.sha} /> on {item.effective.label} v{item.effective.baseVersion}
                    {item.baseSha !== null && ' (pinned)'}
                    {!item.effective.applies && (
                      <span className="chip chip-bad" title={item.effective.reason}>
                        override does not apply
                      </span>
                    )}
                  </td>
                  <td>
                    v{item.version} “{item.message}” by {item.author} <When at={item.createdAt} />
                  </td>
                  <td>{series === undefined ? '0' : series.totals.count}</td>
                  <td>{series === undefined ? '—' : percent(series.totals.errorRate)}</td>
                  <td>{millis(series?.totals.latencyMs.p95)}</td>
                  <td>{thumbsDown(series)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {detail.error !== undefined && <ErrorNote error={detail.error} retry={detail.reload} />}
      {selected !== null && detail.error === undefined && detail.data === undefined && (
        <Loading what={`${selected}'s prompt`} />
      )}
      {detail.data !== undefined && (
        <section aria-labelledby="tenant-diff-title" data-testid="tenant-detail">
          <h3 id="tenant-diff-title" className="section-title">
            {detail.data.override.tenant}: <Sha sha={detail.data.effective.sha} /> against the shared v
            {detail.data.effective.baseVersion} <Sha sha={detail.data.effective.baseSha} />
          </h3>
          <p className="muted small">
            override v{detail.data.override.version} <Sha sha={detail.data.override.sha} /> by{' '}
            {detail.data.override.author}: {detail.data.override.message}
          </p>
          {!detail.data.effective.applies && (
            <p className="muted">
              The override no longer fits its base, so {detail.data.override.tenant} is served the shared prompt:{' '}
              {detail.data.effective.reason}
            </p>
          )}
          <DiffView
            diff={detail.data.diff}
            fromLabel={`shared v${detail.data.effective.baseVersion}`}
            toLabel={detail.data.override.tenant}
          />
        </section>
      )}
    </section>
  );
};
