import { lazy, Suspense, useEffect, useRef, type ReactNode } from 'react';
import { Loading } from '../components/states';
import { LiveFeedProvider, useLiveStatus } from '../live/live-feed';
import { PromptPage } from '../pages/prompt-page';
import { PromptsPage } from '../pages/prompts-page';
import { SignInPage } from '../pages/sign-in-page';
import { identityName } from './identity';
import { Link, matchPath, navigate, useLocation } from './router';
import { SessionGate, useSession } from './session';
import { ToastProvider } from './toasts';

// The prompt pages are the hot path (in the main bundle); the others load when first opened.
const TracesPage = lazy(() => import('../pages/traces-page').then((module) => ({ default: module.TracesPage })));
const TracePage = lazy(() => import('../pages/trace-page').then((module) => ({ default: module.TracePage })));
const ReviewsPage = lazy(() => import('../pages/reviews-page').then((module) => ({ default: module.ReviewsPage })));
const ReviewPage = lazy(() => import('../pages/review-page').then((module) => ({ default: module.ReviewPage })));
const RolloutsPage = lazy(() => import('../pages/rollouts-page').then((module) => ({ default: module.RolloutsPage })));
const RolloutPage = lazy(() => import('../pages/rollout-page').then((module) => ({ default: module.RolloutPage })));
const IncidentsPage = lazy(() =>
  import('../pages/incidents-page').then((module) => ({ default: module.IncidentsPage })),
);
const IncidentPage = lazy(() => import('../pages/incident-page').then((module) => ({ default: module.IncidentPage })));
const WebhooksPage = lazy(() => import('../pages/webhooks-page').then((module) => ({ default: module.WebhooksPage })));
const AuditPage = lazy(() => import('../pages/audit-page').then((module) => ({ default: module.AuditPage })));

export const App = () => (
  <ToastProvider>
    <SessionGate signInPage={(props) => <SignInPage {...props} />}>
      <LiveFeedProvider>
        <Shell />
      </LiveFeedProvider>
    </SessionGate>
  </ToastProvider>
);

const NAV = [
  { to: '/prompts', text: 'Prompts' },
  { to: '/reviews', text: 'Reviews' },
  { to: '/rollouts', text: 'Rollouts' },
  { to: '/incidents', text: 'Incidents' },
  { to: '/traces', text: 'Traces' },
  { to: '/webhooks', text: 'Webhooks' },
  { to: '/audit', text: 'Audit log' },
] as const;

const Shell = () => {
  const { path } = useLocation();
  const main = useRef<HTMLElement>(null);
  // After a navigation, move focus to the new page's heading (screen readers announce it) and scroll up.
  const firstRender = useRef(true);
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    window.scrollTo(0, 0);
    main.current?.querySelector<HTMLElement>('h1')?.focus({ preventScroll: true });
  }, [path]);
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/prompts" className="brand">
          promptops
        </Link>
        <nav aria-label="Main" className="topnav">
          {NAV.map((item) => (
            <Link key={item.to} to={item.to} aria-current={path.startsWith(item.to) ? 'page' : undefined}>
              {item.text}
            </Link>
          ))}
        </nav>
        <Identity />
      </header>
      <main id="main" ref={main} className="main">
        <Suspense fallback={<Loading what="the page" />}>
          <Route path={path} />
        </Suspense>
      </main>
    </>
  );
};

const Identity = () => {
  const { me, signOut } = useSession();
  const live = useLiveStatus();
  const name = identityName(me);
  return (
    <div className="identity">
      <span
        className={`live live-${live}`}
        title={live === 'live' ? 'Live: changes appear as they happen' : 'Reconnecting to the change feed'}
      >
        <span className="live-dot" aria-hidden="true" />
        {live === 'live' ? 'live' : live === 'connecting' ? 'connecting' : 'offline'}
      </span>
      <span className="who" data-testid="identity">
        {name !== null && `${name} · `}
        <span className={`chip chip-role chip-role-${me.role}`}>{me.role}</span>
        <span className="hide-narrow muted"> · {me.project.name}</span>
      </span>
      <button type="button" className="button button-small" onClick={signOut}>
        Sign out
      </button>
    </div>
  );
};

const Route = ({ path }: { path: string }): ReactNode => {
  if (path === '/' || path === '') return <Redirect to="/prompts" />;
  if (matchPath('/prompts', path)) return <PromptsPage />;
  const prompt = matchPath('/prompts/:name', path);
  if (prompt) return <PromptPage key={prompt['name']} name={prompt['name']!} />;
  if (matchPath('/traces', path)) return <TracesPage />;
  const trace = matchPath('/traces/:id', path);
  if (trace) return <TracePage key={trace['id']} id={trace['id']!} />;
  if (matchPath('/reviews', path)) return <ReviewsPage />;
  const review = matchPath('/reviews/:id', path);
  if (review) return <ReviewPage key={review['id']} id={review['id']!} />;
  if (matchPath('/rollouts', path)) return <RolloutsPage />;
  const rollout = matchPath('/rollouts/:id', path);
  if (rollout) return <RolloutPage key={rollout['id']} id={rollout['id']!} />;
  if (matchPath('/incidents', path)) return <IncidentsPage />;
  const incident = matchPath('/incidents/:id', path);
  if (incident) return <IncidentPage key={incident['id']} id={incident['id']!} />;
  if (matchPath('/webhooks', path)) return <WebhooksPage />;
  if (matchPath('/audit', path)) return <AuditPage />;
  return (
    <section>
      <h1 className="page-title" tabIndex={-1}>
        Not found
      </h1>
      <p>
        Nothing lives at <code>{path}</code>. <Link to="/prompts">Back to the prompts</Link>.
      </p>
    </section>
  );
};

const Redirect = ({ to }: { to: string }) => {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
};
