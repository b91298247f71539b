import { lazy, Suspense, useCallback, useRef, useState } from 'react';
import { promptPath, withQuery } from '../api/client';
import type { DeploymentRecord, PromptDetail, RollbackOptions, RollbackResult } from '../api/types';
import { millis } from '../app/format';
import { Link, useLocation } from '../app/router';
import { useSession } from '../app/session';
import { useNotify } from '../app/toasts';
import { useApiGet } from '../app/use-api';
import { Sha, When } from '../components/badges';
import { RollbackDialog, type RollbackTarget } from '../components/rollback-dialog';
import { ErrorNote, Loading } from '../components/states';
import { useLabelEvents, useLabelRulesEvents } from '../live/live-feed';
import { CompareTab } from './prompt/compare-tab';
import { DeploymentsTab } from './prompt/deployments-tab';
import { DriftTab } from './prompt/drift-tab';
import { EvalsTab } from './prompt/evals-tab';
import { HistoryTab } from './prompt/history-tab';
import { LabelCards } from './prompt/label-cards';
import { RolloutsTab } from './prompt/rollouts-tab';
import { TenantsTab } from './prompt/tenants-tab';

// The charts (uPlot) load with the metrics tab only, so the history page stays small and fast.
const MetricsTab = lazy(() => import('./prompt/metrics-tab').then((module) => ({ default: module.MetricsTab })));

const TABS = [
  { id: 'history', text: 'History' },
  { id: 'compare', text: 'Compare' },
  { id: 'deployments', text: 'Deployments' },
  { id: 'metrics', text: 'Metrics' },
  { id: 'evals', text: 'Evals' },
  { id: 'drift', text: 'Drift' },
  { id: 'rollouts', text: 'Rollouts' },
  { id: 'tenants', text: 'Tenants' },
] as const;
type TabId = (typeof TABS)[number]['id'];
const isTab = (value: string | null): value is TabId => TABS.some((tab) => tab.id === value);

/**
 * One prompt: what each label serves, then its history, diffs, deployments and metrics. The header, the
 * deployments and each tab load independently; a label move (live, or a rollback here) refreshes them.
 */
export const PromptPage = ({ name }: { name: string }) => {
  const { search } = useLocation();
  const { canDeploy } = useSession();
  const notify = useNotify();
  const tab: TabId = isTab(search.get('tab')) ? (search.get('tab') as TabId) : 'history';
  const [revision, setRevision] = useState(0);
  const [rollback, setRollback] = useState<RollbackTarget | undefined>(undefined);
  const prompt = useApiGet<PromptDetail>(promptPath(name), undefined, revision);
  const deployments = useApiGet<{ deployments: DeploymentRecord[]; rollback: RollbackOptions[] }>(
    promptPath(name, '/deployments'),
    undefined,
    revision,
  );
  const refresh = useCallback(() => setRevision((value) => value + 1), []);
  // Rules set or cleared (here or elsewhere) reload the labels' rules alone.
  const [rulesRevision, setRulesRevision] = useState(0);
  useLabelRulesEvents(() => setRulesRevision((value) => value + 1), name);

  // The moves made from this page are announced when they succeed; the feed's echo of them is not.
  const ownMoves = useRef(new Set<string>());

  useLabelEvents((event) => {
    refresh();
    if (ownMoves.current.delete(`${event.label}\u0000${event.sha}`)) return;
    notify(
      event.label === 'latest'
        ? `New version v${event.version} of ${name}`
        : `${event.label} now serves v${event.version} (${event.kind})`,
    );
  }, name);

  const rolledBack = (result: RollbackResult) => {
    ownMoves.current.add(`${result.label.label}\u0000${result.label.sha}`);
    setRollback(undefined);
    refresh();
    notify(`Rolled back ${result.label.label} to v${result.label.version} in ${millis(result.elapsedMs)}`, 'success');
  };

  const tabHref = (id: TabId, extra: Record<string, string> = {}) =>
    withQuery(`/prompts/${encodeURIComponent(name)}`, { tab: id === 'history' ? undefined : id, ...extra });

  if (prompt.error !== undefined) return <ErrorNote error={prompt.error} retry={prompt.reload} />;
  return (
    <article className="prompt-page">
      <header className="page-head">
        <p className="breadcrumb small">
          <Link to="/prompts">Prompts</Link> /
        </p>
        <h1 className="page-title" tabIndex={-1}>
          {name}
        </h1>
        {prompt.data === undefined ? (
          <Loading what="the prompt" />
        ) : (
          <p className="muted">
            head <strong>v{prompt.data.version}</strong> <Sha sha={prompt.data.sha} /> · updated{' '}
            <When at={prompt.data.updatedAt} />
          </p>
        )}
      </header>
      {prompt.data !== undefined && (
        <LabelCards
          name={name}
          labels={prompt.data.labels}
          rollback={deployments.data?.rollback}
          canDeploy={canDeploy}
          onRollback={setRollback}
          historyHref={(label) => tabHref('deployments', { label })}
          rulesRevision={rulesRevision}
        />
      )}
      <nav className="tabs" aria-label={`${name} views`}>
        {TABS.map((item) => (
          <Link key={item.id} to={tabHref(item.id)} className="tab" aria-current={item.id === tab ? 'page' : undefined}>
            {item.text}
          </Link>
        ))}
      </nav>
      <div className="tab-panel">
        {tab === 'history' && <HistoryTab name={name} revision={revision} />}
        {tab === 'compare' && <CompareTab name={name} from={search.get('from')} to={search.get('to')} />}
        {tab === 'deployments' && (
          <DeploymentsTab
            name={name}
            label={search.get('label') ?? 'all'}
            labels={prompt.data?.labels ?? []}
            deployments={deployments}
            canDeploy={canDeploy}
            onRollback={setRollback}
          />
        )}
        {tab === 'rollouts' && <RolloutsTab name={name} revision={revision} />}
        {tab === 'tenants' && <TenantsTab name={name} tenant={search.get('tenant')} revision={revision} />}
        {tab === 'evals' && <EvalsTab name={name} run={search.get('run')} revision={revision} />}
        {tab === 'drift' && (
          <DriftTab
            name={name}
            report={search.get('report')}
            before={search.get('before')}
            head={prompt.data?.version}
            revision={revision}
          />
        )}
        {tab === 'metrics' && (
          <Suspense fallback={<Loading what="charts" />}>
            <MetricsTab name={name} window={search.get('window') ?? '7d'} revision={revision} />
          </Suspense>
        )}
      </div>
      {rollback !== undefined && (
        <RollbackDialog target={rollback} onClose={() => setRollback(undefined)} onDone={rolledBack} />
      )}
    </article>
  );
};
